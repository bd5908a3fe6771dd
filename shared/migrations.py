"""Alembic migrations per service, run programmatically at start-up and by `make migration`.

Each service keeps its scripts in ``services/<name>/migrations``; their ``env.py`` is two
lines calling :func:`run_env`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection

from shared.db import create_engine, is_sqlite

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def run_env(target_metadata: MetaData) -> None:
    """Body of a service's migrations/env.py (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(url),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())


async def upgrade_to_head(service: str, database_url: str) -> None:
    """Apply every pending migration (in a worker thread: env.py runs its own event loop)."""
    await asyncio.to_thread(command.upgrade, alembic_config(service, database_url), "head")


def main() -> None:
    """python -m shared.migrations revision <service> "<message>" [database_url]"""
    if len(sys.argv) < 4 or sys.argv[1] != "revision":
        sys.exit('usage: python -m shared.migrations revision <service> "<message>" [database_url]')
    service, message = sys.argv[2], sys.argv[3]
    scratch = Path(f"/tmp/ansinh-migration-{service}.db")  # noqa: S108 - throwaway autogenerate target
    scratch.unlink(missing_ok=True)
    url = sys.argv[4] if len(sys.argv) > 4 else f"sqlite+aiosqlite:///{scratch}"
    config = alembic_config(service, url)
    command.upgrade(config, "head")
    command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":
    main()
