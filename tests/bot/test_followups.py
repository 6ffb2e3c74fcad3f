"""Reminders, the NPS question and nudges, sent at the right times on a hand-set clock."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import availability, bookings
from bot.clock import ManualClock
from bot.content.catalog import Catalog
from bot.content.profile import Profile
from bot.conversation.messages import InboundMessage, OutboundMessage
from bot.conversation.service import ConversationService
from bot.crm import leads, touchpoints
from bot.followups import followups
from bot.storage.models import Booking, Conversation, FollowUp, Lead, Touchpoint


class Outbox:
    """A channel sender that records what it was given; can be told to fail or be away."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutboundMessage]] = []
        self.failing = False
        self.connected = True

    async def __call__(self, conversation: Conversation, message: OutboundMessage) -> bool:
        if self.failing:
            raise ConnectionError("channel down")
        self.sent.append((conversation.external_id, message))
        return self.connected


async def booked_lead(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock, days: int = 2
) -> Booking:
    """A lead who chatted on the web (in Hebrew) and booked a test drive ``days`` ahead."""
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "web", "visitor-1234567890")
        conversation.lead.language = "he"
        await session.flush()
        touchpoints.record(session, conversation, direction="in", author="prospect", text="hi")
        haifa, rav4 = dealer.find_branch("haifa"), dealer.find_product("rav4")
        assert haifa is not None and rav4 is not None
        wanted = clock.now() + timedelta(days=days)
        [start] = await availability.nearest_free(session, dealer, haifa, rav4, wanted, wanted, 1)
        made = await bookings.book(
            session, dealer, conversation.lead, branch_id="haifa", product_id="rav4",
            start=start, now=clock.now(), language="he", conversation=conversation,
        )  # fmt: skip
        await session.flush()
        followups.schedule_booking(session, made, clock.now())
        await session.commit()
        return made


def runner(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock, out: Outbox
) -> followups.Runner:
    return followups.Runner(sessions, Catalog.load(dealer, "en"), clock, {"web": out})


async def test_reminder_a_day_before_and_nps_after_in_the_leads_language(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    made = await booked_lead(sessions, dealer, clock)
    out = Outbox()
    assert await runner(sessions, dealer, clock, out).run_due() == []  # nothing due yet

    clock.set(made.starts_at - timedelta(hours=24, minutes=1))
    assert await runner(sessions, dealer, clock, out).run_due() == []
    clock.advance(timedelta(minutes=2))
    [reminder] = await runner(sessions, dealer, clock, out).run_due()  # a new runner: a restart
    assert reminder.kind == "reminder" and len(out.sent) == 1
    text = out.sent[0][1].text
    assert "RAV4" in text and "Haifa" in text
    assert any("\u0590" <= ch <= "\u05ff" for ch in text)  # Hebrew, the lead's language

    clock.set(made.ends_at + timedelta(hours=2))
    assert await runner(sessions, dealer, clock, out).run_due() == []  # NPS comes 3 h after
    clock.advance(timedelta(hours=1, minutes=1))
    [nps] = await runner(sessions, dealer, clock, out).run_due()
    assert nps.kind == "nps"
    assert [b.payload for b in out.sent[1][1].buttons] == [f"nps:{n}" for n in range(11)]
    assert await runner(sessions, dealer, clock, out).run_due() == []  # sent once only


@pytest.mark.parametrize(
    ("answer", "score", "stage", "thanks"),
    [
        ("۹", 9, "advocacy", "followup.nps_promoter"),
        ("nps:4", 4, "retention", "followup.nps_detractor"),
    ],
)
async def test_nps_answer_is_stored_and_moves_the_journey(
    sessions: async_sessionmaker[AsyncSession],
    dealer: Profile,
    clock: ManualClock,
    service: ConversationService,
    answer: str,
    score: int,
    stage: str,
    thanks: str,
) -> None:
    made = await booked_lead(sessions, dealer, clock, days=1)
    clock.set(made.ends_at + timedelta(hours=4))
    service.clock = clock
    await runner(sessions, dealer, clock, Outbox()).run_due()
    # Rasa is down in this fixture: the answer must not need it.
    result = await service.handle(InboundMessage("web", "visitor-1234567890", answer))
    assert result.stage == stage
    assert result.replies[0].text == Catalog.load(dealer, "en").render(thanks, "he")
    async with sessions() as session:
        question = await session.scalar(select(FollowUp).where(FollowUp.kind == "nps"))
        events = list(await session.scalars(select(Touchpoint).where(Touchpoint.kind == "nps")))
    assert question is not None and (question.status, question.data) == (
        "answered",
        {"score": score},
    )
    assert [e.data["score"] for e in events] == [score]
    # A later number is just a message again (here: Rasa is down, so the polite failure).
    later = await service.handle(InboundMessage("web", "visitor-1234567890", "9"))
    assert later.stage == stage and later.replies[0].text != result.replies[0].text


async def test_cancelled_booking_gets_no_reminder_and_a_failing_channel_is_retried(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    made = await booked_lead(sessions, dealer, clock)
    async with sessions() as session:
        lead = await session.get(Lead, made.lead_id)
        row = await session.get(Booking, made.id)
        assert lead is not None and row is not None
        bookings.cancel(session, lead, row)
        await followups.cancel_for_booking(session, made.id)
        await session.commit()
    clock.set(made.ends_at + timedelta(days=1))
    out = Outbox()
    assert await runner(sessions, dealer, clock, out).run_due() == []
    assert out.sent == []

    second = await booked_lead(sessions, dealer, clock)
    clock.set(second.starts_at - timedelta(hours=23))
    out.failing = True
    await runner(sessions, dealer, clock, out).run_due()
    async with sessions() as session:
        reminder = await session.scalar(
            select(FollowUp).where(FollowUp.key == f"reminder:{second.id}")
        )
        assert reminder is not None and (reminder.status, reminder.attempts) == ("pending", 1)
    out.failing = False
    clock.advance(followups.RETRY_AFTER)
    [sent] = await runner(sessions, dealer, clock, out).run_due()
    assert sent.key == f"reminder:{second.id}" and len(out.sent) == 1


async def test_one_nudge_for_a_booking_left_half_way_and_it_waits_when_away(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "web", "visitor-1234567890")
        await session.flush()
        await followups.nudge_later(session, conversation.lead_id, clock.now())
        await session.commit()
        lead_id = conversation.lead_id
    out = Outbox()
    out.connected = False
    clock.advance(followups.NUDGE_AFTER + timedelta(minutes=1))
    [nudge] = await runner(sessions, dealer, clock, out).run_due()
    assert nudge.kind == "nudge" and out.sent[0][1].buttons[0].payload == "/book_appointment"
    async with sessions() as session:
        touchpoint = await session.scalar(
            select(Touchpoint).where(Touchpoint.kind == "followup_nudge")
        )
        assert touchpoint is not None and touchpoint.status == "queued"  # shown on the next visit
        await followups.nudge_later(session, lead_id, clock.now())  # abandoned again
        await session.commit()
    clock.advance(followups.NUDGE_AFTER * 2)
    assert await runner(sessions, dealer, clock, out).run_due() == []  # one nudge a week at most


def test_nps_answers_in_any_digits() -> None:
    assert [followups.nps_score(t) for t in ("9", "۱۰", "٧", "8/10", "nps:3", "10!")] == [
        9,
        10,
        7,
        8,
        3,
        10,
    ]
    assert [followups.nps_score(t) for t in ("11", "9 am", "call me at 9", "")] == [None] * 4
