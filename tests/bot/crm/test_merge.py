"""Merging leads: offered only when a phone a channel vouched for ties them; then one
lead with everything of both."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import merge
from bot.storage.models import Booking, Conversation, Lead, Touchpoint

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PHONE = "+972525551234"


async def _lead(session: AsyncSession, channel: str, phone: str | None, how: str | None,
                stage: str = "awareness", name: str | None = None,
                days_ago: int = 0) -> Lead:  # fmt: skip
    """A lead with one conversation, a message, and the phone as the channel got it."""
    at = NOW - timedelta(days=days_ago)
    lead = Lead(stage=stage, phone=phone, name=name, created_at=at, last_seen_at=at)
    session.add(lead)
    await session.flush()
    conversation = Conversation(lead_id=lead.id, channel=channel, external_id=f"{lead.id}")
    session.add(conversation)
    await session.flush()
    session.add(Touchpoint(lead_id=lead.id, conversation_id=conversation.id, channel=channel,
                           direction="in", author="prospect", text=f"hello from {channel}",
                           intent="greet", created_at=at))  # fmt: skip
    if phone:
        data = {"phone": phone} | ({"how": how} if how else {})
        session.add(Touchpoint(lead_id=lead.id, conversation_id=conversation.id, channel=channel,
                               direction="event", author="prospect", kind="contact", data=data,
                               created_at=at))  # fmt: skip
    await session.flush()
    return lead


async def test_a_shared_phone_matches_the_same_phone_typed_elsewhere_and_typed_ones_do_not(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        telegram = await _lead(session, "telegram", PHONE, "shared")
        web = await _lead(session, "web", PHONE, None)
        api = await _lead(session, "api", PHONE, None)
        other = await _lead(session, "telegram", "+972525559999", "shared")
        nobody = await _lead(session, "web", None, None)

        assert [m.lead.id for m in await merge.matches(session, telegram)] == [web.id, api.id]
        assert [(m.lead.id, m.phone) for m in await merge.matches(session, web)] == [
            (telegram.id, PHONE)
        ]
        assert [m.lead.id for m in await merge.matches(session, api)] == [telegram.id]
        assert await merge.matches(session, other) == []
        assert await merge.matches(session, nobody) == []
        with pytest.raises(merge.NotTheSamePerson):  # two typed phones prove nothing
            await merge.merge(session, web, api, "rita", NOW)


async def test_a_merge_moves_everything_to_one_lead_and_says_so_on_its_timeline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        web = await _lead(session, "web", PHONE, None, stage="decision", days_ago=3)
        telegram = await _lead(session, "telegram", PHONE, "shared", name="Maya")
        session.add(Booking(lead_id=telegram.id, kind="test_drive", product_id="corolla",
                            branch_id="tlv", starts_at=NOW, ends_at=NOW,
                            token="t" * 43))  # fmt: skip
        await session.flush()
        web_id, telegram_id = web.id, telegram.id

        assert await merge.merge(session, telegram, web, "rita", NOW) == PHONE
        await session.commit()

    async with sessions() as session:
        assert await session.get(Lead, web_id) is None
        kept = await session.get(Lead, telegram_id)
        assert kept is not None
        assert (kept.name, kept.stage, kept.phone) == ("Maya", "decision", PHONE)
        assert kept.created_at == NOW - timedelta(days=3)  # the first time either was seen
        channels = await session.scalars(
            select(Conversation.channel).where(Conversation.lead_id == telegram_id)
        )
        assert sorted(channels) == ["telegram", "web"]
        said = await session.scalars(
            select(Touchpoint.text).where(
                Touchpoint.lead_id == telegram_id, Touchpoint.direction == "in"
            )
        )
        assert sorted(said) == ["hello from telegram", "hello from web"]
        merged = await session.scalar(select(Touchpoint).where(Touchpoint.kind == "merged"))
        assert merged is not None and merged.lead_id == telegram_id
        assert merged.data == {"from_lead": web_id, "by": "rita", "phone": PHONE}
        left = await session.scalar(
            select(func.count()).select_from(Touchpoint).where(Touchpoint.lead_id == web_id)
        )
        assert left == 0
