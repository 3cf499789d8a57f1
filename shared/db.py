"""One engine per process, sessions, and the schema (Alembic) for both SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, event, exc
from sqlalchemy import inspect as inspect_model
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, create_engine

from shared.models import Client, Village

if TYPE_CHECKING:  # only named in annotations: shared.config imports numbering, which imports this module
    from alembic.config import Config

    from shared.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_engines: dict[tuple[int, str], Engine] = {}
Row = TypeVar("Row")

# What SQLAlchemy raises when the database is down, restarting, unreachable or (SQLite) locked too long:
# passing conditions, answered with 503 by the API and retried with backoff by the worker.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError,
)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets the API read while the worker writes; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# PostgreSQL, per connection: a statement waits at most LOCK_TIMEOUT for a lock, and a session that sits in an
# open transaction (a frozen worker) is ended after IDLE_IN_TRANSACTION_TIMEOUT, its locks released. No
# transaction holds a lock through slow work, so both are far above what a healthy one takes; the idle bound is
# the shorter, so a waiter outlasts a frozen holder, and both are below the tasks' soft time limit.
LOCK_TIMEOUT_MS = 40_000
IDLE_IN_TRANSACTION_TIMEOUT_MS = 20_000
POSTGRES_OPTIONS = (f"-c lock_timeout={LOCK_TIMEOUT_MS} "
                    f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}")
READ_ONLY = "suratdesa_read_only"  # an execution option: see read_only_bind
# A pooled PostgreSQL connection is checked with a round trip before use only when it has sat unused this long:
# a busy worker or API reuses its connections many times a second, and a ping before each use was one more
# round trip per transaction (about nine per letter). One that sat longer may have been cut (a restarted
# server, a firewall's idle timeout) and is replaced, unnoticed by the caller, when the ping fails.
PING_AFTER_IDLE_S = 10.0


def _sqlite_begin(conn: Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock on lock upgrade; read-only
    # sessions begin deferred and, with WAL, read beside the writer instead of queueing for its lock.
    deferred = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_S) -> Engine:
    """A new engine for url, with the SQLite settings a multi-process service needs.

    Errors never carry the statement's parameters: they hold NIKs, and errors end up in logs.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts.
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5, pool_timeout=5,
                           connect_args={"connect_timeout": 3, "options": POSTGRES_OPTIONS}, hide_parameters=True)
    ping_when_idle(engine, ping_after_idle)
    return engine


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a round trip at checkout if it was unused for idle_seconds; a dead one is
    replaced by a new one (the pool retries on DisconnectionError), so the caller never sees it."""
    def mark_used(_dbapi: DBAPIConnection, record: ConnectionPoolEntry, *_args: Any) -> None:
        record.info["used_at"] = time.monotonic()

    def ping_if_idle(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as error:  # whatever the driver raises for a cut connection
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error

    event.listen(engine, "connect", mark_used)  # a new connection needs no ping
    event.listen(engine, "checkin", mark_used)
    event.listen(engine, "checkout", ping_if_idle)


def get_engine(settings: Settings) -> Engine:
    """The engine of this process for the configured database (made anew after a fork)."""
    key = (os.getpid(), settings.db_url)
    if key not in _engines:
        if settings.db_url.startswith("sqlite"):
            settings.home.mkdir(parents=True, exist_ok=True)
        _engines[key] = make_engine(settings.db_url)
    return _engines[key]


def dispose_engines() -> None:
    """Drop inherited connections, e.g. in a worker child after fork."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


def read_only_bind(settings: Settings) -> Engine:
    """The engine for sessions that only read: on SQLite they do not take the write lock (a write would fail)."""
    return get_engine(settings).execution_options(**{READ_ONLY: True})


@contextmanager
def session_scope(settings: Settings, *, read_only: bool = False) -> Iterator[Session]:
    """A session closed when the block ends; the caller commits. read_only: see read_only_bind."""
    bind = read_only_bind(settings) if read_only else get_engine(settings)
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        _close_after_error(session)
        raise
    session.close()


def statements_commit_alone(session: Session) -> None:
    """On PostgreSQL, each statement the session sends from now on commits on its own: no BEGIN and no COMMIT are
    sent, two round trips fewer, for work whose one write is a single statement. SQLite keeps its transactions:
    SQLAlchemy's reset of a connection after autocommit would undo this module's own BEGIN handling."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _close_after_error(session: Session) -> None:
    # A query interrupted half-way (a soft time limit raised inside the driver) leaves a connection that cannot
    # roll back; discard it rather than let that error replace the one that ended the block.
    try:
        session.rollback()
    except exc.SQLAlchemyError:
        session.invalidate()
    session.close()


def get_existing(session: Session, model: type[Row], key: Any) -> Row:
    """The row with this primary key, which must exist (a foreign key points at it)."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"no {model.__name__} with id {key!r}, although a foreign key refers to it")
    return row


def dialect_insert(session: Session, model: type[Any] | Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into model's table (or a table, for a Core statement) in the session's database's own dialect, so
    that it can say ON CONFLICT."""
    return dialect_insert_in(session.get_bind().dialect.name, model)


def dialect_insert_in(dialect: str, model: type[Any] | Table) -> postgresql.Insert | sqlite.Insert:
    """dialect_insert for the database dialect named (a statement built once per dialect)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def table(model: type[Any]) -> Table:
    """A model's table, for Core statements: rows written or read through it cost no ORM bookkeeping (identity map,
    unit of work), for rows nobody reads back as objects."""
    return cast(Table, inspect_model(model).local_table)


def from_row(model: type[Row], values: Sequence[Any]) -> Row:
    """An object of model from its table's columns' values in the table's order (a Core row, or a slice of one):
    held by no session, and with none of the ORM's loading to pay for."""
    return model(**dict(zip(table(model).columns.keys(), values, strict=True)))


def as_row(row: Any) -> dict[str, Any]:
    """An object's values by its table's column names, for a Core INSERT of it (from_row's opposite)."""
    return {name: getattr(row, name) for name in table(type(row)).columns.keys()}


def saved_id(row: Village | Client) -> int:
    """The id of a row read from or flushed to the database; only a row never saved has none."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} {row.name!r} has no id: it was never saved")
    return row.id


def alembic_config(url: str) -> Config:
    """Alembic configured for the package's migrations and the given database."""
    # imported here: a worker or an API process never migrates, and alembic with mako and pygments is 11 MB
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(settings: Settings) -> None:
    """Bring the schema up to the newest migration; a no-op when it already is."""
    from alembic import command

    config = alembic_config(settings.db_url)
    with get_engine(settings).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
