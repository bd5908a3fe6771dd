"""The findings list with its filters (kind, commune, status), and its CSV export."""

from __future__ import annotations

import csv
import io
from contextlib import aclosing
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.dashboard.access import DashboardRoute, InspectorVisit
from services.audit.dashboard.areas import area_name
from services.audit.dashboard.rendering import SECURITY_HEADERS, render
from services.audit.dashboard.scope import CommuneQuery
from services.audit.monitoring import queries
from services.audit.monitoring.detectors import KINDS
from services.audit.monitoring.schemas import Finding, FindingStatus
from shared.admin_units import ADMIN_UNITS
from shared.auth import authorize_read, readable_communes
from shared.service import SessionDep

SERVICE = "audit"
router = APIRouter(route_class=DashboardRoute, include_in_schema=False)
StatusChoice = Literal["open", "cleared", "all"]
KindQuery = Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9_]*$")]
PAGE_SIZE = 100
CSV_PAGE_SIZE = 1000
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = (
    "finding_id", "key", "kind", "subject_id", "commune_code", "status", "summary",
    "evidence", "raised_on", "cleared_on", "cleared_reason",
)  # fmt: skip


#: Kinds whose subject is no trail id (services.audit.domain.TRAIL_ID_FIELDS): an assessment
#: is found through its household, so the subject links to the evidence event instead.
SUBJECTS_WITHOUT_TRAIL = frozenset({"misclassified_assessment"})


def subject_link(finding: Finding) -> str:
    """Where the finding's subject is shown: its trail, or the event that shows the breach."""
    if finding.kind in SUBJECTS_WITHOUT_TRAIL and finding.evidence:
        return f"/dashboard/events/{finding.evidence[0]}"
    return f"/dashboard/trail/{finding.subject_id}"


def commune_choices() -> list[tuple[str, str]]:
    """(code, name) of every commune the reference data knows, by its latest name."""
    latest: dict[str, tuple[date, str]] = {}
    for unit in ADMIN_UNITS:
        if unit.level == "commune":
            until = unit.valid_to or date.max
            if unit.code not in latest or latest[unit.code][0] < until:
                latest[unit.code] = (until, unit.name)
    return sorted(((code, name) for code, (_, name) in latest.items()), key=lambda c: c[1])


def _status(choice: StatusChoice) -> FindingStatus | None:
    return None if choice == "all" else choice


@router.get("/dashboard/findings")
async def findings_page(
    visit: InspectorVisit,
    session: SessionDep,
    kind: KindQuery = None,
    commune: CommuneQuery = None,
    status: StatusChoice = "open",
    after: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """Findings, filtered, a page at a time, each with the events that show it."""
    commune = commune or None
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, commune)
    page = await queries.findings(
        session,
        kind=kind or None,
        commune_code=commune,
        communes=readable_communes(visit.principal),
        status=_status(status),
        after=after,
        limit=PAGE_SIZE,
    )
    today = date.today()
    return render(
        visit,
        "findings.html",
        section="findings",
        page=page,
        kind=kind or "",
        commune=commune or "",
        status=status,
        after=after,
        kinds=sorted({*KINDS, *([kind] if kind else [])}),
        communes=commune_choices(),
        subject_link=subject_link,
        name=lambda code: area_name(code, today),
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def findings_csv(findings: list[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        row = f.model_dump(mode="json")
        row["evidence"] = " ".join(f.evidence)
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


async def _all_findings(
    session: AsyncSession,
    kind: str | None,
    commune: str | None,
    communes: frozenset[str] | None,
    status: FindingStatus | None,
) -> list[Finding]:
    found: list[Finding] = []
    pages = queries.finding_pages(
        session,
        kind=kind,
        commune_code=commune,
        communes=communes,
        status=status,
        page_size=CSV_PAGE_SIZE,
    )
    async with aclosing(pages):  # stopping at CSV_MAX_ROWS closes it at once
        async for page in pages:
            found.extend(page.items)
            if len(found) >= CSV_MAX_ROWS:
                break
    return found[:CSV_MAX_ROWS]


@router.get("/dashboard/findings.csv")
async def findings_export(
    visit: InspectorVisit,
    session: SessionDep,
    kind: KindQuery = None,
    commune: CommuneQuery = None,
    status: StatusChoice = "open",
) -> Response:
    """The filtered findings as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    commune = commune or None
    assert visit.principal is not None
    authorize_read(visit.principal, SERVICE, commune)
    found = await _all_findings(
        session, kind or None, commune, readable_communes(visit.principal), _status(status)
    )
    name = f"findings-{status}-{date.today().isoformat()}.csv"
    headers = dict(SECURITY_HEADERS) | {"Content-Disposition": f'attachment; filename="{name}"'}
    body = "\ufeff" + findings_csv(found)
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
