"""A household's page (members by id, class history, cases, findings, its verifiable
timeline), any subject's timeline, one event, and the logged personal-data lookup.

No name or citizen ID number is on these pages unless the inspector asks for one person's
personal data, giving a purpose: the audit service then reads it from the households API
under its own service identity, the households service records that read as a
``personal_data_read`` event, and that event comes back into this ledger and onto the
household's timeline. The data is shown in that one response and kept nowhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response

from services.audit.dashboard.access import DashboardRoute, InspectorVisit, check_form
from services.audit.dashboard.areas import area_name, lineage
from services.audit.dashboard.rendering import CSRF_FIELD, Visit, render
from services.audit.dashboard.scope import YearQuery, page_scope
from services.audit.dashboard.timeline import merged_trail, timeline_item, verify_messages
from services.audit.ledger.store import LedgerStore
from services.audit.monitoring import queries
from services.audit.monitoring.api.deps import policy_of
from shared.auth import authorize_read
from shared.observability import get_logger
from shared.problems import Problem
from shared.service import ResourceId, Runtime, ServiceRuntime, SessionDep, service_client

SERVICE = "audit"
log = get_logger(__name__)
router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
SubjectId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
MAX_PURPOSE = 200


def _missing(visit: Visit, message_key: str) -> Response:
    return render(visit, "message.html", 404, title_key="missing.title", message_key=message_key)


async def _household_page(
    visit: Visit,
    session: SessionDep,
    runtime: ServiceRuntime,
    household_id: str,
    year: int | None,
    revealed: dict[str, Any] | None = None,
    lookup_error: str | None = None,
) -> Response:
    scope = page_scope(visit, runtime, year)
    summary = await queries.household_summary(
        session, household_id, as_of=scope.policy.today(), policy=scope.policy
    )
    if summary is None:
        return _missing(visit, "missing.household")
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, summary.commune_code)
    ids = [household_id, *(m.person_id for m in summary.members)]
    items, truncated = await merged_trail(LedgerStore(session), ids, scope.communes)
    return render(
        visit,
        "household.html",
        section="areas",
        scope=scope,
        summary=summary,
        chain=lineage(summary.commune_code, summary.as_of),
        items=items,
        truncated=truncated,
        revealed=revealed or {},
        lookup_error=lookup_error,
        verify_messages=verify_messages(visit.t),
        name=lambda code: area_name(code, summary.as_of),
        back=f"/dashboard/households/{household_id}",
    )


@router.get("/dashboard/households/{household_id}")
async def household_page(
    household_id: ResourceId,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
    year: YearQuery = None,
) -> Response:
    """What the audit knows of one household, and its timeline with a verify action per event."""
    return await _household_page(visit, session, runtime, household_id, year)


def lookup_purpose(purpose: str, visit: Visit) -> str:
    """The purpose the households service records: the inspector's reason and who asked."""
    assert visit.principal is not None
    asker = f" [{visit.principal.role.value} {visit.principal.subject}, audit dashboard]"
    reason = " ".join(purpose.split())
    return reason[: MAX_PURPOSE - len(asker)] + asker


async def read_personal_data(runtime: ServiceRuntime, person_id: str, purpose: str) -> Any:
    """The person's personal data from the households API, asked as the audit service."""
    client = service_client(runtime.settings, runtime.settings.households_api_url)
    try:
        return await client.get_json(f"/persons/{person_id}/personal-data", purpose=purpose)
    finally:
        await client.aclose()


@router.post("/dashboard/households/{household_id}/persons/{person_id}/personal-data")
async def show_personal_data(
    household_id: ResourceId,
    person_id: ResourceId,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
    purpose: Annotated[str, Form(min_length=3, max_length=150)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    year: Annotated[int | None, Form()] = None,
) -> Response:
    """Show one member's name, citizen ID and address; the read is logged in the trail."""
    check_form(visit, csrf_token)
    summary = await queries.household_summary(session, household_id, policy=policy_of(runtime))
    if summary is None or person_id not in {m.person_id for m in summary.members}:
        return _missing(visit, "missing.person")
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, summary.commune_code)
    log.info(
        "dashboard.personal_data_lookup",
        subject=visit.principal.subject,
        household_id=household_id,
        person_id=person_id,
    )
    try:
        data = await read_personal_data(runtime, person_id, lookup_purpose(purpose, visit))
    except Problem:
        return await _household_page(
            visit, session, runtime, household_id, year, lookup_error="personal.unavailable"
        )
    if data is None:
        return await _household_page(
            visit, session, runtime, household_id, year, lookup_error="personal.not_found"
        )
    return await _household_page(
        visit, session, runtime, household_id, year, revealed={person_id: data}
    )


@router.get("/dashboard/trail/{subject_id}")
async def trail_page(
    subject_id: SubjectId,
    visit: InspectorVisit,
    session: SessionDep,
    runtime: Runtime,
) -> Response:
    """Any subject's timeline (person, card, application, worker, review…)."""
    scope = page_scope(visit, runtime, None)
    items, truncated = await merged_trail(LedgerStore(session), [subject_id], scope.communes)
    if not items:
        return _missing(visit, "missing.trail")
    households = sorted({i.data["household_id"] for i in items if i.data.get("household_id")})
    return render(
        visit,
        "trail.html",
        section="areas",
        subject_id=subject_id,
        items=items,
        truncated=truncated,
        households=households,
        verify_messages=verify_messages(visit.t),
    )


@router.get("/dashboard/events/{event_id}")
async def event_page(
    event_id: ResourceId, visit: InspectorVisit, session: SessionDep, runtime: Runtime
) -> Response:
    """One event of the ledger (evidence of a finding), with its verify action."""
    scope = page_scope(visit, runtime, None)
    entry = await LedgerStore(session).entry_by_event_id(event_id)
    if entry is None or (scope.communes is not None and entry.commune_code not in scope.communes):
        return _missing(visit, "missing.event")
    item = timeline_item(entry)
    return render(
        visit,
        "trail.html",
        section="findings",
        subject_id=item.subject,
        items=[item],
        truncated=False,
        households=[item.data["household_id"]] if item.data.get("household_id") else [],
        verify_messages=verify_messages(visit.t),
        single_event=True,
    )
