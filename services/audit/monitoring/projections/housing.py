"""Housing events into the read models: applications, decisions, loan disbursements."""

from __future__ import annotations

from pydantic import BaseModel

from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.models import ViewHousing
from services.audit.monitoring.projections.entry import Apply, Projected, row_for, with_event


async def _housing(
    e: Projected,
    d: ev.HousingApplied | ev.HousingApproved | ev.HousingRefused | ev.LoanDisbursed,
) -> None:
    row = await row_for(e.session, ViewHousing, d.application_id, application_id=d.application_id)
    row.household_id, row.commune_code = d.household_id, d.commune_code
    if isinstance(d, ev.HousingApplied | ev.HousingApproved | ev.HousingRefused):
        row.applied_on = d.applied_on
    if isinstance(d, ev.HousingApproved | ev.LoanDisbursed):
        row.approved_on = d.approved_on
    if isinstance(d, ev.HousingRefused):
        row.refused_on = d.refused_on
    if isinstance(d, ev.LoanDisbursed):
        row.disbursed_on, row.principal = d.disbursed_on, d.principal
        if row.applied_on is None:
            row.applied_on = d.approved_on  # no application seen: start the clock at approval
    row.event_ids = with_event(row.event_ids, e.event_id)
    e.touched.housing.add(d.application_id)


APPLY: dict[type[BaseModel], Apply] = {
    ev.HousingApplied: _housing,
    ev.HousingApproved: _housing,
    ev.HousingRefused: _housing,
    ev.LoanDisbursed: _housing,
}
