"""Partner exchange with the social insurance agency (VSS): the list of cards to issue, out;
issuance confirmations, in.

**Issue list** — ``GET /communes/{commune_code}/issue-list.csv``: one row per entitled
person without an active card, longest wait first. UTF-8, comma-separated, header row::

    citizen_pseudonym,person_id,household_id,commune_code,beneficiary_group,object_code,
    benefit_level,subsidy_percent,policy_code,valid_from,valid_to,waiting_since,due_on,overdue

``citizen_pseudonym`` is the keyed HMAC of the citizen ID (the agency holds the key to
match it), ``subsidy_percent`` the state's share of the premium, ``valid_from``/``valid_to``
the proposed validity. With ``personal_data=true`` (operators and admins only) four
columns are added — ``full_name,citizen_id,date_of_birth,sex`` — the first two read
person by person from the households API under the insurance service's identity, so
households logs each read (``personal_data_read``).

**Confirmations** — ``POST /imports/card-confirmations``: CSV (``text/csv`` or a multipart
``file``) with exactly the columns ``citizen_pseudonym,person_id,card_number,valid_from,
valid_to,issued_on`` (``person_id`` and ``issued_on`` may be empty), or the same records
as a JSON array / NDJSON. Rows are matched to persons by ``citizen_pseudonym``. An invalid
row rejects the file (422, errors by line, nothing written). Every valid row that does not
simply match is kept as a mismatch of the import (``GET /imports/card-confirmations/{id}``):
unknown_pseudonym, person_mismatch, out_of_scope, social_insurance_number_mismatch,
social_insurance_number_taken, validity_differs (not applied); duplicate_card (recorded as
a ``duplicate`` card: the person already held another active one) and no_entitlement
(recorded as an active card, so it shows on the to-revoke worklist).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.insurance.api.deps import Rules, today
from services.insurance.cards import commands, queries
from services.insurance.cards.schemas import ConfirmationReport, ImportSummaryOut
from shared.auth import CurrentPrincipal
from shared.bulk import IMPORT_REQUEST_BODY, import_upload
from shared.service import Runtime, SessionDep

router = APIRouter(tags=["partner exchange"])


@router.get("/communes/{commune_code}/issue-list.csv", response_class=Response)
async def export_issue_list(
    commune_code: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: Runtime,
    rules: Rules,
    on: Annotated[date | None, Query(description="export day; default today")] = None,
    personal_data: Annotated[
        bool, Query(description="add name, citizen ID, birth date, sex (operators only)")
    ] = False,
) -> Response:
    """The commune's persons to issue a card to, as the CSV the agency takes."""
    day = on or today()
    text = await queries.issue_list_csv(
        session, principal, runtime.settings, rules, commune_code, day,
        personal_data=personal_data,
    )  # fmt: skip
    filename = f"issue-list-{commune_code}-{day.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/imports/card-confirmations",
    response_model=ConfirmationReport,
    openapi_extra=IMPORT_REQUEST_BODY,
)
async def import_card_confirmations(
    request: Request, principal: CurrentPrincipal, session: SessionDep
) -> ConfirmationReport:
    """Ingest the agency's issuance confirmations (CSV or JSON); every mismatch is kept."""
    return await commands.import_card_confirmations(session, principal, import_upload(request))


@router.get("/imports/card-confirmations/{import_id}", response_model=ImportSummaryOut)
async def read_confirmation_import(
    import_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ImportSummaryOut:
    """A past confirmation import with every mismatch it found."""
    return await queries.confirmation_import(session, principal, import_id)
