"""Recording touchpoints: every exchange and event on a lead's timeline.

The time of each one is given by the caller, from the app's clock, so the
timeline, the score and the follow-ups all agree on "now" (tests move it).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Conversation, Lead, Touchpoint


def record_event(
    session: AsyncSession,
    lead: Lead,
    kind: str,
    data: dict[str, Any],
    *,
    at: datetime,
    conversation: Conversation | None = None,
    author: str = "system",
) -> Touchpoint:
    """An event on the lead's timeline (stage change, contact, source), in a chat or not."""
    touchpoint = Touchpoint(
        lead_id=lead.id,
        conversation_id=conversation.id if conversation else None,
        channel=conversation.channel if conversation else "ops",
        direction="event",
        author=author,
        kind=kind,
        text=None,
        stage=lead.stage,
        data=data,
        created_at=at,
    )
    session.add(touchpoint)
    return touchpoint


def record(
    session: AsyncSession,
    conversation: Conversation,
    *,
    direction: str,
    author: str,
    text: str | None,
    at: datetime,
    **fields: Any,
) -> Touchpoint:
    touchpoint = Touchpoint(
        lead_id=conversation.lead_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=direction,
        author=author,
        text=text,
        created_at=at,
        **fields,
    )
    session.add(touchpoint)
    return touchpoint


async def by_key(session: AsyncSession, conversation_id: int, key: str) -> Touchpoint | None:
    """The inbound message a channel already delivered under this idempotency key."""
    query = select(Touchpoint).where(
        Touchpoint.conversation_id == conversation_id, Touchpoint.idempotency_key == key
    )
    return await session.scalar(query)


async def latest_inbound(session: AsyncSession, conversation_id: int) -> Touchpoint | None:
    query = (
        select(Touchpoint)
        .where(Touchpoint.conversation_id == conversation_id, Touchpoint.direction == "in")
        .order_by(Touchpoint.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def previous_inbound(session: AsyncSession, current: Touchpoint) -> Touchpoint | None:
    """The lead's inbound message before ``current``, on any channel."""
    query = (
        select(Touchpoint)
        .where(
            Touchpoint.lead_id == current.lead_id,
            Touchpoint.direction == "in",
            Touchpoint.id < current.id,
        )
        .order_by(Touchpoint.id.desc())
        .limit(1)
    )
    return await session.scalar(query)
