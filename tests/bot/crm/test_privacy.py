"""A lead's export holds everything we store about them; erasing leaves nothing."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import privacy
from bot.storage.models import (
    AuditEvent,
    Booking,
    Conversation,
    FollowUp,
    Handoff,
    Lead,
    Touchpoint,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TABLES = (Lead, Conversation, Touchpoint, Booking, FollowUp, Handoff)


async def _everything(session: AsyncSession) -> Lead:
    """A lead with a row in every table that holds a lead's data."""
    lead = Lead(name="Dana", phone="+40721000111", language="ro")
    session.add(lead)
    await session.flush()
    conversation = Conversation(lead_id=lead.id, channel="web", external_id=f"visitor-{lead.id}")
    session.add(conversation)
    await session.flush()
    inbound = Touchpoint(lead_id=lead.id, conversation_id=conversation.id, channel="web",
                         direction="in", author="prospect", text="Vreau un test drive",
                         created_at=NOW)  # fmt: skip
    booking = Booking(lead_id=lead.id, kind="test_drive", product_id="corolla", branch_id="tlv",
                      starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1),
                      unit=lead.id, token=f"{lead.id:043d}")  # fmt: skip
    handoff = Handoff(lead_id=lead.id, conversation_id=conversation.id, reason="asked")
    session.add_all([inbound, booking, handoff])
    await session.flush()
    session.add(FollowUp(lead_id=lead.id, booking_id=booking.id, kind="reminder",
                         key=f"r-{lead.id}",
                         due_at=NOW + timedelta(hours=20)))  # fmt: skip
    await session.flush()
    return lead


async def _count(session: AsyncSession, table: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_the_export_holds_every_row_about_the_lead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        lead = await _everything(session)
        await session.commit()
        exported = await privacy.export_for(session, lead.id, "olga", NOW)
        assert await privacy.export_for(session, lead.id + 1, "olga", NOW) is None

    assert exported is not None
    assert exported["lead"]["name"] == "Dana"
    assert [t["text"] for t in exported["lead"]["touchpoints"]] == ["Vreau un test drive"]
    assert [c["external_id"] for c in exported["conversations"]] == [f"visitor-{lead.id}"]
    assert len(exported["bookings"]) == len(exported["handoffs"]) == 1
    assert [f["kind"] for f in exported["followups"]] == ["reminder"]
    async with sessions() as session:
        audit = (await session.scalars(select(AuditEvent))).all()
        assert [(a.actor, a.action, a.subject) for a in audit] == [
            ("olga", "lead_exported", f"lead {lead.id}")
        ]


async def test_erasing_a_lead_leaves_no_row_of_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        lead = await _everything(session)
        keep = await _everything(session)  # someone else, untouched
        await session.commit()
        counts = {t: await _count(session, t) for t in TABLES}
        await privacy.erase(session, lead)
        await session.commit()
        after = {t: await _count(session, t) for t in TABLES}
        assert after == {t: n // 2 for t, n in counts.items()}
        assert await session.get(Lead, keep.id) is not None
