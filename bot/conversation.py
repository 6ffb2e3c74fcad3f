"""The conversation service: the one path every message takes, from any channel.

1. find or create the lead and the conversation;
2. persist the inbound touchpoint (before anything can fail);
3. if a human owns the conversation, stop here (the rep relay picks it up);
4. choose the language;
5. ask Rasa, which calls back our custom actions;
6. update the journey stage;
7. persist the outbound touchpoints; the channel adapter then delivers them.
"""

import unicodedata
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import journey, leads, touchpoints
from bot.catalog import Catalog
from bot.language import choose_language
from bot.messages import Button, InboundMessage, OutboundMessage, TurnResult
from bot.models import Conversation, Lead, Touchpoint
from bot.rasa_client import RasaClient, RasaUnavailable

log = structlog.get_logger(__name__)


def clean_text(text: str) -> str:
    """Drop control and invalid characters (NUL, escapes, lone surrogates); keep line breaks.

    Zero-width joiners and bidi marks are format characters that Persian and
    Hebrew text needs, so only the C0/C1 controls and surrogates go.
    """
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs"})
    return "".join(kept).strip()


class ConversationService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        catalog: Catalog,
        *,
        default_language: str,
        max_message_chars: int,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.catalog = catalog
        self.default_language = default_language
        self.max_message_chars = max_message_chars

    async def handle(self, message: InboundMessage) -> TurnResult:
        text = clean_text(message.text)
        async with self.sessions() as session:
            conversation = await leads.conversation_for(session, message.channel, message.sender)
            lead = conversation.lead
            language = choose_language(message.language_hint, lead.language, self.default_language)
            inbound = touchpoints.record(
                session, conversation, direction="in", author="prospect", text=text,
                language=language, stage=lead.stage, status="received",
                data={"metadata": message.metadata} if message.metadata else {},
            )  # fmt: skip
            lead.language = language
            lead.last_seen_at = datetime.now(UTC)
            await session.commit()

            if conversation.owner == "human":
                inbound.status = "for_rep"
                await session.commit()
                return self._result(conversation, lead, [], language)

            replies = await self._answer(session, conversation, inbound, text, language)
            for reply in replies:
                touchpoints.record(
                    session, conversation, direction="out", author="bot", text=reply.text,
                    language=language, stage=lead.stage,
                    data={"buttons": [b.payload for b in reply.buttons]} if reply.buttons else {},
                )  # fmt: skip
            inbound.processed_at = datetime.now(UTC)
            await session.commit()
            return self._result(conversation, lead, replies, language)

    async def _answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        inbound: Touchpoint,
        text: str,
        language: str,
    ) -> list[OutboundMessage]:
        lead = conversation.lead
        problem = self._problem_with(text)
        if problem is not None:
            inbound.status = "rejected"
            return [self._say(problem[0], language, **problem[1])]
        try:
            turn = await self.rasa.send(
                sender=str(conversation.id),
                text=text,
                metadata={"language": language, "lead_id": lead.id, "stage": lead.stage,
                          "channel": conversation.channel},
            )  # fmt: skip
        except RasaUnavailable as error:
            log.error("rasa.unavailable", conversation_id=conversation.id, error=str(error))
            inbound.status = "failed"
            inbound.data = inbound.data | {"error": str(error)}
            return [self._say("rasa_unavailable", language)]

        inbound.intent, inbound.confidence = turn.intent, turn.confidence
        inbound.status = "done"
        if turn.entities:
            inbound.data = inbound.data | {"entities": turn.entities}
        self._move_stage(session, conversation, inbound)
        replies = [self._render(m, language) for m in turn.messages]
        if not replies:
            # Rasa answers nothing when one of our custom actions failed; never
            # leave the prospect without an answer.
            log.warning("rasa.no_reply", conversation_id=conversation.id, intent=turn.intent)
            replies = [self._say("fallback", language)]
        return replies

    def _problem_with(self, text: str) -> tuple[str, dict[str, Any]] | None:
        if not text:
            return "empty_message", {}
        if len(text) > self.max_message_chars:
            return "message_too_long", {"length": len(text), "limit": self.max_message_chars}
        return None

    def _move_stage(
        self, session: AsyncSession, conversation: Conversation, inbound: Touchpoint
    ) -> None:
        lead = conversation.lead
        new_stage = journey.stage_after(lead.stage, inbound.intent)
        if new_stage == lead.stage:
            return
        touchpoints.record(
            session, conversation, direction="event", author="system", text=None,
            kind="stage_change", stage=new_stage,
            data={"from": lead.stage, "to": new_stage, "reason": f"intent {inbound.intent}"},
        )  # fmt: skip
        lead.stage = new_stage

    def _say(self, key: str, language: str, **params: Any) -> OutboundMessage:
        return OutboundMessage(self.catalog.render(key, language, **params))

    def _render(self, message: dict[str, Any], language: str) -> OutboundMessage:
        """Turn one Rasa message into words: a catalog key, or text Rasa already has."""
        custom = message.get("custom") or {}
        text = (
            self.catalog.render(custom["key"], language, **custom.get("params", {}))
            if "key" in custom
            else str(message.get("text", ""))
        )
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in message.get("buttons") or []
        )
        return OutboundMessage(text=text, buttons=buttons)

    @staticmethod
    def _result(
        conversation: Conversation, lead: Lead, replies: list[OutboundMessage], language: str
    ) -> TurnResult:
        return TurnResult(
            conversation_id=conversation.id,
            lead_id=lead.id,
            replies=replies,
            language=language,
            stage=lead.stage,
        )
