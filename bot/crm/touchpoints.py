"""Recording touchpoints: every exchange and event on a lead's timeline."""

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
    **fields: Any,
) -> Touchpoint:
    touchpoint = Touchpoint(
        lead_id=conversation.lead_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=direction,
        author=author,
        text=text,
        **fields,
    )
    session.add(touchpoint)
    return touchpoint


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


async def queued(session: AsyncSession, conversation_id: int) -> list[Touchpoint]:
    """Messages the bot sent while the prospect was not connected, oldest first."""
    query = (
        select(Touchpoint)
        .where(
            Touchpoint.conversation_id == conversation_id,
            Touchpoint.direction == "out",
            Touchpoint.status == "queued",
        )
        .order_by(Touchpoint.id)
    )
    return list(await session.scalars(query))


async def mark_failed(session: AsyncSession, ids: list[int], error: str) -> None:
    """Outbound messages a channel could not deliver."""
    for touchpoint in await session.scalars(select(Touchpoint).where(Touchpoint.id.in_(ids))):
        touchpoint.status = "failed"
        touchpoint.data = touchpoint.data | {"error": error[:500]}
