"""The handoff card: everything a rep needs so they never ask again what the prospect typed.

The same card, as JSON, goes to the reps' Telegram group (as text), the ops
API and the console inbox: who and how to reach them, where they came from,
the journey so far, the score and why, what they asked in their own words,
what the booking form collected, their bookings, the last messages, and a
link to the whole transcript.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking.bookings import booking_view
from bot.crm import leads, scoring
from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint

LAST_MESSAGES = 8
ASKED_AT_MOST = 12
QUIET_INTENTS = frozenset({"greet", "thank", "affirm", "deny", "goodbye", "inform"})

Card = dict[str, Any]


async def build(session: AsyncSession, handoff: Handoff, base_url: str, now: datetime) -> Card:
    conversation = await session.get(Conversation, handoff.conversation_id)
    lead = await session.get(Lead, handoff.lead_id)
    assert conversation is not None and lead is not None
    timeline = await leads.timeline(session, lead.id)
    score = scoring.score_lead(lead, scoring.inbound_of(timeline), now)
    found = await session.scalars(
        select(Booking).where(Booking.lead_id == lead.id).order_by(Booking.starts_at)
    )
    return {
        **view(handoff, now),
        "channel": conversation.channel,
        "conversation_id": conversation.id,
        "lead": {
            "id": lead.id, "name": lead.name, "phone": lead.phone, "email": lead.email,
            "language": lead.language, "source": lead.source, "stage": lead.stage,
            "stage_history": _stage_history(timeline), "score": score.total,
            "score_reasons": score.as_list(),
        },
        "asked": _asked(timeline),
        "booking_form": {
            k: v for k, v in conversation.booking_draft.items() if v and k != "failures"
        },
        "bookings": [booking_view(b) for b in found],
        "last_messages": _messages(timeline)[-LAST_MESSAGES:],
        "transcript_url": f"{base_url}/console/conversations/{conversation.id}",
    }  # fmt: skip


def view(handoff: Handoff, now: datetime) -> Card:
    """The record itself, with its age and speed to lead."""
    return {
        "id": handoff.id,
        "status": handoff.status,
        "reason": handoff.reason,
        "rep": handoff.rep,
        "created_at": handoff.created_at.isoformat(),
        "age_seconds": round((now - handoff.created_at).total_seconds()),
        "claimed_at": _iso(handoff.claimed_at),
        "first_reply_at": _iso(handoff.first_reply_at),
        "closed_at": _iso(handoff.closed_at),
        "time_to_claim_seconds": _seconds(handoff.created_at, handoff.claimed_at),
        "time_to_first_reply_seconds": _seconds(handoff.created_at, handoff.first_reply_at),
        "satisfaction": handoff.satisfaction,
    }


def transcript(timeline: list[Touchpoint]) -> list[dict[str, Any]]:
    return _messages(timeline)


def _stage_history(timeline: list[Touchpoint]) -> list[dict[str, Any]]:
    return [
        {"from": t.data.get("from"), "to": t.data.get("to"), "reason": t.data.get("reason"),
         "at": t.created_at.isoformat()}
        for t in timeline if t.kind == "stage_change"
    ]  # fmt: skip


def _asked(timeline: list[Touchpoint]) -> list[dict[str, Any]]:
    """What the prospect asked, in order, in their words: the questions, not the small talk."""
    asked = [
        {"intent": t.intent, "text": t.text, "at": t.created_at.isoformat()}
        for t in timeline
        if t.direction == "in" and t.text and t.intent and t.intent not in QUIET_INTENTS
        and not t.text.startswith("/")
    ]  # fmt: skip
    return asked[-ASKED_AT_MOST:]


def _messages(timeline: list[Touchpoint]) -> list[dict[str, Any]]:
    return [
        {"author": t.data.get("rep") or t.author, "direction": t.direction, "text": t.text,
         "at": t.created_at.isoformat()}
        for t in timeline if t.direction in ("in", "out") and t.text
    ]  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return round((end - start).total_seconds()) if end else None
