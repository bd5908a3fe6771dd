"""Employment events into the read models: targets, training enrolments, placements."""

from __future__ import annotations

from pydantic import BaseModel

from services.audit.monitoring import consumed_events as ev
from services.audit.monitoring.models import (
    ViewEnrolment,
    ViewPlacement,
    ViewTarget,
)
from services.audit.monitoring.projections.entry import Apply, Projected, row_for


async def _target(e: Projected, d: ev.TargetSet) -> None:
    row = await row_for(
        e.session,
        ViewTarget,
        (d.year, d.unit_level, d.unit_code),
        year=d.year,
        unit_level=d.unit_level,
        unit_code=d.unit_code,
    )
    row.placements, row.trainees, row.rural_trainees = d.placements, d.trainees, d.rural_trainees
    row.event_id = e.event_id


async def _enrolment(
    e: Projected, d: ev.TrainingEnrolled | ev.TrainingCompleted | ev.TrainingDropped
) -> None:
    commune = d.worker_commune_code if isinstance(d, ev.TrainingEnrolled) else d.commune_code
    row = await row_for(
        e.session,
        ViewEnrolment,
        d.enrolment_id,
        enrolment_id=d.enrolment_id,
        rural_worker=False,
        commune_code=commune,
    )
    row.worker_id = d.worker_id
    if isinstance(d, ev.TrainingEnrolled):
        row.person_id, row.commune_code = d.person_id, commune
        row.enrolled_on, row.rural_worker = d.enrolled_on, d.rural_worker
    elif isinstance(d, ev.TrainingCompleted):
        row.completed_on = d.completed_on
    else:
        row.dropped_on = d.dropped_on


async def _placed(e: Projected, d: ev.WorkerPlaced) -> None:
    row = await row_for(e.session, ViewPlacement, d.placement_id, placement_id=d.placement_id)
    row.worker_id, row.person_id, row.commune_code = d.worker_id, d.person_id, d.commune_code
    row.placed_on, row.period = d.placed_on, d.period


APPLY: dict[type[BaseModel], Apply] = {
    ev.TargetSet: _target,
    ev.TrainingEnrolled: _enrolment,
    ev.TrainingCompleted: _enrolment,
    ev.TrainingDropped: _enrolment,
    ev.WorkerPlaced: _placed,
}
