"""Two leads that are the same person, made one: only on a verified identity.

A lead is created per channel, so someone who chats on the web and then on
Telegram is two leads. They are offered for merging only when a phone the
channel itself vouches for (shared with Telegram's contact button) equals a
phone of the other lead (typed on the web, or shared too). A typed phone alone
never merges: anybody can type anybody's number, and merging would hand that
person's bookings and history to a stranger. The team decides; the merge is on
the timeline and in the audit log.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CompoundSelect, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import journey, leads, scoring, touchpoints
from bot.storage.models import Booking, Conversation, FollowUp, Handoff, Lead, Touchpoint

MOVED = (Conversation, Touchpoint, Booking, FollowUp, Handoff)


class NotTheSamePerson(Exception):
    """No verified phone ties the two leads: they are not merged."""


@dataclass(frozen=True)
class Match:
    lead: Lead
    phone: str


async def phones(session: AsyncSession, lead: Lead) -> tuple[set[str], set[str]]:
    """The lead's phones: all it gave, and those its channel vouched for."""
    given = await session.execute(
        select(Touchpoint.data).where(Touchpoint.lead_id == lead.id, Touchpoint.kind == "contact")
    )
    every: set[str] = {lead.phone} if lead.phone else set()
    verified: set[str] = set()
    for (data,) in given:
        if phone := data.get("phone"):
            every.add(phone)
            if data.get("how") == "shared":
                verified.add(phone)
    return every, verified


async def matches(session: AsyncSession, lead: Lead) -> list[Match]:
    """Other leads a verified phone says are this person."""
    mine, my_verified = await phones(session, lead)
    if not mine:
        return []
    others = await session.scalars(
        select(Lead)
        .where(Lead.id != lead.id, Lead.id.in_(_leads_with_any_of(mine)))
        .order_by(Lead.id)
    )
    found = []
    for other in others:
        theirs, their_verified = await phones(session, other)
        shared = (my_verified & theirs) | (their_verified & mine)
        if shared:
            found.append(Match(other, min(shared)))
    return found


async def merge(session: AsyncSession, keep: Lead, other: Lead, by: str, now: datetime) -> str:
    """Move everything of ``other`` to ``keep`` and delete ``other``; the phone that
    proved it. Checked again here: a form can be replayed after the data changed."""
    proof = next((m.phone for m in await matches(session, keep) if m.lead.id == other.id), None)
    if proof is None:
        raise NotTheSamePerson(f"no verified phone ties lead {other.id} to lead {keep.id}")
    for table in MOVED:
        await session.execute(
            update(table).where(table.lead_id == other.id).values(lead_id=keep.id)
        )
    _combine(keep, other)
    touchpoints.record_event(
        session, keep, "merged", {"from_lead": other.id, "by": by, "phone": proof}, at=now
    )
    await session.flush()
    await session.execute(delete(Lead).where(Lead.id == other.id))
    session.expunge(other)
    timeline = await leads.timeline(session, keep.id)
    keep.score = scoring.score_lead(keep, scoring.inbound_of(timeline), now).total
    return proof


def _combine(keep: Lead, other: Lead) -> None:
    """What the lead knows is what either knew; the journey is the further one."""
    keep.name = keep.name or other.name
    keep.phone = keep.phone or other.phone
    keep.email = keep.email or other.email
    keep.source = keep.source or other.source
    keep.language = keep.language or other.language
    keep.created_at = min(keep.created_at, other.created_at)
    keep.last_seen_at = max(keep.last_seen_at, other.last_seen_at)
    if journey.STAGES.index(other.stage) > journey.STAGES.index(keep.stage):
        keep.stage = other.stage


def _leads_with_any_of(phones: set[str]) -> CompoundSelect[int]:
    by_field = select(Lead.id).where(Lead.phone.in_(phones))
    by_contact = select(Touchpoint.lead_id).where(
        Touchpoint.kind == "contact", Touchpoint.data["phone"].as_string().in_(phones)
    )
    return by_field.union(by_contact)
