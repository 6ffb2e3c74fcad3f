"""Handoff records: open one, claim it (one claim wins), reply, close; each change on the
lead's timeline as a ``handoff`` touchpoint."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import touchpoints
from bot.storage.models import Conversation, Handoff, Lead

OPEN = ("waiting", "claimed")


async def open_for(session: AsyncSession, conversation_id: int) -> Handoff | None:
    query = select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN)
    )
    return await session.scalar(query)


async def start(
    session: AsyncSession, conversation: Conversation, lead: Lead, reason: str, now: datetime
) -> Handoff | None:
    """Open a handoff, or None when the conversation has one open already (the partial
    unique index decides between two turns racing to open one)."""
    if await open_for(session, conversation.id) is not None:
        return None
    handoff = Handoff(
        lead_id=lead.id, conversation_id=conversation.id, reason=reason, created_at=now
    )
    try:
        async with session.begin_nested():
            session.add(handoff)
    except IntegrityError:
        return None
    _record(session, lead, conversation, handoff, "requested", now, reason=reason)
    return handoff


async def claim(
    session: AsyncSession, handoff_id: int, rep: str, rep_key: str, now: datetime
) -> bool:
    """True for the one rep whose claim was first: a conditional update, not a check."""
    handoff = await _take_waiting(
        session, handoff_id, status="claimed", rep=rep, rep_key=rep_key, claimed_at=now
    )
    if handoff is None:
        return False
    conversation, lead = await parties(session, handoff)
    conversation.owner = "human"
    _record(session, lead, conversation, handoff, "claimed", now, rep=rep)
    return True


async def expire(session: AsyncSession, handoff_id: int, now: datetime) -> bool:
    """A handoff nobody took leaves the queue; a rep taking it at that moment wins."""
    handoff = await _take_waiting(session, handoff_id, status="expired", closed_at=now)
    if handoff is None:
        return False
    conversation, lead = await parties(session, handoff)
    _record(session, lead, conversation, handoff, "expired", now)
    return True


async def _take_waiting(session: AsyncSession, handoff_id: int, **values: Any) -> Handoff | None:
    """Move a waiting handoff on, if it is still waiting (one UPDATE decides between
    racers); the handoff as it is now, or None when another change came first."""
    moved = await session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(**values)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(Handoff, handoff_id, populate_existing=True)


async def replied(session: AsyncSession, handoff: Handoff, now: datetime) -> None:
    if handoff.first_reply_at is None:
        handoff.first_reply_at = now


async def close(session: AsyncSession, handoff: Handoff, now: datetime, by: str) -> None:
    """Back to the bot; the satisfaction question follows."""
    handoff.status, handoff.closed_at = "closed", now
    conversation, lead = await parties(session, handoff)
    conversation.owner = "bot"
    _record(session, lead, conversation, handoff, "closed", now, by=by)


async def rate(session: AsyncSession, handoff: Handoff, score: int, now: datetime) -> None:
    handoff.satisfaction = score
    conversation, lead = await parties(session, handoff)
    _record(session, lead, conversation, handoff, "rated", now, score=score)


async def parties(session: AsyncSession, handoff: Handoff) -> tuple[Conversation, Lead]:
    conversation = await session.get(Conversation, handoff.conversation_id)
    lead = await session.get(Lead, handoff.lead_id)
    assert conversation is not None and lead is not None
    return conversation, lead


async def awaiting_rating(session: AsyncSession, conversation_id: int) -> Handoff | None:
    """The last handoff of the conversation, if it asked for a rating not given yet."""
    query = (
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status == "closed")
        .order_by(Handoff.closed_at.desc())
        .limit(1)
    )
    found = await session.scalar(query)
    if found is None or found.satisfaction is not None or not found.data.get("rating_asked"):
        return None
    return found


def note(handoff: Handoff, **values: Any) -> None:
    handoff.data = handoff.data | values


def _record(
    session: AsyncSession,
    lead: Lead,
    conversation: Conversation,
    handoff: Handoff,
    action: str,
    now: datetime,
    **details: Any,
) -> None:
    touchpoints.record_event(
        session, lead, "handoff", {"action": action, "handoff_id": handoff.id, **details},
        conversation=conversation, at=now,
    )  # fmt: skip
