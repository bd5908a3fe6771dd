"""Hand-built event sets for the audit's monitoring views, and a ledger fed without a broker.

Events are built with the producers' own payload classes (so they match the published
contracts exactly) and wrapped by shared.events.new_event. :class:`LedgerHarness` runs the
audit's real ledger handler on a real database, and plays the relay's part for the audit's
own findings: whatever it publishes is fed back into the ledger, as the broker would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.audit.handlers import AnyEvent, record_event
from services.audit.models import platform
from services.audit.monitoring.commands import evaluate
from services.audit.monitoring.domain.standards import AuditPolicy
from services.audit.monitoring.findings import FindingBook
from services.employment import events as em
from services.households import events as hh
from services.housing import events as ho
from services.insurance import events as ins
from shared.consumer import HandlerContext
from shared.db import create_engine, session_factory
from shared.events import CloudEvent, EventPayload, new_event
from shared.migrations import upgrade_to_head
from shared.outbox import append_events, row_to_event


def new_id() -> str:
    return str(uuid.uuid4())


def test_commune() -> str:
    """A commune code no other test uses (the broker's topics are shared by the session)."""
    return "T" + uuid.uuid4().hex[:7]


def event(payload: EventPayload, subject: str) -> CloudEvent:
    return new_event(payload, subject=subject)


# --- households ------------------------------------------------------------------------------


def registered(
    commune: str,
    household_id: str,
    *,
    poverty_class: str = "poor",
    registered_on: date = date(2019, 1, 15),
    area: str = "rural",
) -> CloudEvent:
    return event(
        hh.HouseholdRegistered(
            household_id=household_id,
            commune_code=commune,
            village="Ấp Hòa Thuận",
            area=area,
            registered_on=registered_on,
            poverty_class=poverty_class,
            independent_since_year=2005,
        ),
        household_id,
    )


def person(
    commune: str,
    household_id: str,
    person_id: str,
    *,
    sex: str = "female",
    ethnicity: str = "Khmer",
    born: date = date(1983, 5, 17),
) -> CloudEvent:
    return event(
        hh.PersonAdded(
            person_id=person_id,
            household_id=household_id,
            commune_code=commune,
            citizen_pseudonym=None,
            sex=sex,
            date_of_birth=born,
            ethnicity=ethnicity,
            ethnic_minority=ethnicity != "Kinh",
            relation_to_head="head",
        ),
        household_id,
    )


def assessed(
    commune: str,
    household_id: str,
    *,
    income: int,
    recorded: str,
    computed: str,
    deprived: tuple[str, ...] = (),
    on: date = date(2019, 10, 1),
    standard: str = "QD-59-2015",
    area: str = "rural",
    assessment_id: str | None = None,
) -> CloudEvent:
    return event(
        hh.HouseholdAssessed(
            assessment_id=assessment_id or new_id(),
            household_id=household_id,
            commune_code=commune,
            assessed_on=on,
            standard_code=standard,
            area=area,
            income_per_person_month=income,
            indicators_assessed=[],
            deprived_indicators=list(deprived),
            computed_class=computed,
            recorded_class=recorded,
            override_reason=None if recorded == computed else "test",
            reasons=[],
        ),
        household_id,
    )


def reclassified(
    commune: str, household_id: str, *, from_class: str, to_class: str, on: date
) -> CloudEvent:
    return event(
        hh.HouseholdReclassified(
            household_id=household_id,
            commune_code=commune,
            from_class=from_class,
            to_class=to_class,
            standard_code="QD-59-2015",
            reasons=[],
            effective_date=on,
            basis="periodic_review",
        ),
        household_id,
    )


def meeting(
    commune: str,
    review_id: str,
    *,
    held_on: date,
    attendees: int,
    agreeing: int,
    quorum_met: bool = True,
    meeting_id: str | None = None,
) -> CloudEvent:
    return event(
        hh.ReviewMeetingHeld(
            review_id=review_id,
            meeting_id=meeting_id or new_id(),
            commune_code=commune,
            village="Ấp Hòa Thuận",
            held_on=held_on,
            invited_households=40,
            attendees=attendees,
            agreeing=agreeing,
            quorum_met=quorum_met,
            agreement_share=agreeing / attendees if attendees else 0.0,
            approved=quorum_met and 2 * agreeing >= attendees,
            chaired_by_village_head=True,
            supervised_by_fatherland_front=True,
        ),
        review_id,
    )


def posted(
    commune: str, review_id: str, *, posted_on: date, ends_on: date, days: int = 3
) -> CloudEvent:
    return event(
        hh.ReviewListPosted(
            review_id=review_id,
            commune_code=commune,
            village="Ấp Hòa Thuận",
            posted_on=posted_on,
            posting_ends_on=ends_on,
            required_working_days=days,
            households_listed=12,
        ),
        review_id,
    )


def recognised(
    commune: str,
    review_id: str,
    *,
    on: date,
    meeting_id: str | None = None,
    posted_on: date | None = None,
    ends_on: date | None = None,
    reviewed: int = 12,
) -> CloudEvent:
    return event(
        hh.ReviewRecognised(
            review_id=review_id,
            commune_code=commune,
            village="Ấp Hòa Thuận",
            year=on.year,
            recognised_on=on,
            meeting_id=meeting_id,
            posted_on=posted_on,
            posting_ends_on=ends_on,
            households_reviewed=reviewed,
            poor=3,
            near_poor=2,
            escaped=1,
        ),
        review_id,
    )


def complaint_filed(
    commune: str, household_id: str, complaint_id: str, *, filed_on: date
) -> CloudEvent:
    return event(
        hh.ComplaintFiled(
            complaint_id=complaint_id,
            household_id=household_id,
            commune_code=commune,
            review_id=None,
            filed_on=filed_on,
            due_on=filed_on,
        ),
        household_id,
    )


def complaint_resolved(
    commune: str,
    household_id: str,
    complaint_id: str,
    *,
    filed_on: date,
    resolved_on: date,
    class_changed: bool = False,
) -> CloudEvent:
    return event(
        hh.ComplaintResolved(
            complaint_id=complaint_id,
            household_id=household_id,
            commune_code=commune,
            review_id=None,
            filed_on=filed_on,
            resolved_on=resolved_on,
            outcome="upheld" if class_changed else "rejected",
            class_changed=class_changed,
        ),
        household_id,
    )


def escape(commune: str, household_id: str, *, on: date) -> CloudEvent:
    return event(
        hh.EscapeRegistered(
            household_id=household_id, commune_code=commune, registered_on=on, from_class="poor"
        ),
        household_id,
    )


# --- insurance -------------------------------------------------------------------------------


def entitled(
    commune: str,
    person_id: str,
    entitlement_id: str,
    *,
    starts_on: date,
    household_id: str | None = None,
    group: str = "poor_household",
) -> CloudEvent:
    return event(
        ins.EntitlementGranted(
            entitlement_id=entitlement_id,
            person_id=person_id,
            household_id=household_id,
            commune_code=commune,
            citizen_pseudonym=None,
            group=group,
            subsidy_percent=100,
            policy_code="ND-146-2018",
            starts_on=starts_on,
            ends_on=None,
            source="household_event",
            reason="member of a poor household",
            caused_by_event_id=None,
        ),
        person_id,
    )


def entitlement_ended(
    commune: str, person_id: str, entitlement_id: str, *, ends_on: date
) -> CloudEvent:
    return event(
        ins.EntitlementEnded(
            entitlement_id=entitlement_id,
            person_id=person_id,
            household_id=None,
            commune_code=commune,
            group="poor_household",
            ends_on=ends_on,
            reason="household left poverty",
            caused_by_event_id=None,
        ),
        person_id,
    )


def card(
    commune: str,
    person_id: str,
    card_id: str,
    *,
    issued_on: date,
    valid_to: date = date(2020, 12, 31),
    source: str = "local",
    entitlement_id: str | None = None,
    duplicate_of: str | None = None,
) -> CloudEvent:
    return event(
        ins.CardIssued(
            card_id=card_id,
            person_id=person_id,
            commune_code=commune,
            citizen_pseudonym=None,
            object_code="HN",
            benefit_level=1,
            valid_from=issued_on,
            valid_to=valid_to,
            issued_on=issued_on,
            source=source,
            entitlement_id=entitlement_id,
            entitled_since=None,
            duplicate_of_card_id=duplicate_of,
        ),
        person_id,
    )


def card_revoked(commune: str, person_id: str, card_id: str, *, on: date) -> CloudEvent:
    return event(
        ins.CardRevoked(
            card_id=card_id,
            person_id=person_id,
            commune_code=commune,
            revoked_on=on,
            reason="duplicate",
            entitlement_id=None,
            caused_by_event_id=None,
        ),
        person_id,
    )


# --- housing ---------------------------------------------------------------------------------


def housing_applied(
    commune: str, household_id: str, application_id: str, *, on: date
) -> CloudEvent:
    return event(
        ho.HousingApplied(
            application_id=application_id,
            household_id=household_id,
            commune_code=commune,
            applied_on=on,
            programme_code="QD-33-2015",
            house_condition="dilapidated",
            priority_group=2,
            amount_requested=25_000_000,
            eligible=True,
        ),
        application_id,
    )


def housing_approved(
    commune: str, household_id: str, application_id: str, *, applied_on: date, on: date
) -> CloudEvent:
    return event(
        ho.HousingApproved(
            application_id=application_id,
            household_id=household_id,
            commune_code=commune,
            list_id=new_id(),
            loan_id=new_id(),
            year=on.year,
            rank=1,
            priority_group=2,
            programme_code="QD-33-2015",
            applied_on=applied_on,
            posted_on=on,
            posting_ends_on=on,
            approved_on=on,
            principal=25_000_000,
        ),
        application_id,
    )


def loan_disbursed(
    commune: str, household_id: str, application_id: str, *, approved_on: date, on: date
) -> CloudEvent:
    return event(
        ho.LoanDisbursed(
            loan_id=new_id(),
            application_id=application_id,
            household_id=household_id,
            commune_code=commune,
            programme_code="QD-33-2015",
            principal=25_000_000,
            annual_rate_bp=300,
            overdue_rate_bp=390,
            term_years=15,
            grace_years=5,
            approved_on=approved_on,
            disbursed_on=on,
            first_due_on=date(on.year + 6, 1, 1),
            maturity_on=date(on.year + 15, 1, 1),
            total_scheduled_interest=0,
        ),
        application_id,
    )


# --- employment ------------------------------------------------------------------------------


def target(
    unit_code: str,
    year: int,
    *,
    placements: int | None = None,
    trainees: int | None = None,
    rural_trainees: int | None = None,
    unit_level: str = "commune",
) -> CloudEvent:
    return event(
        em.TargetSet(
            target_id=new_id(),
            year=year,
            unit_code=unit_code,
            unit_level=unit_level,
            placements=placements,
            trainees=trainees,
            rural_trainees=rural_trainees,
        ),
        unit_code,
    )


def placed(
    commune: str, worker_id: str, *, on: date, period: str, repeat: bool = False
) -> CloudEvent:
    return event(
        em.WorkerPlaced(
            placement_id=new_id(),
            worker_id=worker_id,
            person_id=new_id(),
            household_id=new_id(),
            commune_code=commune,
            kind="domestic_employer",
            placed_on=on,
            household_class="poor",
            period=period,
            repeat_in_period=repeat,
        ),
        worker_id,
    )


def enrolled(
    commune: str,
    worker_id: str,
    enrolment_id: str,
    *,
    on: date,
    rural: bool = True,
    person_id: str | None = None,
) -> CloudEvent:
    return event(
        em.TrainingEnrolled(
            enrolment_id=enrolment_id,
            course_id=new_id(),
            worker_id=worker_id,
            person_id=person_id or new_id(),
            commune_code=commune,
            worker_commune_code=commune,
            trade="may công nghiệp",
            course_level="elementary",
            course_starts_on=on,
            course_ends_on=date(on.year, 12, 31),
            cost_per_trainee=2_000_000,
            enrolled_on=on,
            household_class="poor",
            rural_worker=rural,
        ),
        worker_id,
    )


def dropped(commune: str, worker_id: str, enrolment_id: str, *, on: date) -> CloudEvent:
    return event(
        em.TrainingDropped(
            enrolment_id=enrolment_id,
            course_id=new_id(),
            worker_id=worker_id,
            commune_code=commune,
            dropped_on=on,
            reason="family",
        ),
        worker_id,
    )


def application_received(
    commune: str, household_id: str, application_id: str, *, kind: str, on: date
) -> CloudEvent:
    return event(
        hh.ApplicationReceived(
            application_id=application_id,
            household_id=household_id,
            commune_code=commune,
            kind=kind,
            received_on=on,
            due_on=on,
        ),
        household_id,
    )


def application_decided(
    commune: str, household_id: str, application_id: str, *, received_on: date, on: date
) -> CloudEvent:
    return event(
        hh.ApplicationDecided(
            application_id=application_id,
            household_id=household_id,
            commune_code=commune,
            received_on=received_on,
            decided_on=on,
            due_on=on,
            outcome="approved",
            on_time=True,
        ),
        household_id,
    )


# --- a ledger fed directly (no broker) -------------------------------------------------------


class LedgerHarness:
    """The audit's ledger handler on a real database, with the relay's echo of findings."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.findings: list[CloudEvent] = []

    @classmethod
    async def open(cls, database_url: str) -> LedgerHarness:
        await upgrade_to_head("audit", database_url)
        return cls(create_engine(database_url))

    async def close(self) -> None:
        await self.engine.dispose()

    async def feed(self, *events: CloudEvent) -> None:
        """Each event as the ledger consumer handles it, then the findings it published."""
        for cloud_event in events:
            async with self.sessions() as session, session.begin():
                ctx = HandlerContext(session=session, event=cloud_event, tables=platform)
                await record_event(ctx, AnyEvent.model_validate(cloud_event.data))
                await append_events(session, platform, ctx._pending)
        await self.relay()

    async def relay(self) -> None:
        """Publish the outbox (collected in ``findings``) and feed it back into the ledger."""
        outbox = platform.outbox
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.seq)
                )
            ).all()
            await session.execute(
                update(outbox).where(outbox.c.sent_at.is_(None)).values(sent_at=datetime.now(UTC))
            )
        echoed = [row_to_event(row) for row in rows]
        self.findings.extend(echoed)
        if echoed:
            await self.feed(*echoed)

    async def evaluate(self, as_of: date, policy: AuditPolicy | None = None) -> FindingBook:
        book = await evaluate(self.sessions, as_of=as_of, policy=policy or AuditPolicy())
        await self.relay()
        return book

    def published(self, name: str) -> list[dict[str, Any]]:
        """Data of the finding events published so far (``finding_raised`` / ``_cleared``)."""
        return [e.data for e in self.findings if e.type == f"vn.ansinh.audit.{name}.v1"]
