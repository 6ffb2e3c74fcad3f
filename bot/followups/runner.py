"""Sending the follow-ups that are due, through the channel the lead wrote in last.

Each row is claimed before it is sent (a conditional update), so several app
replicas never send one twice; the claim expires after ``CLAIM_FOR``, so a
runner that died mid-send leaves nothing "sending" for ever: another run takes
the row again. Handoff timers ride on the same rows: a reminder to the reps of a
handoff nobody took, the honest word to the prospect, and in the end its expiry. A row that fails
(its channel, or its own rendering) is retried
every ``RETRY_AFTER``, ``MAX_ATTEMPTS`` times in all, then marked ``failed``
where the team sees it. The message is stored as an outbound touchpoint
(``queued``) before it goes out, once: a retry delivers that same touchpoint.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import texts
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation import outbox
from bot.conversation.messages import Button, OutboundMessage
from bot.conversation.outbox import Sender
from bot.handoff.hours import call_back
from bot.storage.models import Booking, Conversation, FollowUp, Handoff, Lead, Touchpoint

log = structlog.get_logger(__name__)

CLAIM_FOR = timedelta(minutes=2)
RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 5
REPS_TIMERS = frozenset({"handoff_remind", "handoff_expire"})


@dataclass
class Runner:
    """Sends the follow-ups that are due; ``run_due`` is safe to call from several replicas."""

    sessions: async_sessionmaker[AsyncSession]
    catalog: Catalog
    clock: Clock
    senders: dict[str, Sender]
    # A handoff timer that is no message to the lead (bot.handoff: the reps' reminder,
    # the expiry), given its kind and the handoff's id; True when it did something.
    handoff_timer: Callable[[str, int], Awaitable[bool]] | None = None

    async def run_due(self, limit: int = 50) -> list[FollowUp]:
        """Send every follow-up due now (and every claim that ran out); returns those handled."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = list(await session.scalars(select(FollowUp.id).where(_takeable(now))
                                             .order_by(FollowUp.due_at).limit(limit)))  # fmt: skip
        handled = []
        for followup_id in due:
            if not await self._claim(followup_id, now):
                continue
            try:
                followup = await self._send(followup_id, now)
            except Exception as error:  # the channel, the database, a row that cannot render
                log.warning("followup.failed", followup_id=followup_id, error=repr(error))
                followup = await self._give_back(followup_id, error)
            handled.append(followup)
        return handled

    async def _claim(self, followup_id: int, now: datetime) -> bool:
        async with self.sessions() as session:
            await session.execute(  # a row whose runners kept dying is failed, not retried
                update(FollowUp)
                .where(FollowUp.id == followup_id, _expired(now),
                       FollowUp.attempts >= MAX_ATTEMPTS)
                .values(status="failed", claimed_until=None)
            )  # fmt: skip
            claimed = await session.execute(
                update(FollowUp)
                .where(FollowUp.id == followup_id, _takeable(now),
                       FollowUp.attempts < MAX_ATTEMPTS)
                .values(status="sending", attempts=FollowUp.attempts + 1,
                        claimed_until=now + CLAIM_FOR)
            )  # fmt: skip
            await session.commit()
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    async def _send(self, followup_id: int, now: datetime) -> FollowUp:
        """Store the message (once), deliver it, and mark the row sent."""
        async with self.sessions() as session:
            followup = await session.get(FollowUp, followup_id)
            assert followup is not None
            if followup.kind in REPS_TIMERS:
                return await self._handoff_timer(session, followup, now)
            lead = await session.get(Lead, followup.lead_id)
            conversation = await self._channel_of(session, followup.lead_id)
            message = await self._message(session, followup, lead, now)
            if message is None or conversation is None or lead is None:
                followup.status, followup.claimed_until = "skipped", None
                await session.commit()
                return followup
            outbound = await self._stored(session, followup, conversation, lead, message, now)
            await session.commit()
            sender = self.senders.get(conversation.channel)
            delivery = await sender(conversation, message, outbound.id) if sender else "queued"
            if delivery == "delivered":
                outbound.status = "delivered"
            followup.status, followup.sent_at, followup.claimed_until = "sent", now, None
            await session.commit()
            return followup

    async def _handoff_timer(
        self, session: AsyncSession, followup: FollowUp, now: datetime
    ) -> FollowUp:
        """Not a message to the lead: the handoff service does what the timer says."""
        await session.commit()  # nothing held open while the reps' desk is called
        done = False
        if self.handoff_timer is not None and followup.handoff_id is not None:
            done = await self.handoff_timer(followup.kind, followup.handoff_id)
        followup.status = "sent" if done else "skipped"
        followup.sent_at, followup.claimed_until = now, None
        await session.commit()
        return followup

    async def _stored(
        self,
        session: AsyncSession,
        followup: FollowUp,
        conversation: Conversation,
        lead: Lead,
        message: OutboundMessage,
        now: datetime,
    ) -> Touchpoint:
        """The follow-up's outbound touchpoint: made on the first attempt, reused after."""
        existing = followup.data.get("touchpoint_id")
        found = await session.get(Touchpoint, existing) if existing else None
        if found is not None:
            return found
        outbound = outbox.store(
            session, conversation, message, now, data={"followup_id": followup.id},
            kind=f"followup_{followup.kind}", language=lead.language, stage=lead.stage,
        )  # fmt: skip
        await session.flush()
        followup.data = followup.data | {"touchpoint_id": outbound.id}
        return outbound

    async def _give_back(self, followup_id: int, error: Exception) -> FollowUp:
        """Release the claim: try again later, or, after the last attempt, mark it failed
        (its message too), so the team sees who was not reminded."""
        async with self.sessions() as session:
            followup = await session.get(FollowUp, followup_id)
            assert followup is not None
            last = followup.attempts >= MAX_ATTEMPTS
            followup.status = "failed" if last else "pending"
            followup.due_at = self.clock.now() + RETRY_AFTER
            followup.claimed_until = None
            followup.data = followup.data | {"error": repr(error)[:500]}
            stored = followup.data.get("touchpoint_id")
            outbound = await session.get(Touchpoint, stored) if stored else None
            if last and outbound is not None and outbound.status == "queued":
                outbound.status = "failed"
            await session.commit()
            return followup

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
        self, session: AsyncSession, followup: FollowUp, lead: Lead | None, now: datetime
    ) -> OutboundMessage | None:
        """The words, or None when the follow-up no longer makes sense."""
        language = (lead.language if lead else None) or self.catalog.default_language
        say = self.catalog.render
        booking = await session.get(Booking, followup.booking_id) if followup.booking_id else None
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
        if followup.kind == "handoff_give_up":
            handoff = await session.get(Handoff, followup.handoff_id)
            if handoff is None or handoff.status != "waiting":
                return None
            button = call_back(self.catalog, language)
            return OutboundMessage(say("handoff.gave_up", language), (button,))
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


def _expired(now: datetime) -> ColumnElement[bool]:
    return and_(FollowUp.status == "sending", FollowUp.claimed_until < now)


def _takeable(now: datetime) -> ColumnElement[bool]:
    """Due and not claimed, or claimed by a runner whose claim ran out."""
    return or_(and_(FollowUp.status == "pending", FollowUp.due_at <= now), _expired(now))
