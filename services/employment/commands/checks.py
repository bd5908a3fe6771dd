"""What the commands check before they change anything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.employment.domain.errors import RuleBroken
from services.employment.models import Worker
from services.employment.records import get_worker
from services.employment.settings import SERVICE
from shared.auth import Principal, Role
from shared.problems import Forbidden, NotFound, RuleViolation


def authorize_writer(principal: Principal) -> None:
    """403 unless the caller may make changes in this service at all (before any lookup, so
    a caller without write rights learns nothing about what exists)."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.OPERATOR:
        raise Forbidden(f"Role {principal.role} may not make changes.")
    if not principal.covers_service(SERVICE):
        raise Forbidden(f"Not authorised to act in service {SERVICE}.")


@contextmanager
def rule_violations() -> Iterator[None]:
    """Turn a broken domain rule into the 422 problem that names the field."""
    try:
        yield
    except RuleBroken as exc:
        raise RuleViolation(str(exc), field=exc.field) from exc


async def worker_for_body(session: AsyncSession, worker_id: str, *, lock: bool = False) -> Worker:
    """The worker named in a request body; a 422 naming ``body.worker_id`` if there is none."""
    try:
        return await get_worker(session, worker_id, lock=lock)
    except NotFound as exc:
        raise RuleViolation(
            f"{worker_id} is not a registered worker", field="body.worker_id"
        ) from exc
