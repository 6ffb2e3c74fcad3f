"""Each channel update is claimed once in the database, also by concurrent workers."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import seen_updates


async def test_an_update_is_claimed_once_even_when_two_workers_race(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def claim(update_id: int) -> bool:
        async with sessions() as session:
            return await seen_updates.claim(session, "telegram", update_id)

    results = await asyncio.gather(*(claim(7) for _ in range(5)))
    again = await claim(7)
    other_channel_or_id = [await claim(8)]
    async with sessions() as session:
        other_channel_or_id.append(await seen_updates.claim(session, "web", 7))

    assert sorted(results) == [False] * 4 + [True]
    assert again is False
    assert other_channel_or_id == [True, True]


async def test_old_claims_are_forgotten(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await seen_updates.claim(session, "telegram", 1)
        forgotten = await seen_updates.forget_before(session, datetime.now(UTC) + timedelta(1))
        assert forgotten == 1
        assert await seen_updates.claim(session, "telegram", 1) is True
