"""The conversation service: the one path every message takes, from any channel.

1. find or create the lead and the conversation;
2. store the inbound touchpoint, under the channel's idempotency key;
3. run the steps before Rasa (a rep owns it, an NPS score...): one may answer;
4. choose the language (channel hint, the lead's history, a detector);
5. ask Rasa, which calls back our custom actions;
6. update the journey stage, contact details and the lead score;
7. store the replies (``queued``); the channel adapter delivers and confirms them.

Steps 1-4 are one transaction, step 5 runs with none open (Rasa's actions
write to the same database), steps 6-7 are the second. While the database
restarts, each transaction is retried on its own: a retry never stores the
message twice, and never asks Rasa twice. A message delivered again (a
Telegram redelivery, the widget resending after a reconnect) finds its stored
touchpoint and gets the stored replies back. Turns of one conversation run one
at a time.
"""

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from bot import metrics
from bot.booking.details import kind_named
from bot.clock import Clock
from bot.conversation import outbox
from bot.conversation.language import LanguageChooser, normalise
from bot.conversation.locks import KeyedLocks, Locks
from bot.conversation.messages import InboundMessage, TurnResult, clean_text
from bot.conversation.turn import Step, Turn
from bot.conversation.wording import Wording
from bot.crm import acquisition, contacts, journey, leads, scoring, touchpoints
from bot.dialogue.rasa_client import RasaClient, RasaTurn, RasaUnavailable
from bot.handoff.triggers import Triggers
from bot.storage.engine import unreachable, while_unreachable
from bot.storage.models import Conversation, Touchpoint

log = structlog.get_logger(__name__)
T = TypeVar("T")

# A button's payload: Rasa's "/intent{...}" or our "source:instagram", "nps:9".
PAYLOAD = re.compile(r"^(?:/\w+(?:\{.*\})?|[a-z]+:[\w-]+)$", re.DOTALL)


@dataclass(frozen=True)
class Received:
    """What the first transaction leaves for the rest of the turn."""

    conversation_id: int
    lead_id: int
    inbound_id: int
    text: str
    language: str
    stage_before: str
    answered: TurnResult | None  # a replay, or a step answered it: Rasa is not asked


class ConversationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        wording: Wording,
        languages: LanguageChooser,
        *,
        clock: Clock,
        default_language: str,
        steps: Sequence[Step],
        triggers: Triggers | None = None,
        database_patience: float = 60.0,
        locks: Locks | None = None,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.wording = wording
        self.languages = languages
        self.clock = clock
        self.default_language = default_language
        self.steps = list(steps)
        self.triggers = triggers
        self.patience = database_patience
        self.locks = locks or KeyedLocks()

    async def handle(self, message: InboundMessage) -> TurnResult:
        if message.idempotency_key is None:  # still, a retry inside this call stores it once
            message = replace(message, idempotency_key=f"local:{uuid.uuid4().hex}")
        with metrics.TURN_SECONDS.labels(message.channel).time():
            async with self.locks.hold((message.channel, message.sender)):
                result = await self._handle(message)
        metrics.TURNS.labels(message.channel, result.outcome).inc()
        return result

    async def _handle(self, message: InboundMessage) -> TurnResult:
        received = await self._retrying(lambda: self._receive(message))
        with structlog.contextvars.bound_contextvars(conversation_id=received.conversation_id):
            if received.answered is not None:
                return received.answered
            outcome = await self._ask_rasa(received, message)
            return await self._retrying(lambda: self._finish(received, message, outcome))

    async def delivered(self, ids: list[int], conversation_id: int | None = None) -> None:
        """The channel confirmed these replies."""
        async with self.sessions() as session:
            await outbox.mark_delivered(session, ids, conversation_id)
            await session.commit()

    async def undelivered(self, ids: list[int], error: str) -> None:
        """The channel could not deliver these replies (after its retries): mark them
        failed on the timeline, so the team sees who is waiting for an answer."""
        async with self.sessions() as session:
            await outbox.mark_failed(session, ids, error)
            await session.commit()

    async def _retrying(self, operation: Callable[[], Awaitable[T]]) -> T:
        return await while_unreachable(operation, patience=self.patience)

    # -- the first transaction: lead, inbound touchpoint, steps before Rasa --------------

    async def _receive(self, message: InboundMessage) -> Received:
        now = self.clock.now()
        async with self.sessions() as session:
            conversation = await leads.conversation_for(
                session, message.channel, message.sender, now
            )
            assert message.idempotency_key is not None
            stored = await touchpoints.by_key(session, conversation.id, message.idempotency_key)
            if stored is not None and stored.status != "received":
                return await self._replay(session, stored, conversation)
            # Not stored yet, or stored by a turn that never finished (the process
            # died): that one is answered now.
            if stored is None:
                await self._store_greeting(session, conversation, message, now)
            turn = self._turn(session, message, conversation, stored, now)
            answered = await self._run_steps(turn)
            if answered:
                self._store_replies(turn, message)
                turn.inbound.processed_at = now
            await session.commit()
            await _after_commit(turn)
            result = self._result(turn) if answered else None
            return Received(
                conversation.id, conversation.lead_id, turn.inbound.id, turn.text,
                turn.language, turn.stage_before, result,
            )  # fmt: skip

    async def _store_greeting(
        self,
        session: AsyncSession,
        conversation: Conversation,
        message: InboundMessage,
        now: datetime,
    ) -> None:
        """The widget greets a new visitor on its own; the greeting becomes part of the
        conversation only once they answer it (an unanswered greeting is no lead). The
        text is ours, rebuilt here, in the language it was shown in."""
        language = normalise(str(message.metadata.get("greeted") or ""))
        if language is None:
            return
        said = await session.scalar(
            select(Touchpoint.id).where(Touchpoint.conversation_id == conversation.id).limit(1)
        )
        if said is not None:  # not a new conversation: no greeting was shown
            return
        stage = conversation.lead.stage
        greeting = self.wording.with_next_step(
            self.wording.say("greet", language, stage), stage, language
        )
        outbox.store(
            session, conversation, greeting, now, status="delivered", data={"shown_by": "widget"},
            language=language, stage=stage,
        )  # fmt: skip

    def _turn(
        self,
        session: AsyncSession,
        message: InboundMessage,
        conversation: Conversation,
        stored: Touchpoint | None,
        now: datetime,
    ) -> Turn:
        lead = conversation.lead
        text = clean_text(message.text)
        if stored is not None:
            language = stored.language or self.default_language
            return Turn(session, message, conversation, stored, text, language,
                        stored.stage or lead.stage, now, self.wording)  # fmt: skip
        language = self.languages.choose(
            "" if PAYLOAD.match(text) else text,  # a button says nothing about the language
            message.language_hint,
            lead.language,
            self.default_language,
        )
        inbound = touchpoints.record(
            session, conversation, direction="in", author="prospect", text=text,
            language=language, stage=lead.stage, status="received",
            kind="message" if message.content == "text" else message.content,
            data={"metadata": message.metadata} if message.metadata else {},
            idempotency_key=message.idempotency_key, at=now,
        )  # fmt: skip
        lead.language, lead.last_seen_at = language, now
        source = acquisition.clean_code(message.metadata.get("source"))
        if source and lead.source is None:
            acquisition.set_source(session, conversation, source, how=message.channel, at=now)
        self._save_shared_phone(session, conversation, message, language, now)
        return Turn(
            session, message, conversation, inbound, text, language, lead.stage, now, self.wording
        )

    @staticmethod
    def _save_shared_phone(
        session: AsyncSession,
        conversation: Conversation,
        message: InboundMessage,
        language: str,
        now: datetime,
    ) -> None:
        """A phone shared with the channel's own button (Telegram's contact card) is the
        prospect's number for sure (and the card's name theirs): saved before Rasa runs, so
        the booking form finds them."""
        shared = contacts.phone(str(message.metadata.get("shared_phone") or ""), language)
        lead = conversation.lead
        if not shared or lead.phone == shared:
            return
        lead.phone = shared
        given = {"phone": shared}
        name = contacts.name(str(message.metadata.get("shared_name") or ""))
        if name and not lead.name:
            lead.name = given["name"] = name
        touchpoints.record_event(
            session, lead, "contact", given | {"how": "shared"},
            conversation=conversation, author="prospect", at=now,
        )  # fmt: skip

    async def _run_steps(self, turn: Turn) -> bool:
        """The steps before Rasa, in a savepoint: a failing one keeps the stored message."""
        await turn.session.flush()
        try:
            async with turn.session.begin_nested():
                for step in self.steps:
                    if await step(turn):
                        return True
            return False
        except Exception as error:
            if unreachable(error):
                raise
            log.exception("turn.step_failed", conversation_id=turn.conversation.id)
            await self._mark_failed(turn, error)
            return True

    # -- Rasa, with no transaction open ---------------------------------------------------

    async def _ask_rasa(
        self, received: Received, message: InboundMessage
    ) -> RasaTurn | RasaUnavailable:
        try:
            return await self.rasa.send(
                sender=str(received.conversation_id),
                text=received.text,
                metadata={"language": received.language, "lead_id": received.lead_id,
                          "stage": received.stage_before, "channel": message.channel},
                on_busy=message.on_busy,
            )  # fmt: skip
        except RasaUnavailable as error:
            log.error(
                "rasa.unavailable", conversation_id=received.conversation_id, error=str(error)
            )
            return error

    # -- the second transaction: stage, contacts, score, replies ------------------------

    async def _finish(
        self, received: Received, message: InboundMessage, outcome: RasaTurn | RasaUnavailable
    ) -> TurnResult:
        now = self.clock.now()
        async with self.sessions() as session:
            inbound, conversation = await self._stored_turn(session, received)
            if inbound.status != "received":  # this transaction committed before a disconnect
                replayed = await self._replay(session, inbound, conversation)
                assert replayed.answered is not None
                return replayed.answered
            turn = Turn(session, message, conversation, inbound, received.text,
                        received.language, received.stage_before, now, self.wording)  # fmt: skip
            try:
                if isinstance(outcome, RasaUnavailable):
                    self._rasa_failed(turn, outcome)
                else:
                    await self._understood(turn, outcome)
            except Exception as error:  # a bug must not leave the prospect unanswered
                if unreachable(error):
                    raise
                log.exception("turn.failed", conversation_id=conversation.id)
                await session.rollback()
                await self._mark_failed(turn, error)
            self._store_replies(turn, message)
            turn.inbound.processed_at = now
            await session.commit()
            await _after_commit(turn)
            return self._result(turn)

    @staticmethod
    async def _stored_turn(
        session: AsyncSession, received: Received
    ) -> tuple[Touchpoint, Conversation]:
        """The inbound message, its conversation and lead again, in one statement."""
        query = (
            select(Touchpoint, Conversation)
            .join(Conversation, Conversation.id == Touchpoint.conversation_id)
            .options(joinedload(Conversation.lead))
            .where(Touchpoint.id == received.inbound_id)
        )
        row = (await session.execute(query)).one()
        return row[0], row[1]

    def _rasa_failed(self, turn: Turn, error: RasaUnavailable) -> None:
        turn.inbound.status = "failed"
        turn.inbound.data = turn.inbound.data | {"error": str(error)[:500]}
        turn.replies = [turn.say("rasa_unavailable")]

    async def _mark_failed(self, turn: Turn, error: Exception) -> None:
        """Undo the half-done turn; keep the stored message, marked for the team."""
        await turn.session.refresh(turn.inbound)
        await turn.session.refresh(turn.lead)
        turn.inbound.status = "failed"
        turn.inbound.data = turn.inbound.data | {"error": repr(error)[:500]}
        turn.replies = [turn.say("rasa_unavailable")]

    async def _understood(self, turn: Turn, rasa_turn: RasaTurn) -> None:
        """Step 6 and the words: stage, contacts, score, replies, next step, source question."""
        inbound = turn.inbound
        inbound.intent, inbound.confidence = rasa_turn.intent, rasa_turn.confidence
        inbound.status = "done"
        if rasa_turn.entities:
            inbound.data = inbound.data | {"entities": rasa_turn.entities}
        self._move_stage(turn)
        details = self._save_contacts(turn, rasa_turn.entities)
        product = next(
            (str(e["value"]) for e in rasa_turn.entities if e.get("entity") == "product"), None
        )
        profile = self.wording.catalog.profile
        if profile.find_product(product) is None:  # none named, or a word Rasa took for one
            product = None
        kind = kind_named(profile, turn.text) if product is None else None
        replies = [
            self.wording.from_rasa(m, turn.language, turn.stage_before, product, details, kind)
            for m in rasa_turn.messages
        ]
        if not replies:
            # Rasa answers nothing when one of our custom actions failed; never
            # leave the prospect without an answer.
            log.warning(
                "rasa.no_reply", conversation_id=turn.conversation.id, intent=inbound.intent
            )
            replies = [turn.say("fallback")]
        replies[-1] = turn.with_next_step(replies[-1])
        turn.replies.extend(replies)
        await self._rescore(turn)
        if self.triggers is not None:
            await self.triggers.after_rasa(turn)
        if acquisition.should_ask(turn.lead, inbound.intent):
            acquisition.mark_asked(turn.lead, turn.now)
            turn.replies.append(self.wording.source_question(turn.language))

    def _move_stage(self, turn: Turn) -> None:
        lead = turn.lead
        new_stage = journey.stage_after(lead.stage, turn.inbound.intent)
        if new_stage != lead.stage:
            reason = f"asked: {turn.inbound.intent}"
            journey.record_change(
                turn.session, lead, new_stage, reason, turn.conversation, at=turn.now
            )

    def _save_contacts(self, turn: Turn, entities: list[dict[str, Any]]) -> dict[str, str]:
        found = contacts.from_entities(entities, turn.language)
        lead = turn.lead
        new = {kind: value for kind, value in found.items() if getattr(lead, kind) != value}
        for kind, value in new.items():
            setattr(lead, kind, value)
        if new:
            touchpoints.record_event(
                turn.session, lead, "contact", new, conversation=turn.conversation,
                author="prospect", at=turn.now,
            )  # fmt: skip
        return new

    @staticmethod
    async def _rescore(turn: Turn) -> None:
        """Keep the stored score current for listing; the ops API recomputes it on read."""
        lead = turn.lead
        inbound = await leads.inbound_intents(turn.session, lead.id, turn.inbound)
        result = scoring.score_lead(lead, inbound, turn.now)
        lead.score, lead.score_reasons, lead.zombie = result.total, result.as_list(), result.zombie

    # -- replies --------------------------------------------------------------------------

    @staticmethod
    def _store_replies(turn: Turn, message: InboundMessage) -> None:
        status = "delivered" if message.replies_in_response else "queued"
        turn.outbound += [
            outbox.store(
                turn.session, turn.conversation, reply, turn.now, status=status,
                language=turn.language, stage=turn.lead.stage, reply_to_id=turn.inbound.id,
            )
            for reply in turn.replies
        ]  # fmt: skip

    async def _replay(
        self, session: AsyncSession, inbound: Touchpoint, conversation: Conversation
    ) -> Received:
        """The message was handled before: give back what was said, ask no one again."""
        stored = await outbox.replies_to(session, inbound.id)
        log.info("turn.replayed", conversation_id=conversation.id, touchpoint_id=inbound.id)
        result = TurnResult(
            conversation_id=conversation.id,
            lead_id=conversation.lead_id,
            replies=[outbox.message_of(t) for t in stored],
            language=inbound.language or self.default_language,
            stage=conversation.lead.stage,
            outbound_ids=[t.id for t in stored],
            replayed=True,
            delivered_ids=frozenset(t.id for t in stored if t.status == "delivered"),
            outcome="replayed",
        )
        return Received(
            conversation.id, conversation.lead_id, inbound.id, inbound.text or "",
            result.language, inbound.stage or conversation.lead.stage, result,
        )  # fmt: skip

    @staticmethod
    def _result(turn: Turn) -> TurnResult:
        return TurnResult(
            outbound_ids=[t.id for t in turn.outbound],
            conversation_id=turn.conversation.id,
            lead_id=turn.lead.id,
            replies=turn.replies,
            language=turn.language,
            stage=turn.lead.stage,
            outcome="failed" if turn.inbound.status == "failed" else "answered",
        )


async def _after_commit(turn: Turn) -> None:
    """What the turn tells the outside (the reps' desk) once it is stored: a failure
    there is logged, and the handoff's own timers and the ops API still show it."""
    for call in turn.after_commit:
        try:
            await call()
        except Exception:
            log.exception("turn.after_commit_failed", conversation_id=turn.conversation.id)
