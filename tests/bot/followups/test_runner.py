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
from bot.followups import nps, schedule
from bot.followups.runner import MAX_ATTEMPTS, RETRY_AFTER, Runner
from bot.storage.models import Booking, Conversation, FollowUp, Lead, Touchpoint


class Outbox:
    """A channel sender that records what it was given; can be told to fail or be away."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutboundMessage]] = []
        self.ids: list[int] = []
        self.failing = False
        self.connected = True

    async def __call__(
        self, conversation: Conversation, message: OutboundMessage, reply_id: int
    ) -> bool:
        if self.failing:
            raise ConnectionError("channel down")
        self.sent.append((conversation.external_id, message))
        self.ids.append(reply_id)
        return self.connected


async def booked_lead(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock, days: int = 2
) -> Booking:
    """A lead who chatted on the web (in Hebrew) and booked a test drive ``days`` ahead."""
    async with sessions() as session:
        conversation = await leads.conversation_for(
            session, "web", "visitor-1234567890", clock.now()
        )
        conversation.lead.language = "he"
        await session.flush()
        touchpoints.record(
            session, conversation, direction="in", author="prospect", text="hi", at=clock.now()
        )
        haifa, rav4 = dealer.find_branch("haifa"), dealer.find_product("rav4")
        assert haifa is not None and rav4 is not None
        wanted = clock.now() + timedelta(days=days)
        [start] = await availability.nearest_free(session, dealer, haifa, rav4, wanted, wanted, 1)
        made = await bookings.book(
            session, dealer, conversation.lead, branch_id="haifa", product_id="rav4",
            start=start, now=clock.now(), language="he", conversation=conversation,
        )  # fmt: skip
        await session.flush()
        schedule.schedule_booking(session, made, clock.now())
        await session.commit()
        return made


def runner(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock, out: Outbox
) -> Runner:
    return Runner(sessions, Catalog.load(dealer, "en"), clock, {"web": out})


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
    assert question is not None and (question.status, question.data["score"]) == (
        "answered",
        score,
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
        bookings.cancel(session, lead, row, at=clock.now())
        await schedule.cancel_for_booking(session, made.id)
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
    clock.advance(RETRY_AFTER)
    [sent] = await runner(sessions, dealer, clock, out).run_due()
    assert sent.key == f"reminder:{second.id}" and len(out.sent) == 1


async def test_one_nudge_for_a_booking_left_half_way_and_it_waits_when_away(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    async with sessions() as session:
        conversation = await leads.conversation_for(
            session, "web", "visitor-1234567890", clock.now()
        )
        await session.flush()
        await schedule.nudge_later(session, conversation.lead_id, clock.now())
        await session.commit()
        lead_id = conversation.lead_id
    out = Outbox()
    out.connected = False
    clock.advance(schedule.NUDGE_AFTER + timedelta(minutes=1))
    [nudge] = await runner(sessions, dealer, clock, out).run_due()
    assert nudge.kind == "nudge" and out.sent[0][1].buttons[0].payload == "/book_appointment"
    async with sessions() as session:
        touchpoint = await session.scalar(
            select(Touchpoint).where(Touchpoint.kind == "followup_nudge")
        )
        assert touchpoint is not None and touchpoint.status == "queued"  # shown on the next visit
        await schedule.nudge_later(session, lead_id, clock.now())  # abandoned again
        await session.commit()
    clock.advance(schedule.NUDGE_AFTER * 2)
    assert await runner(sessions, dealer, clock, out).run_due() == []  # one nudge a week at most


def test_nps_answers_in_any_digits() -> None:
    assert [nps.score_in(t) for t in ("9", "۱۰", "٧", "8/10", "nps:3", "10!")] == [
        9,
        10,
        7,
        8,
        3,
        10,
    ]
    assert [nps.score_in(t) for t in ("11", "9 am", "call me at 9", "")] == [None] * 4


async def claimed_reminder(
    sessions: async_sessionmaker[AsyncSession],
    dealer: Profile,
    clock: ManualClock,
    attempts: int,
    claim_left: timedelta,
) -> None:
    """A booked lead whose due reminder a runner claimed (and then died, say)."""
    made = await booked_lead(sessions, dealer, clock)
    clock.set(made.starts_at - timedelta(hours=23))
    async with sessions() as session:
        reminder = await session.scalar(select(FollowUp).where(FollowUp.kind == "reminder"))
        assert reminder is not None
        reminder.status, reminder.attempts = "sending", attempts
        reminder.claimed_until = clock.now() + claim_left
        await session.commit()


async def test_a_follow_up_whose_runner_died_mid_send_is_sent_by_the_next_run(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    """A runner claimed the reminder and died: after its claim runs out, it goes out once."""
    await claimed_reminder(sessions, dealer, clock, attempts=1, claim_left=timedelta(minutes=1))
    out = Outbox()
    assert await runner(sessions, dealer, clock, out).run_due() == []  # still claimed
    clock.advance(timedelta(minutes=2))
    [sent] = await runner(sessions, dealer, clock, out).run_due()
    assert (sent.kind, sent.status, sent.attempts) == ("reminder", "sent", 2)
    assert len(out.sent) == 1
    assert await runner(sessions, dealer, clock, out).run_due() == []


async def test_a_follow_up_that_keeps_failing_is_marked_failed_never_left_sending(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    made = await booked_lead(sessions, dealer, clock)
    clock.set(made.starts_at - timedelta(hours=23))
    out = Outbox()
    out.failing = True
    for _ in range(MAX_ATTEMPTS):
        [tried] = await runner(sessions, dealer, clock, out).run_due()
        assert tried.status in {"pending", "failed"}
        clock.advance(RETRY_AFTER)
    async with sessions() as session:
        reminder = await session.scalar(select(FollowUp).where(FollowUp.kind == "reminder"))
        stored = list(
            await session.scalars(select(Touchpoint).where(Touchpoint.kind == "followup_reminder"))
        )
    assert reminder is not None and (reminder.status, reminder.attempts) == (
        "failed", MAX_ATTEMPTS
    )  # fmt: skip
    assert "channel down" in reminder.data["error"]
    assert [t.status for t in stored] == ["failed"]  # one message stored, marked for the team
    assert await runner(sessions, dealer, clock, out).run_due() == []


async def test_a_follow_up_that_cannot_be_written_is_retried_then_failed(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    """A catalog without the reminder's text (a broken custom profile) fails the row."""
    made = await booked_lead(sessions, dealer, clock)
    clock.set(made.starts_at - timedelta(hours=23))
    broken = Runner(sessions, Catalog(dealer, {"en": {}}, "en"), clock, {"web": Outbox()})
    for _ in range(MAX_ATTEMPTS):
        await broken.run_due()
        clock.advance(RETRY_AFTER)
    async with sessions() as session:
        reminder = await session.scalar(select(FollowUp).where(FollowUp.kind == "reminder"))
    assert reminder is not None and reminder.status == "failed"
    assert "KeyError" in reminder.data["error"]


async def test_a_stale_claim_of_a_row_out_of_attempts_is_failed(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    await claimed_reminder(
        sessions, dealer, clock, attempts=MAX_ATTEMPTS, claim_left=timedelta(seconds=-1)
    )
    out = Outbox()
    assert await runner(sessions, dealer, clock, out).run_due() == []
    async with sessions() as session:
        assert await session.scalar(
            select(FollowUp.status).where(FollowUp.kind == "reminder")
        ) == "failed"  # fmt: skip
    assert out.sent == []
