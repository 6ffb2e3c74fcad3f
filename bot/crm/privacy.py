"""A lead's rights over their data (GDPR): everything we hold, and forgetting it.

The export is everything stored about the lead, as JSON: the lead with its
score, every touchpoint, its conversations, bookings, follow-ups and
handoffs. Erasing deletes the lead and, through the foreign keys, all of
those; Rasa's tracker of each conversation is forgotten first by the caller
(``senders``), so a Rasa that is down leaves nothing half-erased.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.bookings import booking_view
from bot.crm import leads
from bot.dialogue.rasa_client import RasaClient
from bot.handoff import card
from bot.staff import audit
from bot.storage.models import Booking, Conversation, FollowUp, Handoff, Lead, Touchpoint


async def export_for(
    session: AsyncSession, lead_id: int, actor: str, now: datetime
) -> dict[str, Any] | None:
    """The export, and who took it (audited); None: no such lead."""
    lead = await session.get(Lead, lead_id)
    if lead is None:
        return None
    everything = await export(session, lead, now)
    audit.record(session, actor, "lead_exported", now, f"lead {lead_id}")
    await session.commit()
    return everything


async def forget(
    sessions: async_sessionmaker[AsyncSession],
    rasa: RasaClient,
    lead_id: int,
    actor: str,
    now: datetime,
) -> bool:
    """Erase the lead everywhere: Rasa's trackers first, then our database, audited.
    False: no such lead. RasaUnavailable: nothing erased yet here, try again."""
    async with sessions() as session:
        lead = await session.get(Lead, lead_id)
        if lead is None:
            return False
        ids = await senders(session, lead)
    for sender in ids:
        await rasa.forget(sender)
    async with sessions() as session:
        lead = await session.get(Lead, lead_id)
        if lead is not None:
            await erase(session, lead)
        audit.record(session, actor, "lead_erased", now, f"lead {lead_id}", conversations=ids)
        await session.commit()
    return True


async def export(session: AsyncSession, lead: Lead, now: datetime) -> dict[str, Any]:
    timeline = await leads.timeline(session, lead.id)
    return {
        "exported_at": now.isoformat(),
        "lead": leads.lead_view(lead, timeline, now),
        "conversations": [_conversation(c) for c in await _of(session, Conversation, lead)],
        "bookings": [booking_view(b) for b in await _of(session, Booking, lead)],
        "handoffs": [card.view(h, now) for h in await _of(session, Handoff, lead)],
        "followups": [_followup(f) for f in await _of(session, FollowUp, lead)],
    }


async def senders(session: AsyncSession, lead: Lead) -> list[str]:
    """Rasa's conversation ids for this lead: one tracker per conversation."""
    return [str(c.id) for c in await _of(session, Conversation, lead)]


async def erase(session: AsyncSession, lead: Lead) -> None:
    """Delete the lead and all that hangs off it. Touchpoints go explicitly: an
    inbound message keeps its row when its conversation goes (SET NULL)."""
    await session.execute(delete(Touchpoint).where(Touchpoint.lead_id == lead.id))
    await session.execute(delete(Lead).where(Lead.id == lead.id))
    session.expunge(lead)


async def _of(session: AsyncSession, table: Any, lead: Lead) -> list[Any]:
    return list(await session.scalars(select(table).where(table.lead_id == lead.id)))


def _conversation(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "external_id": conversation.external_id,
        "owner": conversation.owner,
        "created_at": conversation.created_at.isoformat(),
        "booking_form": conversation.booking_draft,
    }


def _followup(followup: FollowUp) -> dict[str, Any]:
    return {
        "id": followup.id,
        "kind": followup.kind,
        "due_at": followup.due_at.isoformat(),
        "status": followup.status,
        "sent_at": followup.sent_at.isoformat() if followup.sent_at else None,
        "data": followup.data,
    }
