"""The fairness view: exclusion, excess, duplicates, misclassification and the distribution
of benefits against the eligible population, from the read models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import Holder, card_span, cover
from services.audit.monitoring.domain.cover import excess_on, excluded_on
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.models import (
    ViewAssessment,
    ViewEnrolment,
    ViewHousing,
    ViewPerson,
    ViewPlacement,
)
from services.audit.monitoring.queries.read_models import (
    ClassBook,
    Scope,
    active_cards,
    entitled_on,
    in_year,
    load,
    load_class_book,
    load_holders,
    ratio,
    scope_of,
)
from services.audit.monitoring.schemas import (
    DistributionRow,
    Fairness,
    FairnessRow,
)


def fairness_row(
    commune: str | None,
    holders: Iterable[Holder],
    assessments: Iterable[ViewAssessment],
    as_of: date,
    policy: AuditPolicy,
) -> FairnessRow:
    mine = [h for h in holders if commune in (None, h.commune_code)]
    entitled = [h for h in mine if entitled_on(h, as_of)]
    excluded = [
        h
        for h in entitled
        if excluded_on(
            [cover(e) for e in h.entitlements], [card_span(c) for c in h.cards], as_of, policy
        )
    ]
    active = [(h, c) for h in mine for c in active_cards(h, as_of)]
    excess = [
        c
        for h, c in active
        if excess_on([cover(e) for e in h.entitlements], card_span(c), as_of, policy)
    ]
    per_person = Counter(id(h) for h, _ in active)
    checked = [
        a for a in assessments if commune in (None, a.commune_code) and a.expected_class is not None
    ]
    return FairnessRow(
        commune_code=commune,
        exclusion=ratio(len(excluded), len(entitled)),
        excess=ratio(len(excess), len(active)),
        duplicates=ratio(sum(1 for n in per_person.values() if n > 1), len(per_person)),
        misclassification=ratio(sum(a.misclassified for a in checked), len(checked)),
    )


async def _beneficiaries(
    session: AsyncSession,
    scope: Scope,
    holders: dict[str, Holder],
    persons: list[ViewPerson],
    year: int,
    as_of: date,
) -> dict[str, set[str]]:
    """Person ids receiving each benefit: an active card on ``as_of``; in the year, training
    (not dropped out), a placement, or a housing loan to their household."""
    enrolments = await load(session, ViewEnrolment, scope)
    placements = await load(session, ViewPlacement, scope)
    loans = {
        h.household_id
        for h in await load(session, ViewHousing, scope)
        if in_year(h.disbursed_on, year, as_of)
    }
    return {
        "health_insurance_card": {p for p, h in holders.items() if active_cards(h, as_of)},
        "vocational_training": {
            e.person_id
            for e in enrolments
            if e.person_id
            and in_year(e.enrolled_on, year, as_of)
            and (e.dropped_on is None or e.dropped_on > as_of)
        },
        "job_placement": {p.person_id for p in placements if in_year(p.placed_on, year, as_of)},
        "housing_loan": {p.person_id for p in persons if p.household_id in loans},
    }


def distribution(
    persons: list[ViewPerson], book: ClassBook, benefits: dict[str, set[str]], as_of: date
) -> list[DistributionRow]:
    """Each group's share of the eligible (members of poor and near-poor households on
    ``as_of``) against its share of each benefit, by commune, ethnicity and sex."""
    known = {p.person_id: p for p in persons}
    eligible = {
        p.person_id
        for p in persons
        if book.class_on(p.household_id, as_of) in ("poor", "near_poor")
    }
    rows = []
    for dimension in ("commune", "ethnicity", "sex"):
        attribute = "commune_code" if dimension == "commune" else dimension

        def group(person_id: str, attribute: str = attribute) -> str:
            person = known.get(person_id)
            return str(getattr(person, attribute)) if person is not None else "unknown"

        receiving = {p for s in benefits.values() for p in s}
        groups = sorted({group(p) for p in known} | {group(p) for p in receiving})
        for benefit, received in benefits.items():
            for g in groups:
                in_group = {p for p in eligible if group(p) == g}
                rows.append(
                    DistributionRow(
                        dimension=dimension,
                        group=g,
                        benefit=benefit,
                        eligible_share=ratio(len(in_group), len(eligible)),
                        benefit_share=ratio(
                            sum(1 for p in received if group(p) == g), len(received)
                        ),
                        coverage=ratio(len(in_group & received), len(in_group)),
                    )
                )
    return rows


async def build_fairness(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Fairness:
    scope = scope_of(commune_code, communes)
    holders = await load_holders(session, scope)
    assessments = [
        a for a in await load(session, ViewAssessment, scope) if in_year(a.assessed_on, year, as_of)
    ]
    persons = await load(session, ViewPerson, scope)
    book = await load_class_book(session, scope)
    benefits = await _beneficiaries(session, scope, holders, persons, year, as_of)
    seen = sorted(
        {h.commune_code for h in holders.values() if h.commune_code}
        | {a.commune_code for a in assessments}
    )
    return Fairness(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        card_service_standard_days=policy.card_service_standard_days,
        total=fairness_row(None, holders.values(), assessments, as_of, policy),
        communes=[fairness_row(c, holders.values(), assessments, as_of, policy) for c in seen],
        distribution=distribution(persons, book, benefits, as_of),
    )
