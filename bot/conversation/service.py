"""The conversation service: the one path every message takes, from any channel.

1. find or create the lead and the conversation;
2. persist the inbound touchpoint (before anything can fail);
3. if a human owns the conversation, stop here (the rep relay picks it up);
4. choose the language (channel hint, the lead's history, a detector);
5. ask Rasa, which calls back our custom actions;
6. update the journey stage, contact details and the lead score;
7. persist the outbound touchpoints; the channel adapter then delivers them.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation.language import LanguageChooser
from bot.conversation.messages import (
    Attachment,
    Button,
    InboundMessage,
    OutboundMessage,
    TurnResult,
)
from bot.crm import acquisition, contacts, journey, leads, scoring, touchpoints
from bot.dialogue.rasa_client import RasaClient, RasaTurn, RasaUnavailable
from bot.followups import followups
from bot.storage.models import Conversation, Lead, Touchpoint

log = structlog.get_logger(__name__)

NEXT_STEP_PAYLOAD = {
    "awareness": "/ask_product_info",
    "consideration": "/compare_products",
    "decision": "/book_appointment",
    "retention": "/ask_service",
    "advocacy": "/ask_referral",
}

# A button's payload: Rasa's "/intent{...}" or our "source:instagram", "nps:9".
PAYLOAD = re.compile(r"^(?:/\w+(?:\{.*\})?|[a-z]+:[\w-]+)$", re.DOTALL)


def clean_text(text: str) -> str:
    """Drop control and invalid characters (NUL, escapes, lone surrogates); keep line breaks.

    Zero-width joiners and bidi marks are format characters that Persian and
    Hebrew text needs, so only the C0/C1 controls and surrogates go.
    """
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs"})
    return "".join(kept).strip()


def _reply_data(reply: OutboundMessage) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if reply.buttons:
        data["buttons"] = [b.payload for b in reply.buttons]
    if reply.attachment:
        data["attachment"] = reply.attachment.url
    return data


@dataclass
class Turn:
    """One prospect message on its way through the service."""

    session: AsyncSession
    conversation: Conversation
    inbound: Touchpoint
    text: str
    language: str
    stage_before: str
    replies: list[OutboundMessage] = field(default_factory=list)
    content: str = "text"
    outbound: list[Touchpoint] = field(default_factory=list)

    @property
    def lead(self) -> Lead:
        return self.conversation.lead


class ConversationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        catalog: Catalog,
        languages: LanguageChooser,
        *,
        clock: Clock,
        default_language: str,
        max_message_chars: int,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.catalog = catalog
        self.languages = languages
        self.clock = clock
        self.default_language = default_language
        self.max_message_chars = max_message_chars

    async def handle(self, message: InboundMessage) -> TurnResult:
        text = clean_text(message.text)
        async with self.sessions() as session:
            turn = await self._receive(session, message, text)
            if turn.conversation.owner == "human":
                turn.inbound.status = "for_rep"
                await session.commit()
                return self._result(turn)
            try:
                await self._answer(turn)
            except Exception as error:  # a bug must not leave the prospect unanswered
                log.exception("turn.failed", conversation_id=turn.conversation.id)
                await self._recover(turn, error)
            self._store_replies(turn)
            turn.inbound.processed_at = datetime.now(UTC)
            await session.commit()
            return self._result(turn)

    async def hold(self, message: InboundMessage, *, notice: bool) -> TurnResult:
        """Store a message from a sender over its budget without answering it; the first
        one of a burst gets a polite notice (see bot.throttle)."""
        async with self.sessions() as session:
            turn = await self._receive(session, message, clean_text(message.text))
            turn.inbound.status = "throttled"
            if notice:
                turn.replies.append(self._say(turn, "throttled"))
                self._store_replies(turn)
            await session.commit()
            return self._result(turn)

    async def undelivered(self, result: TurnResult, error: str) -> None:
        """The channel could not deliver these replies (after its retries): mark them
        failed on the timeline, so the team sees who is waiting for an answer."""
        async with self.sessions() as session:
            await touchpoints.mark_failed(session, result.outbound_ids, error)
            await session.commit()

    def _store_replies(self, turn: Turn) -> None:
        for reply in turn.replies:
            turn.outbound.append(
                touchpoints.record(
                    turn.session, turn.conversation, direction="out", author="bot",
                    text=reply.text, language=turn.language, stage=turn.lead.stage,
                    data=_reply_data(reply),
                )
            )  # fmt: skip

    async def _receive(self, session: AsyncSession, message: InboundMessage, text: str) -> Turn:
        """Steps 1-2 and 4: the lead, the stored inbound touchpoint, the language."""
        conversation = await leads.conversation_for(session, message.channel, message.sender)
        lead = conversation.lead
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
        )  # fmt: skip
        lead.language = language
        lead.last_seen_at = datetime.now(UTC)
        source = acquisition.clean_code(message.metadata.get("source"))
        if source and lead.source is None:
            self._set_source(session, conversation, source, how=message.channel)
        shared = contacts.phone(str(message.metadata.get("shared_phone") or ""), language)
        if shared and lead.phone != shared:
            # A phone shared with the channel's own button (Telegram's contact
            # card) is the prospect's number for sure: saved before Rasa runs,
            # so the booking form finds it and never asks for it.
            lead.phone = shared
            touchpoints.record_event(
                session, lead, "contact", {"phone": shared, "how": "shared"},
                conversation=conversation, author="prospect",
            )  # fmt: skip
        await session.commit()
        return Turn(
            session, conversation, inbound, text, language, lead.stage, content=message.content
        )

    async def _answer(self, turn: Turn) -> None:
        problem = self._problem_with(turn)
        if problem is not None:
            turn.inbound.status = "rejected"
            turn.replies.append(self._say(turn, problem[0], **problem[1]))
            return
        picked = acquisition.answer_in(turn.text)
        if picked and turn.lead.source is None:
            self._set_source(turn.session, turn.conversation, picked, how="asked")
            turn.inbound.status = "done"
            turn.replies.append(self._with_next_step(turn, self._say(turn, "source_thanks")))
            return
        if await self._nps_answer(turn):
            return
        try:
            rasa_turn = await self.rasa.send(
                sender=str(turn.conversation.id),
                text=turn.text,
                metadata={"language": turn.language, "lead_id": turn.lead.id,
                          "stage": turn.lead.stage, "channel": turn.conversation.channel},
            )  # fmt: skip
        except RasaUnavailable as error:
            log.error("rasa.unavailable", conversation_id=turn.conversation.id, error=str(error))
            turn.inbound.status = "failed"
            turn.inbound.data = turn.inbound.data | {"error": str(error)}
            turn.replies.append(self._say(turn, "rasa_unavailable"))
            return
        await turn.session.refresh(turn.lead)  # Rasa's actions may have saved details on it
        await self._understood(turn, rasa_turn)

    async def _nps_answer(self, turn: Turn) -> bool:
        """A 0-10 right after the bot asked "would you recommend us?" is the answer."""
        score = followups.nps_score(turn.text)
        if score is None:
            return False
        now = self.clock.now()
        question = await followups.open_nps_question(turn.session, turn.lead.id, now)
        if question is None:
            return False
        key = followups.record_nps(turn.session, question, turn.lead, score, turn.conversation)
        turn.inbound.status = "done"
        turn.inbound.data = turn.inbound.data | {"nps": score}
        turn.replies.append(self._with_next_step(turn, self._say(turn, key)))
        await self._rescore(turn)
        return True

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
        replies = [self._render(turn, m, product, details) for m in rasa_turn.messages]
        if not replies:
            # Rasa answers nothing when one of our custom actions failed; never
            # leave the prospect without an answer.
            log.warning(
                "rasa.no_reply", conversation_id=turn.conversation.id, intent=inbound.intent
            )
            replies = [self._say(turn, "fallback")]
        replies[-1] = self._with_next_step(turn, replies[-1])
        if acquisition.should_ask(turn.lead, inbound.intent):
            acquisition.mark_asked(turn.lead)
            replies.append(self._source_question(turn))
        turn.replies.extend(replies)
        await self._rescore(turn)

    async def _recover(self, turn: Turn, error: Exception) -> None:
        """Undo the half-done turn; keep the stored message, marked for the team."""
        await turn.session.rollback()
        await turn.session.refresh(turn.inbound)
        await turn.session.refresh(turn.lead)
        turn.inbound.status = "failed"
        turn.inbound.data = turn.inbound.data | {"error": repr(error)[:500]}
        turn.replies = [self._say(turn, "rasa_unavailable")]

    def _problem_with(self, turn: Turn) -> tuple[str, dict[str, Any]] | None:
        text = turn.text
        if turn.content != "text":
            return "unsupported_content", {}
        if not text:
            return "empty_message", {}
        if len(text) > self.max_message_chars:
            return "message_too_long", {"length": len(text), "limit": self.max_message_chars}
        return None

    def _move_stage(self, turn: Turn) -> None:
        lead = turn.lead
        new_stage = journey.stage_after(lead.stage, turn.inbound.intent)
        if new_stage != lead.stage:
            reason = f"asked: {turn.inbound.intent}"
            journey.record_change(turn.session, lead, new_stage, reason, turn.conversation)

    def _save_contacts(self, turn: Turn, entities: list[dict[str, Any]]) -> dict[str, str]:
        found = contacts.from_entities(entities, turn.language)
        lead = turn.lead
        new = {kind: value for kind, value in found.items() if getattr(lead, kind) != value}
        for kind, value in new.items():
            setattr(lead, kind, value)
        if new:
            touchpoints.record_event(
                turn.session,
                lead,
                "contact",
                new,
                conversation=turn.conversation,
                author="prospect",
            )
        return new

    def _set_source(
        self, session: AsyncSession, conversation: Conversation, source: str, how: str
    ) -> None:
        conversation.lead.source = source
        data = {"source": source, "how": how}
        touchpoints.record_event(
            session, conversation.lead, "source", data, conversation=conversation, author="prospect"
        )

    async def _rescore(self, turn: Turn) -> None:
        """Keep the stored score current for listing; the ops API recomputes it on read."""
        lead = turn.lead
        await turn.session.flush()
        inbound = await leads.inbound_intents(turn.session, lead.id)
        result = scoring.score_lead(lead, inbound, datetime.now(UTC))
        lead.score, lead.score_reasons, lead.zombie = result.total, result.as_list(), result.zombie

    def _say(self, turn: Turn, key: str, **params: Any) -> OutboundMessage:
        text = self.catalog.render(key, turn.language, turn.stage_before, **params)
        return OutboundMessage(text, key=key)

    def _render(
        self, turn: Turn, message: dict[str, Any], product: str | None, details: dict[str, str]
    ) -> OutboundMessage:
        """One Rasa message in words: a catalog key in the prospect's language and stage."""
        custom = message.get("custom") or {}
        key, params = custom.get("key"), {"product": product} | custom.get("params", {})
        if key == "inform" and details:
            key, params["details"] = "inform_contact", ", ".join(details.values())
        text = self._say(turn, key, **params).text if key else str(message.get("text", ""))
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in (message.get("buttons") or custom.get("buttons") or [])
        )
        attached = custom.get("attachment")
        attachment = Attachment(**attached) if isinstance(attached, dict) else None
        return OutboundMessage(text, buttons, attachment, key=key)

    def _with_next_step(self, turn: Turn, reply: OutboundMessage) -> OutboundMessage:
        """Every answer ends with the next best step for the stage the prospect is now in,
        unless it offers its own choices (models, times) or is part of a booking."""
        if reply.buttons or (reply.key or "").startswith("booking."):
            return reply
        stage = turn.lead.stage
        payload = NEXT_STEP_PAYLOAD[stage]
        if any(b.payload == payload for b in reply.buttons):
            return reply
        title = self.catalog.render(f"next_step.{stage}", turn.language)
        buttons = (*reply.buttons, Button(title, payload))
        return OutboundMessage(reply.text, buttons, reply.attachment, reply.key)

    def _source_question(self, turn: Turn) -> OutboundMessage:
        buttons = tuple(
            Button(self.catalog.render(f"source.{answer}", turn.language), f"source:{answer}")
            for answer in acquisition.ANSWERS
        )
        return OutboundMessage(self.catalog.render("source_question", turn.language), buttons)

    @staticmethod
    def _result(turn: Turn) -> TurnResult:
        return TurnResult(
            outbound_ids=[t.id for t in turn.outbound],
            conversation_id=turn.conversation.id,
            lead_id=turn.lead.id,
            replies=turn.replies,
            language=turn.language,
            stage=turn.lead.stage,
        )
