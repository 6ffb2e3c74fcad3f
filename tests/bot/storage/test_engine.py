"""Storage: migrations up and down, SQLite settings, safe find-or-create."""

import asyncio
from datetime import UTC
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crm import leads
from bot.storage.engine import create_engine, downgrade, migrate, unreachable, while_unreachable
from bot.storage.models import Base, Conversation, Lead, utcnow


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migrations_go_up_down_and_up_again(engine: AsyncEngine) -> None:
    tables = {"leads", "conversations", "touchpoints", "bookings", "followups"}
    assert tables <= await table_names(engine)
    await downgrade(engine, "base")
    assert await table_names(engine) == {"alembic_version"}
    await migrate(engine)
    assert tables <= await table_names(engine)


async def test_replicas_starting_at_once_migrate_one_after_the_other(
    engine: AsyncEngine,
) -> None:
    await downgrade(engine, "base")
    replicas = [create_engine(engine.url.render_as_string(hide_password=False)) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(replica) for replica in replicas))
    finally:
        for replica in replicas:
            await replica.dispose()
    async with engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert len(versions) == 1
    assert {"leads", "touchpoints", "handoffs"} <= await table_names(engine)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


async def test_concurrent_first_messages_create_one_lead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def first_contact() -> int:
        async with sessions() as session:
            conversation = await leads.conversation_for(session, "web", "same-visitor", utcnow())
            await session.commit()
            return conversation.lead_id

    lead_ids = await asyncio.gather(*(first_contact() for _ in range(8)))

    assert len(set(lead_ids)) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 1
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1


async def test_timestamps_come_back_as_aware_utc(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "api", "tz", utcnow())
        await session.commit()
    async with sessions() as session:
        lead = await leads.get_lead(session, conversation.lead_id)
        assert lead is not None
        assert lead.created_at.tzinfo == UTC


async def test_only_an_unreachable_database_is_waited_for() -> None:
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError(111, "Connect call failed")
        return "done"

    async def buggy() -> None:
        calls.append(1)
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    assert await while_unreachable(flaky, first_wait=0.01) == "done"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(IntegrityError):
        await while_unreachable(buggy, first_wait=0.01)
    assert len(calls) == 1  # a bug is not retried
    assert unreachable(OperationalError("SELECT 1", {}, Exception("server closed")))


async def test_the_migrations_build_the_schema_the_models_describe(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
