"""Leads and their conversations: find or create them, and show a lead with its timeline."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.crm import scoring
from bot.storage.models import Conversation, Lead, Touchpoint


async def conversation_for(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> Conversation:
    """The conversation for this channel's sender, creating it and its lead on first contact.

    Two first messages from one sender can race; the unique constraint decides
    and the loser reads the winner's row instead of failing.
    """
    query = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.external_id == external_id)
        .options(joinedload(Conversation.lead))  # one statement: every turn starts here
    )
    found = await session.scalar(query)
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            lead = Lead(created_at=now, last_seen_at=now)
            conversation = Conversation(
                channel=channel, external_id=external_id, lead=lead, created_at=now
            )
            session.add(conversation)
        return conversation
    except IntegrityError:
        found = await session.scalar(query)
        assert found is not None
        return found


async def find_conversation(
    session: AsyncSession, channel: str, external_id: str
) -> Conversation | None:
    query = select(Conversation).where(
        Conversation.channel == channel, Conversation.external_id == external_id
    )
    return await session.scalar(query)


async def get_lead(session: AsyncSession, lead_id: int) -> Lead | None:
    return await session.get(Lead, lead_id)


async def timeline(session: AsyncSession, lead_id: int) -> list[Touchpoint]:
    query = (
        select(Touchpoint)
        .where(Touchpoint.lead_id == lead_id)
        .order_by(Touchpoint.created_at, Touchpoint.id)
    )
    return list(await session.scalars(query))


async def inbound_intents(
    session: AsyncSession, lead_id: int, latest: Touchpoint
) -> list[tuple[datetime, str | None]]:
    """(time, intent) of every inbound message up to ``latest``, the one being answered:
    all the score needs, without the texts. ``latest`` comes from memory, so the turn's
    changes are written once, at its commit, not flushed for this query first."""
    with session.no_autoflush:
        rows = await session.execute(
            select(Touchpoint.created_at, Touchpoint.intent)
            .where(
                Touchpoint.lead_id == lead_id,
                Touchpoint.direction == "in",
                Touchpoint.id < latest.id,
            )
            .order_by(Touchpoint.id)
        )
    return [(row.created_at, row.intent) for row in rows] + [(latest.created_at, latest.intent)]


def touchpoint_view(touchpoint: Touchpoint) -> dict[str, Any]:
    return {
        "id": touchpoint.id,
        "conversation_id": touchpoint.conversation_id,
        "channel": touchpoint.channel,
        "direction": touchpoint.direction,
        "author": touchpoint.author,
        "kind": touchpoint.kind,
        "text": touchpoint.text,
        "intent": touchpoint.intent,
        "confidence": touchpoint.confidence,
        "language": touchpoint.language,
        "stage": touchpoint.stage,
        "status": touchpoint.status,
        "data": touchpoint.data,
        "created_at": touchpoint.created_at.isoformat(),
    }


def lead_view(lead: Lead, touchpoints: list[Touchpoint], now: datetime) -> dict[str, Any]:
    """The lead as the ops API shows it: who, where in the journey, and everything said.

    The score is computed for ``now``, so a lead gone quiet shows its decay.
    """
    current = scoring.score_lead(lead, scoring.inbound_of(touchpoints), now)
    return {
        "id": lead.id,
        "stage": lead.stage,
        "score": current.total,
        "score_reasons": current.as_list(),
        "zombie": current.zombie,
        "language": lead.language,
        "source": lead.source,
        "name": lead.name,
        "phone": lead.phone,
        "email": lead.email,
        "created_at": lead.created_at.isoformat(),
        "last_seen_at": lead.last_seen_at.isoformat(),
        "touchpoints": [touchpoint_view(t) for t in touchpoints],
    }
