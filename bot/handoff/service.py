"""The handoff service: what reps do (take, answer, hand back) and what the team is told.

Used by every place reps work from: the Telegram group, the ops API, the
console. Each action is one transaction; messages to the prospect are stored
first (``queued``) and then delivered on the prospect's channel, and the
reps' desk is told after the commit, so a desk or channel that fails never
loses the record.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import texts
from bot.clock import Clock
from bot.conversation import outbox
from bot.conversation.messages import Button, OutboundMessage
from bot.conversation.wording import Wording
from bot.crm import leads, touchpoints
from bot.dialogue.rasa_client import RasaClient, RasaUnavailable
from bot.handoff import card as cards
from bot.handoff import hours, records
from bot.handoff.desk import Desk, NoDesk
from bot.storage.models import Conversation, FollowUp, Handoff, Lead, Touchpoint

log = structlog.get_logger(__name__)
RATINGS = range(1, 6)


class HandoffNotFound(Exception):
    pass


class TakenByOther(Exception):
    """Another rep owns this handoff."""

    def __init__(self, rep: str | None) -> None:
        super().__init__(f"{rep} has it")
        self.rep = rep


class HandoffClosed(Exception):
    pass


@dataclass(frozen=True)
class Claim:
    won: bool
    card: cards.Card


@dataclass(frozen=True)
class Said:
    touchpoint_id: int
    delivery: outbox.Delivery
    card: cards.Card


@dataclass(frozen=True)
class Timing:
    escalate_after: timedelta
    give_up_after: timedelta
    expire_after: timedelta = timedelta(days=7)


class HandoffService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        wording: Wording,
        rasa: RasaClient,
        clock: Clock,
        *,
        base_url: str,
        timing: Timing,
        senders: dict[str, outbox.Sender] | None = None,
        desk: Desk | None = None,
    ) -> None:
        self.sessions = sessions
        self.wording = wording
        self.rasa = rasa
        self.clock = clock
        self.base_url = base_url
        self.timing = timing
        self.senders = senders or {}
        self.desk: Desk = desk or NoDesk()

    # -- inside a prospect's turn (bot.handoff.triggers) ------------------------------

    def promise(self, language: str, stage: str) -> OutboundMessage:
        """What the prospect is told: a person within minutes, or honestly when."""
        catalog, now = self.wording.catalog, self.clock.now()
        if hours.open_now(catalog.profile, now):
            return self.wording.say("handoff.coming", language, stage)
        opening = hours.next_opening(catalog.profile, now)
        opens = texts.format_when(catalog, opening[0], opening[1].timezone, language) if (
            opening) else "?"  # fmt: skip
        text = self.wording.say("handoff.coming_later", language, stage, opens=opens).text
        button = hours.call_back(catalog, language)
        return OutboundMessage(text, (button,), key="handoff.coming_later")

    def schedule_timers(self, session: AsyncSession, handoff: Handoff, now: datetime) -> None:
        """A reminder to the reps, (while the team is in) the honest word to the
        prospect, and the expiry: rows in the follow-ups table, so a restart loses none."""
        timing = self.timing
        session.add(self._timer(handoff, "handoff_remind", now + timing.escalate_after, now))
        if hours.open_now(self.wording.catalog.profile, now):
            session.add(self._timer(handoff, "handoff_give_up", now + timing.give_up_after, now))
        session.add(self._timer(handoff, "handoff_expire", now + timing.expire_after, now))

    async def announce(self, handoff_id: int) -> None:
        await self.desk.announce(await self.card(handoff_id))

    async def relay(self, handoff_id: int, touchpoint_id: int) -> None:
        """The prospect's words, while a rep owns the conversation, to the reps' desk."""
        async with self.sessions() as session:
            said = await session.get(Touchpoint, touchpoint_id)
            handoff = await session.get(Handoff, handoff_id)
            if said is None or handoff is None:
                return
            view = await cards.build(session, handoff, self.base_url, self.clock.now())
        name = view["lead"]["name"] or f"#{view['lead']['id']}"
        await self.desk.relay(view, name, said.text or f"[{said.kind}]")

    # -- what reps do -----------------------------------------------------------------

    async def claim(self, handoff_id: int, rep: str, rep_key: str) -> Claim:
        now = self.clock.now()
        async with self.sessions() as session:
            handoff = await self._get(session, handoff_id)
            won = await records.claim(session, handoff_id, rep, rep_key, now)
            joined = None
            if won:
                joined = await self._joined(session, handoff, rep, now)
            await session.commit()
            view = await cards.build(session, handoff, self.base_url, now)
        if won:
            await self._deliver(handoff.conversation_id, joined)
            await self.desk.claimed(view)
        return Claim(won, view)

    async def say(self, handoff_id: int, rep: str, rep_key: str, text: str, key: str) -> Said:
        """A rep's words to the prospect, live on the prospect's channel. Answering a
        waiting handoff takes it; ``key`` makes a repeated delivery of the same rep
        message (a Telegram redelivery, an API retry) send it once."""
        now = self.clock.now()
        async with self.sessions() as session:
            handoff = await self._get(session, handoff_id)
            if handoff.status == "waiting":
                await records.claim(session, handoff_id, rep, rep_key, now)
                await session.refresh(handoff)
            if handoff.status != "claimed":
                raise HandoffClosed(f"handoff {handoff_id} is {handoff.status}")
            if handoff.rep_key != rep_key:
                raise TakenByOther(handoff.rep)
            sent = await touchpoints.by_key(session, handoff.conversation_id, key)
            if sent is None:
                sent = await self._rep_message(session, handoff, rep, text, key, now)
            await records.replied(session, handoff, now)
            await session.commit()
            view = await cards.build(session, handoff, self.base_url, now)
        delivery: outbox.Delivery = "delivered"
        if sent.status != "delivered":
            delivery = await self._deliver(handoff.conversation_id, sent.id)
        await self.desk.answered(view)
        return Said(sent.id, delivery, view)

    async def release(self, handoff_id: int, by: str, rep_key: str | None = None) -> cards.Card:
        """Return to bot: the dialogue starts afresh, and the prospect rates the help."""
        now = self.clock.now()
        async with self.sessions() as session:
            handoff = await self._get(session, handoff_id)
            if handoff.status not in records.OPEN:
                raise HandoffClosed(f"handoff {handoff_id} is {handoff.status}")
            if rep_key is not None and handoff.rep_key not in (None, rep_key):
                raise TakenByOther(handoff.rep)
            rep = handoff.rep or by
            await records.close(session, handoff, now, by=by)
            question = await self._rating_question(session, handoff, rep, now)
            await session.commit()
            view = await cards.build(session, handoff, self.base_url, now)
        try:  # no half-finished booking form survives the person's part of the chat
            await self.rasa.reset(str(handoff.conversation_id))
        except RasaUnavailable as error:
            log.warning("handoff.rasa_reset_failed", handoff_id=handoff_id, error=str(error))
        await self._deliver(handoff.conversation_id, question)
        await self.desk.released(view)
        return view

    async def on_timer(self, kind: str, handoff_id: int) -> bool:
        """A timer of bot.followups: the reps' reminder, or the expiry."""
        if kind == "handoff_expire":
            return await self.expire(handoff_id)
        return await self.remind(handoff_id)

    async def expire(self, handoff_id: int) -> bool:
        """Unclaimed for ``Timing.expire_after``: out of the queue, on the timeline."""
        now = self.clock.now()
        async with self.sessions() as session:
            expired = await records.expire(session, handoff_id, now)
            await session.commit()
            if not expired:
                return False
            handoff = await self._get(session, handoff_id)
            view = await cards.build(session, handoff, self.base_url, now)
        await self.desk.expired(view)
        return True

    async def remind(self, handoff_id: int) -> bool:
        """The escalation timer: True when the reps were reminded (still waiting)."""
        view = await self.card(handoff_id)
        if view["status"] != "waiting":
            return False
        await self.desk.remind(view)
        return True

    # -- reading ----------------------------------------------------------------------

    async def card(self, handoff_id: int) -> cards.Card:
        async with self.sessions() as session:
            handoff = await self._get(session, handoff_id)
            return await cards.build(session, handoff, self.base_url, self.clock.now())

    async def listing(
        self,
        statuses: tuple[str, ...],
        *,
        rep_key: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[cards.Card]:
        """Oldest first: the one waiting longest is the one to take."""
        now = self.clock.now()
        query = select(Handoff).where(Handoff.status.in_(statuses))
        if rep_key is not None:
            query = query.where(Handoff.rep_key == rep_key)
        order = Handoff.created_at.desc() if newest_first else Handoff.created_at
        async with self.sessions() as session:
            found = await session.scalars(query.order_by(order).limit(limit))
            return [await cards.build(session, h, self.base_url, now) for h in found]

    async def count(self, statuses: tuple[str, ...]) -> int:
        async with self.sessions() as session:
            query = select(func.count()).select_from(Handoff).where(Handoff.status.in_(statuses))
            return int(await session.scalar(query) or 0)

    async def transcript(self, handoff_id: int) -> list[dict[str, object]]:
        async with self.sessions() as session:
            handoff = await self._get(session, handoff_id)
            return cards.transcript(await leads.timeline(session, handoff.lead_id))

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    async def _get(session: AsyncSession, handoff_id: int) -> Handoff:
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None:
            raise HandoffNotFound(f"no handoff {handoff_id}")
        return handoff

    async def _joined(
        self, session: AsyncSession, handoff: Handoff, rep: str, now: datetime
    ) -> int:
        """ "Dana has joined", under the rep's name: the widget's header shows who has it."""
        conversation, lead = await records.parties(session, handoff)
        language = lead.language or self.wording.catalog.default_language
        said = self.wording.say("handoff.joined", language, lead.stage, rep=rep)
        return await self._store(session, conversation, lead, replace(said, author=rep), now)

    async def _rating_question(
        self, session: AsyncSession, handoff: Handoff, rep: str, now: datetime
    ) -> int:
        conversation, lead = await records.parties(session, handoff)
        language = lead.language or self.wording.catalog.default_language
        text = self.wording.say("handoff.back_to_bot", language, lead.stage, rep=rep).text
        buttons = tuple(Button(str(n), f"csat:{n}") for n in RATINGS)
        records.note(handoff, rating_asked=now.isoformat())
        message = OutboundMessage(text, buttons, key="handoff.back_to_bot")
        return await self._store(session, conversation, lead, message, now)

    async def _rep_message(
        self, session: AsyncSession, handoff: Handoff, rep: str, text: str, key: str, now: datetime
    ) -> Touchpoint:
        conversation, lead = await records.parties(session, handoff)
        message = OutboundMessage(text, author=rep)
        said = outbox.store(
            session, conversation, message, now, author="rep",
            data={"rep": rep, "handoff_id": handoff.id}, language=lead.language,
            stage=lead.stage, idempotency_key=key,
        )  # fmt: skip
        await session.flush()
        return said

    @staticmethod
    async def _store(
        session: AsyncSession,
        conversation: Conversation,
        lead: Lead,
        message: OutboundMessage,
        now: datetime,
    ) -> int:
        stored = outbox.store(
            session, conversation, message, now, language=lead.language, stage=lead.stage
        )
        await session.flush()
        return stored.id

    async def _deliver(self, conversation_id: int, touchpoint_id: int | None) -> outbox.Delivery:
        """Send a stored message on the prospect's channel; confirmed ones are delivered,
        others wait (the widget's ack, or its next connect); a channel that fails marks
        it failed."""
        if touchpoint_id is None:
            return "queued"
        async with self.sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            stored = await session.get(Touchpoint, touchpoint_id)
            assert conversation is not None and stored is not None
            await session.commit()
            sender = self.senders.get(conversation.channel)
            if sender is None:  # a channel that cannot be reached first (the REST API)
                return "queued"
            try:
                delivery = await sender(conversation, outbox.message_of(stored), stored.id)
            except Exception as error:  # a blocked bot, a channel down: the team sees it
                log.warning("handoff.undelivered", touchpoint_id=touchpoint_id, error=repr(error))
                await outbox.mark_failed(session, [stored.id], repr(error))
                await session.commit()
                return "queued"
            if delivery == "delivered":
                await outbox.mark_delivered(session, [stored.id])
                await session.commit()
            return delivery

    @staticmethod
    def _timer(handoff: Handoff, kind: str, due: datetime, now: datetime) -> FollowUp:
        return FollowUp(
            lead_id=handoff.lead_id, handoff_id=handoff.id, kind=kind,
            key=f"{kind}:{handoff.id}", due_at=due, created_at=now,
        )  # fmt: skip
