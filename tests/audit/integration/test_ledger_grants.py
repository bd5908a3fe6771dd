"""The documented production grants: the service's PostgreSQL role can append, never rewrite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.ledger.store import LedgerStore
from shared.db import create_engine, session_factory
from shared.events import CloudEvent
from shared.migrations import upgrade_to_head
from tests.support import PG_ADMIN_DSN, REPO_ROOT, fresh_postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

GRANTS = REPO_ROOT / "services" / "audit" / "grants.sql"


@pytest.fixture
async def granted(postgres_available: bool) -> AsyncIterator[tuple[str, str]]:
    """A migrated audit database and a role holding exactly the grants of grants.sql."""
    if not postgres_available:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not running and could not be started")
    role = f"ansinh_audit_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE ROLE "{role}" NOLOGIN')
    try:
        async with fresh_postgres_database() as url:
            await upgrade_to_head("audit", url)
            libpq_url = url.replace("postgresql+asyncpg://", "postgresql://")
            psql = await asyncio.create_subprocess_exec(
                "psql",
                "-q",
                "-v",
                f"service_role={role}",
                "-f",
                str(GRANTS),
                libpq_url,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await psql.communicate()
            assert psql.returncode == 0, err.decode()
            yield url, role
            owner = await asyncpg.connect(libpq_url)
            try:
                await owner.execute(f'DROP OWNED BY "{role}"')
            finally:
                await owner.close()
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


def event() -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/ansinh/households",
        type="vn.ansinh.households.household_registered.v1",
        subject="h-1",
        time="2019-03-01T08:00:00.000000Z",
        data={"household_id": "h-1", "commune_code": "30337"},
    )


async def as_role(session: AsyncSession, role: str) -> None:
    # LOCAL: the connection goes back to the pool as its own user at the end of the transaction.
    await session.execute(text(f'SET LOCAL ROLE "{role}"'))


FORBIDDEN = [
    "UPDATE ledger_leaves SET ce_type = 'forged'",
    "DELETE FROM ledger_tree_heads",
    "TRUNCATE ledger_trail, ledger_leaves",
    "ALTER TABLE ledger_leaves DISABLE TRIGGER ALL",
    "DROP TRIGGER ledger_leaves_append_only ON ledger_leaves",
    "CREATE TABLE ledger_shadow (n int)",
]


async def test_the_service_role_appends_but_cannot_rewrite_the_ledger(
    granted: tuple[str, str],
) -> None:
    url, role = granted
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await as_role(session, role)
            _, appended = await LedgerStore(session).append(event())
            assert appended
        for statement in FORBIDDEN:
            # Refused by privileges, before any trigger runs: not the triggers' "append-only".
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                async with sessions() as session, session.begin():
                    await as_role(session, role)
                    await session.execute(text(statement))
        async with sessions() as session:
            assert await LedgerStore(session).size() == 1
    finally:
        await engine.dispose()
