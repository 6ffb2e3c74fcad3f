"""Updates a channel delivered, so a redelivered one is processed once.

Telegram sends an update again when it did not get our answer in time, and a
restarted poller may fetch the last batch twice. The update id is claimed in
the database by inserting it; a unique constraint decides, so the claim holds
across restarts and across app replicas sharing the database.
"""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import SeenUpdate


async def claim(session: AsyncSession, channel: str, update_id: int) -> bool:
    """True the first time this update is seen (the claim is committed), False after that."""
    try:
        async with session.begin_nested():
            session.add(SeenUpdate(channel=channel, update_id=update_id))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def forget_before(session: AsyncSession, when: datetime) -> int:
    """Drop claims older than ``when``: Telegram keeps an update for at most a day."""
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.received_at < when))
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
