"""Database engines and sessions: SQLite (embedded default) or PostgreSQL, same code."""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import BigInteger, Integer, MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if database and database != ":memory:" and "async_creator" not in kwargs:
            kwargs["async_creator"] = partial(
                _open_sqlite, _LockHoldingSQLiteConnection, database, WRITE_BUSY_TIMEOUT_SECONDS
            )
        engine = create_async_engine(
            url, connect_args={"timeout": WRITE_BUSY_TIMEOUT_SECONDS}, **kwargs
        )
        _tune_sqlite(engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE can be issued:
        # deferred transactions that later write deadlock instead of waiting on the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={WRITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine, **info: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, info=dict(info))


#: How long a write transaction on SQLite waits for the write lock (then: 503, retry).
WRITE_BUSY_TIMEOUT_SECONDS = 30

#: How long a read on SQLite waits for a lock (WAL readers need one only in rare moments,
#: e.g. while a crashed writer's WAL is recovered); it waits on the event loop's thread.
READ_BUSY_TIMEOUT_SECONDS = 0.5
#: Read-only SQLite connections kept open (as many again may be opened for a while).
READ_POOL_SIZE = 32


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """An engine for requests that only read, beside ``engine``; dispose of it too.

    PostgreSQL (and in-memory SQLite): ``engine`` itself. SQLite file: a pool of its own,
    of read-only connections (``PRAGMA query_only``) whose transactions begin deferred —
    a snapshot that holds no lock, where every other transaction begins IMMEDIATE and
    holds the database's one write lock until it ends, so reads would queue behind each
    other and behind the writers — and whose statements run on the calling (event loop)
    thread instead of aiosqlite's worker thread. SQLite answers an indexed read in
    microseconds; each of the 3-4 round trips aiosqlite makes per statement to its thread
    costs 0.1-5 ms (the thread needs the GIL back from a busy event loop). The price: a
    read holds the event loop while it runs, so use it for indexed reads, not scans.
    """
    url = engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return engine
    # Connections are kept, not reopened per request: a request holds one until its
    # response is sent, so many are checked out at once under load.
    read_engine = create_async_engine(
        url,
        async_creator=partial(
            _open_sqlite, _InlineSQLiteConnection, database, READ_BUSY_TIMEOUT_SECONDS
        ),
        pool_size=READ_POOL_SIZE,
        max_overflow=READ_POOL_SIZE,
    )

    @event.listens_for(read_engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions as _on_begin says
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(READ_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(read_engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")  # deferred: a snapshot from the first read

    return read_engine


class _InlineSQLiteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the calling thread (see
    :func:`create_read_engine`); its worker thread only opens and closes it."""

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


class _LockHoldingSQLiteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the calling (event loop) thread
    once its transaction holds the write lock.

    Every transaction of the write engine begins IMMEDIATE, so once one is open nothing in
    it waits for a lock: its statements take SQLite microseconds, where each of aiosqlite's
    3-4 round trips to its worker thread costs 0.1-5 ms — the thread hops were most of a
    consumer's time (see the README's benchmarks). What may wait stays on the worker
    thread: BEGIN IMMEDIATE itself (for the lock, up to the busy timeout), COMMIT (a WAL
    checkpoint may write and sync pages), and anything outside a transaction.
    """

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        if (
            self._running
            and connection is not None
            and connection.in_transaction
            and fn != connection.commit
        ):
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)


async def _open_sqlite(
    kind: type[aiosqlite.Connection], database: str, busy_timeout: float
) -> aiosqlite.Connection:
    connect = partial(sqlite3.connect, database, timeout=busy_timeout, check_same_thread=False)
    connection = kind(connect, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return await connection


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver error means "not ready"
        return False


def insert_or_ignore(session: AsyncSession, target: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``target`` (a table or mapped class) in the
    session's dialect (PostgreSQL or SQLite); chain ``.values(…)`` and ``.returning(…)``.
    Its result's ``rowcount`` says whether a row went in."""
    return _dialect_insert(session, target).on_conflict_do_nothing()


def _dialect_insert(session: AsyncSession, target: Any) -> Any:
    """The INSERT of the session's dialect, which knows ON CONFLICT (PostgreSQL, SQLite)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


async def add_to_counter(
    session: AsyncSession, table: Any, key: dict[str, Any], column: str, delta: int
) -> None:
    """``column += delta`` in the row of ``table`` keyed by ``key`` (created at ``delta``),
    in one statement: no read, so concurrent transactions never lose an increment."""
    statement = _dialect_insert(session, table).values({**key, column: delta})
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(key), set_={column: table.c[column] + statement.excluded[column]}
        )
    )


_TRANSACTION_STATE = "ansinh.transaction_state"


def transaction_state(session: AsyncSession | Session, name: str) -> dict[str, Any]:
    """What ``name`` remembers for the session's current transaction (a dict, empty at
    first). A new transaction starts afresh and any rollback, a savepoint's included,
    forgets everything: what is remembered never outlives the transaction that saw it."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    transaction = sync_session.get_transaction()
    held: tuple[object, dict[str, dict[str, Any]]] | None = sync_session.info.get(
        _TRANSACTION_STATE
    )
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        sync_session.info[_TRANSACTION_STATE] = held
        if not event.contains(sync_session, "after_soft_rollback", _forget_transaction_state):
            event.listen(sync_session, "after_soft_rollback", _forget_transaction_state)
    return held[1].setdefault(name, {})


def remembered(session: AsyncSession | Session, name: str) -> dict[str, Any] | None:
    """:func:`transaction_state` of ``name`` if the current transaction has one, else None
    (without setting anything up: for paths that only read, e.g. API requests)."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    held = sync_session.info.get(_TRANSACTION_STATE)
    if held is None or held[0] is not sync_session.get_transaction():
        return None
    state: dict[str, Any] | None = held[1].get(name)
    return state


def _forget_transaction_state(session: Session, _previous: object) -> None:
    session.info.pop(_TRANSACTION_STATE, None)
