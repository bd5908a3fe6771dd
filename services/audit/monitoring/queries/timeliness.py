"""The timeliness and targets views, computed from the read models."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.monitoring.detectors import Holder, card_span, cover
from services.audit.monitoring.domain.cover import waiting_since
from services.audit.monitoring.domain.standards import (
    AuditPolicy,
    application_due,
    backlog_counts,
    complaint_due,
    lag_summary,
)
from services.audit.monitoring.models import (
    ViewApplication,
    ViewComplaint,
    ViewEnrolment,
    ViewHousing,
    ViewPlacement,
    ViewTarget,
)
from services.audit.monitoring.queries.read_models import (
    Scope,
    active_cards,
    card_lags,
    in_year,
    load,
    load_class_book,
    load_holders,
    ratio,
    scope_of,
)
from services.audit.monitoring.schemas import (
    BacklogBucket,
    LagMeasure,
    LagStats,
    RateChange,
    TargetLine,
    Targets,
    TargetsRow,
    Timeliness,
    TimelinessRow,
)

#: (lag in days, on time? — None when no standard applies)
Done = list[tuple[int, bool | None]]
#: (age in days, overdue?)
Open = list[tuple[int, bool]]


def lag_stats(measure: LagMeasure, standard: int | None, done: Done, open_: Open) -> LagStats:
    median, p90 = lag_summary([lag for lag, _ in done])
    judged = [on_time for _, on_time in done if on_time is not None]
    return LagStats(
        measure=measure,
        standard_days=standard,
        completed=len(done),
        median_days=median,
        p90_days=p90,
        on_time=ratio(sum(judged), len(judged)),
        open=len(open_),
        open_overdue=sum(1 for _, overdue in open_ if overdue),
        backlog=[
            BacklogBucket(label=label, min_days=low, max_days=high, count=count)
            for label, low, high, count in backlog_counts(age for age, _ in open_)
        ],
    )


def _opened(start: date | None, end: date | None, as_of: date) -> bool:
    return start is not None and start <= as_of and (end is None or end > as_of)


def _card_lags(holders: list[Holder], year: int, as_of: date, policy: AuditPolicy) -> LagStats:
    standard = policy.card_service_standard_days
    lags = [lag for h in holders for lag in card_lags(h, year, as_of, policy)]
    done: Done = [(lag, lag <= standard) for lag in lags]
    open_: Open = []
    for h in holders:
        since = waiting_since(
            [cover(e) for e in h.entitlements], [card_span(c) for c in h.cards], as_of
        )
        if since is not None and not active_cards(h, as_of):
            open_.append(((as_of - since).days, (as_of - since).days > standard))
    return lag_stats("eligibility_to_card", standard, done, open_)


def _application_lags(
    rows: list[ViewApplication], year: int, as_of: date, policy: AuditPolicy
) -> LagStats:
    done: Done = []
    open_: Open = []
    for a in rows:
        due = application_due(a.kind or "", a.received_on, policy)
        if in_year(a.received_on, year, as_of) and a.decided_on and a.decided_on <= as_of:
            done.append(((a.decided_on - a.received_on).days, a.decided_on <= due))
        elif _opened(a.received_on, a.decided_on, as_of):
            open_.append(((as_of - a.received_on).days, as_of > due))
    return lag_stats("application_to_decision", policy.application_decision_days, done, open_)


def _complaint_lags(
    rows: list[ViewComplaint], year: int, as_of: date, policy: AuditPolicy
) -> LagStats:
    done: Done = []
    open_: Open = []
    for c in rows:
        due = complaint_due(c.filed_on, policy)
        if in_year(c.filed_on, year, as_of) and c.resolved_on and c.resolved_on <= as_of:
            done.append(((c.resolved_on - c.filed_on).days, c.resolved_on <= due))
        elif _opened(c.filed_on, c.resolved_on, as_of):
            open_.append(((as_of - c.filed_on).days, as_of > due))
    return lag_stats("complaint_to_resolution", policy.complaint_resolution_days, done, open_)


def _within(lag: int, standard: int | None) -> bool | None:
    return None if standard is None else lag <= standard


def _housing_lags(
    rows: list[ViewHousing], year: int, as_of: date, policy: AuditPolicy
) -> list[LagStats]:
    decision, disbursement = policy.housing_decision_days, policy.housing_disbursement_days
    decided: Done = []
    undecided: Open = []
    paid: Done = []
    unpaid: Open = []
    for h in rows:
        on = min((d for d in (h.approved_on, h.refused_on) if d is not None), default=None)
        if in_year(h.applied_on, year, as_of) and on is not None and on <= as_of:
            decided.append(((on - h.applied_on).days, _within((on - h.applied_on).days, decision)))
        elif _opened(h.applied_on, on, as_of):
            age = (as_of - h.applied_on).days
            undecided.append((age, decision is not None and age > decision))
        approved = h.approved_on
        if approved is None or approved > as_of:
            continue
        if in_year(approved, year, as_of) and h.disbursed_on and h.disbursed_on <= as_of:
            lag = (h.disbursed_on - approved).days
            paid.append((lag, _within(lag, disbursement)))
        elif _opened(approved, h.disbursed_on, as_of):
            age = (as_of - approved).days
            unpaid.append((age, disbursement is not None and age > disbursement))
    return [
        lag_stats("housing_application_to_decision", decision, decided, undecided),
        lag_stats("housing_approval_to_disbursement", disbursement, paid, unpaid),
    ]


def _timeliness_row(
    commune: str | None, data: dict[str, list[Any]], year: int, as_of: date, policy: AuditPolicy
) -> TimelinessRow:
    def mine(rows: list[Any]) -> list[Any]:
        return rows if commune is None else [r for r in rows if r.commune_code == commune]

    return TimelinessRow(
        commune_code=commune,
        lags=[
            _card_lags(mine(data["holders"]), year, as_of, policy),
            _application_lags(mine(data["applications"]), year, as_of, policy),
            *_housing_lags(mine(data["housing"]), year, as_of, policy),
            _complaint_lags(mine(data["complaints"]), year, as_of, policy),
        ],
    )


async def build_timeliness(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Timeliness:
    scope = scope_of(commune_code, communes)
    data: dict[str, list[Any]] = {
        "holders": list((await load_holders(session, scope)).values()),
        "applications": await load(session, ViewApplication, scope),
        "housing": await load(session, ViewHousing, scope),
        "complaints": await load(session, ViewComplaint, scope),
    }
    seen = sorted({r.commune_code for rows in data.values() for r in rows if r.commune_code})
    return Timeliness(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        total=_timeliness_row(None, data, year, as_of, policy),
        communes=[_timeliness_row(c, data, year, as_of, policy) for c in seen],
    )


# --- targets ---------------------------------------------------------------------------------


def _plans(targets: list[ViewTarget], commune: str | None, scope: Scope) -> dict[str, int | None]:
    """The plan of a commune, or of the whole: the district/province plan when the view
    covers every commune and exactly one is set, else the sum of the communes' plans."""
    measures = ("placements", "trainees", "rural_trainees")
    if commune is not None:
        row = next(
            (t for t in targets if t.unit_level == "commune" and t.unit_code == commune), None
        )
        return {m: getattr(row, m) if row else None for m in measures}
    wider = [t for t in targets if t.unit_level != "commune"]
    if scope is None and len(wider) == 1:
        return {m: getattr(wider[0], m) for m in measures}
    own = [
        t for t in targets if t.unit_level == "commune" and (scope is None or t.unit_code in scope)
    ]
    sums: dict[str, int | None] = {}
    for m in measures:
        values = [getattr(t, m) for t in own if getattr(t, m) is not None]
        sums[m] = sum(values) if values else None
    return sums


