"""Database engine, sessions and schema migrations (SQLAlchemy 2 async + Alembic)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = structlog.get_logger(__name__)
T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_engine(database_url: str) -> AsyncEngine:
    """Create the engine; SQLite gets WAL, foreign keys and queued writers.

    WAL lets the console read while the bot writes. The sqlite3 driver's own
    transaction handling does not open a transaction before a SAVEPOINT and
    lets a read-then-write transaction fail with "database is locked" instead
    of waiting, so (as SQLAlchemy's SQLite docs advise) the driver's handling
    is switched off and every transaction starts with BEGIN IMMEDIATE: writers
    queue on the busy timeout, and a booking's savepoint is truly nested.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


MIGRATION_LOCK = 7_246_001  # PostgreSQL advisory lock key: one migrating replica at a time


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` on the app's own engine at start-up.

    Replicas starting together migrate one after the other: on PostgreSQL under a
    transaction-scoped advisory lock (its DDL is transactional, so the next one
    finds the schema current), on SQLite behind BEGIN IMMEDIATE's write lock.
    """

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        await connection.run_sync(upgrade)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def unreachable(error: BaseException) -> bool:
    """Whether an error means the database is away (restarting, network), not a bug:
    worth waiting for. asyncpg's refused connections come through unwrapped."""
    if isinstance(error, OSError):
        return True
    if isinstance(error, IntegrityError | ProgrammingError | DataError):
        return False
    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


async def while_unreachable(
    operation: Callable[[], Awaitable[T]], *, patience: float = 60.0, first_wait: float = 0.5
) -> T:
    """Run ``operation``, again and again while the database is unreachable, for up to
    ``patience`` seconds: a database restart then costs a delay, not a lost message."""
    waited, wait = 0.0, first_wait
    while True:
        try:
            return await operation()
        except Exception as error:
            if not unreachable(error) or waited >= patience:
                raise
            log.warning("database.unreachable", error=str(error)[:200], retry_in=wait)
        await asyncio.sleep(wait)
        waited += wait
        wait = min(wait * 2, 5.0)
