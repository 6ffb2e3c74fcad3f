"""Follow-ups: messages the bot sends on its own, at the right time, through the lead's channel.

- a **reminder** the day before a booking (two hours before, when it was booked late);
- the **NPS question** ("0-10, would you recommend us?") a few hours after it;
- one gentle **nudge** when a booking was left half-way.

They are rows in the database, so a restart loses none, and a runner in the
app sends the due ones every few seconds. An NPS answer is stored on its row
and on the lead's timeline, and moves the journey: retention, or advocacy for
a 9 or 10. Delivery goes through a per-channel sender (web socket, Telegram);
when the prospect is not connected, the message waits in the conversation.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import texts
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation.messages import Button, OutboundMessage
from bot.crm import journey, touchpoints
from bot.crm.contacts import ascii_digits
from bot.storage.models import Booking, Conversation, FollowUp, Lead, Touchpoint

log = structlog.get_logger(__name__)

REMINDER_BEFORE = timedelta(hours=24)
LATE_REMINDER_BEFORE = timedelta(hours=2)  # for bookings made less than a day ahead
NPS_AFTER = timedelta(hours=3)  # after the appointment ends
NPS_ANSWER_WITHIN = timedelta(days=14)
NUDGE_AFTER = timedelta(hours=2)
NUDGE_AT_MOST_EVERY = timedelta(days=7)
RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
PROMOTER = 9
NPS_ANSWER = re.compile(r"^\s*(?:nps:)?(10|[0-9])\s*(?:/\s*10)?\s*[.!]?\s*$")

# Delivers a message on one channel; False means "not connected now, it waits".
Sender = Callable[[Conversation, OutboundMessage], Awaitable[bool]]


def schedule_booking(session: AsyncSession, booking: Booking, now: datetime) -> None:
    """A reminder before the booking and the NPS question after it (caller commits)."""
    reminder = booking.starts_at - REMINDER_BEFORE
    if reminder < now:
        reminder = booking.starts_at - LATE_REMINDER_BEFORE
    if reminder >= now:
        _add(session, booking.lead_id, "reminder", f"reminder:{booking.id}", reminder, booking)
    _add(session, booking.lead_id, "nps", f"nps:{booking.id}", booking.ends_at + NPS_AFTER, booking)


async def cancel_for_booking(session: AsyncSession, booking_id: int) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.booking_id == booking_id, FollowUp.status == "pending")
        .values(status="cancelled")
    )


async def nudge_later(session: AsyncSession, lead_id: int, now: datetime) -> None:
    """(Re)arm the nudge for a booking in progress; at most one a week per lead."""
    recent = await session.scalar(
        select(FollowUp.id).where(
            FollowUp.lead_id == lead_id,
            FollowUp.kind == "nudge",
            FollowUp.status == "sent",
            FollowUp.sent_at >= now - NUDGE_AT_MOST_EVERY,
        )
    )
    if recent is not None:
        return
    pending = await session.scalar(
        select(FollowUp).where(
            FollowUp.lead_id == lead_id, FollowUp.kind == "nudge", FollowUp.status == "pending"
        )
    )
    if pending is not None:
        pending.due_at = now + NUDGE_AFTER
    else:
        key = f"nudge:{lead_id}:{int(now.timestamp())}"
        _add(session, lead_id, "nudge", key, now + NUDGE_AFTER, None)


async def drop_nudge(session: AsyncSession, lead_id: int) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.lead_id == lead_id, FollowUp.kind == "nudge", FollowUp.status == "pending")
        .values(status="cancelled")
    )


def nps_score(text: str) -> int | None:
    """A bare 0-10 (any digits, "8/10", or the button's "nps:8"), else None."""
    match = NPS_ANSWER.match(ascii_digits(text))
    return int(match.group(1)) if match else None


async def open_nps_question(session: AsyncSession, lead_id: int, now: datetime) -> FollowUp | None:
    """The NPS question this lead was asked and has not answered yet, if recent."""
    query = (
        select(FollowUp)
        .where(
            FollowUp.lead_id == lead_id,
            FollowUp.kind == "nps",
            FollowUp.status == "sent",
            FollowUp.sent_at >= now - NPS_ANSWER_WITHIN,
        )
        .order_by(FollowUp.sent_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


def record_nps(
    session: AsyncSession,
    question: FollowUp,
    lead: Lead,
    score: int,
    conversation: Conversation,
) -> str:
    """Store the answer, move the journey; returns the catalog key of the thank-you."""
    question.status = "answered"
    question.data = question.data | {"score": score}
    touchpoints.record_event(
        session, lead, "nps", {"score": score, "booking_id": question.booking_id},
        conversation=conversation, author="prospect",
    )  # fmt: skip
    stage = "advocacy" if score >= PROMOTER else "retention"
    if lead.stage != stage:
        journey.record_change(session, lead, stage, f"nps: {score}", conversation)
    if score >= PROMOTER:
        return "followup.nps_promoter"
    return "followup.nps_passive" if score >= 7 else "followup.nps_detractor"


def _add(
    session: AsyncSession,
    lead_id: int,
    kind: str,
    key: str,
    due_at: datetime,
    booking: Booking | None,
) -> None:
    session.add(
        FollowUp(
            lead_id=lead_id,
            booking_id=booking.id if booking else None,
            kind=kind,
            key=key,
            due_at=due_at,
        )
    )


@dataclass
class Runner:
    """Sends the follow-ups that are due; ``run_due`` is safe to call from several replicas."""

    sessions: async_sessionmaker[AsyncSession]
    catalog: Catalog
    clock: Clock
    senders: dict[str, Sender]

    async def run_due(self, limit: int = 50) -> list[FollowUp]:
        """Send every follow-up due now; returns the ones handled (sent or skipped)."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = list(
                await session.scalars(
                    select(FollowUp.id)
                    .where(FollowUp.status == "pending", FollowUp.due_at <= now)
                    .order_by(FollowUp.due_at)
                    .limit(limit)
                )
            )
        handled = []
        for followup_id in due:
            followup = await self._send_one(followup_id, now)
            if followup is not None:
                handled.append(followup)
        return handled

    async def _send_one(self, followup_id: int, now: datetime) -> FollowUp | None:
        async with self.sessions() as session:
            # Claim the row first: another replica may be sending the same one.
            claimed = await session.execute(
                update(FollowUp)
                .where(FollowUp.id == followup_id, FollowUp.status == "pending")
                .values(status="sending", attempts=FollowUp.attempts + 1)
            )
            await session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            followup = await session.get(FollowUp, followup_id)
            assert followup is not None
            lead = await session.get(Lead, followup.lead_id)
            booking = (
                await session.get(Booking, followup.booking_id) if followup.booking_id else None
            )
            conversation = await self._channel_of(session, followup.lead_id)
            message = await self._message(session, followup, lead, booking, now)
            if message is None or conversation is None or lead is None:
                followup.status = "skipped"
                await session.commit()
                return followup
            outbound = touchpoints.record(
                session, conversation, direction="out", author="bot", text=message.text,
                kind=f"followup_{followup.kind}", language=lead.language, stage=lead.stage,
                data={"followup_id": followup.id, "reply": message.as_dict()},
            )  # fmt: skip
            followup.status, followup.sent_at = "sent", now
            await session.commit()
            await self._deliver(session, followup, conversation, outbound, message)
            return followup

    async def _deliver(
        self,
        session: AsyncSession,
        followup: FollowUp,
        conversation: Conversation,
        outbound: Touchpoint,
        message: OutboundMessage,
    ) -> None:
        sender = self.senders.get(conversation.channel)
        try:
            delivered = await sender(conversation, message) if sender else False
        except Exception as error:  # the channel failed: try again later, a few times
            log.warning("followup.delivery_failed", followup_id=followup.id, error=repr(error))
            outbound.status = "failed"
            retry = followup.attempts < MAX_ATTEMPTS
            followup.status = "pending" if retry else "failed"
            followup.due_at = self.clock.now() + RETRY_AFTER
            await session.commit()
            return
        outbound.status = "done" if delivered else "queued"
        await session.commit()

    @staticmethod
    async def _channel_of(session: AsyncSession, lead_id: int) -> Conversation | None:
        """The conversation the lead wrote in last: that is the channel they use."""
        query = (
            select(Conversation)
            .join(Touchpoint, Touchpoint.conversation_id == Conversation.id)
            .where(Touchpoint.lead_id == lead_id, Touchpoint.direction == "in")
            .order_by(Touchpoint.id.desc())
            .limit(1)
        )
        found = await session.scalar(query)
        if found is None:
            query = select(Conversation).where(Conversation.lead_id == lead_id).limit(1)
            found = await session.scalar(query)
        return found

    async def _message(
        self,
        session: AsyncSession,
        followup: FollowUp,
        lead: Lead | None,
        booking: Booking | None,
        now: datetime,
    ) -> OutboundMessage | None:
        """The words, or None when the follow-up no longer makes sense."""
        language = (lead.language if lead else None) or self.catalog.default_language
        say = self.catalog.render
        if followup.kind == "reminder":
            if booking is None or booking.status != "confirmed" or booking.starts_at <= now:
                return None
            params = texts.params(self.catalog, booking, language)
            return OutboundMessage(say("followup.reminder", language, **params))
        if followup.kind == "nps":
            if booking is None or booking.status != "confirmed":
                return None
            buttons = tuple(Button(str(n), f"nps:{n}") for n in range(11))
            return OutboundMessage(say("followup.nps", language), buttons)
        if followup.kind == "nudge":
            booked_since = await session.scalar(
                select(Booking.id).where(
                    Booking.lead_id == followup.lead_id,
                    Booking.created_at >= followup.created_at,
                )
            )
            if booked_since is not None:
                return None
            button = Button(say("booking.continue", language), "/book_appointment")
            return OutboundMessage(say("followup.nudge", language), (button,))
        return None