def _actuals(
    placements: list[ViewPlacement], enrolments: list[ViewEnrolment], year: int, as_of: date
) -> dict[str, int]:
    """Workers placed (once per period, as the employment plan counts them) and workers in
    training (enrolled in the year, not dropped out by ``as_of``)."""
    placed = {(p.worker_id, p.period) for p in placements if in_year(p.placed_on, year, as_of)}
    training = [
        e
        for e in enrolments
        if in_year(e.enrolled_on, year, as_of) and (e.dropped_on is None or e.dropped_on > as_of)
    ]
    return {
        "placements": len(placed),
        "trainees": len({e.worker_id for e in training}),
        "rural_trainees": len({e.worker_id for e in training if e.rural_worker}),
    }


def _rate_change(measure: Any, start: Any, end: Any, planned: float | None) -> RateChange:
    change = (
        round(end.value - start.value, 6)
        if end.value is not None and start.value is not None
        else None
    )
    return RateChange(
        measure=measure,
        start=start,
        end=end,
        change_pp=change,
        planned_reduction_pp=planned,
        met=None if change is None or planned is None else change <= -planned,
    )


async def build_targets(
    session: AsyncSession,
    year: int,
    commune_code: str | None,
    communes: Scope,
    as_of: date,
    policy: AuditPolicy,
) -> Targets:
    scope = scope_of(commune_code, communes)
    targets = await load(session, ViewTarget, None, ViewTarget.year == year)
    placements = await load(session, ViewPlacement, scope)
    enrolments = await load(session, ViewEnrolment, scope)
    book = await load_class_book(session, scope)
    start, end = date(year - 1, 12, 31), min(as_of, date(year, 12, 31))

    def row(commune: str | None) -> TargetsRow:
        plan = _plans(targets, commune, scope)
        actual = _actuals(
            [p for p in placements if commune in (None, p.commune_code)],
            [e for e in enrolments if commune in (None, e.commune_code)],
            year,
            as_of,
        )
        (poor0, near0), (poor1, near1) = book.rates(commune, start), book.rates(commune, end)
        return TargetsRow(
            commune_code=commune,
            lines=[
                TargetLine(
                    measure=m,
                    plan=plan[m],
                    actual=actual[m],
                    achievement=ratio(actual[m], plan[m] or 0),
                )
                for m in ("placements", "trainees", "rural_trainees")
            ],
            rates=[
                _rate_change("poor_rate", poor0, poor1, policy.poor_rate_reduction_pp),
                _rate_change("near_poor_rate", near0, near1, policy.near_poor_rate_reduction_pp),
            ],
        )

    seen = {p.commune_code for p in placements} | {e.commune_code for e in enrolments}
    seen |= {h.commune_code for h in book.households.values()}
    seen |= {
        t.unit_code
        for t in targets
        if t.unit_level == "commune" and (scope is None or t.unit_code in scope)
    }
    return Targets(
        year=year,
        commune_code=commune_code,
        as_of=as_of,
        total=row(None),
        communes=[row(c) for c in sorted(seen)],
    )
