"""One prospect message on its way through the service, and the steps before Rasa.

A step looks at the turn before Rasa is asked and may answer it itself (the
answer to "how did you hear about us?", an NPS score, a message too long to
read, a conversation a rep owns); the service runs its steps in order and
asks Rasa only when none answered. Steps run inside the turn's first
transaction and must not call out of the process.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.messages import InboundMessage, OutboundMessage
from bot.conversation.wording import Wording
from bot.storage.models import Conversation, Lead, Touchpoint


@dataclass
class Turn:
    session: AsyncSession
    message: InboundMessage
    conversation: Conversation
    inbound: Touchpoint
    text: str
    language: str
    stage_before: str
    now: datetime
    wording: Wording
    replies: list[OutboundMessage] = field(default_factory=list)
    outbound: list[Touchpoint] = field(default_factory=list)  # the replies, once stored
    # Calls out of the process (the reps' desk) that must wait until the turn is stored.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def lead(self) -> Lead:
        return self.conversation.lead

    def say(self, key: str, **params: Any) -> OutboundMessage:
        """A catalog text in the prospect's language, for the stage the turn began in."""
        return self.wording.say(key, self.language, self.stage_before, **params)

    def with_next_step(self, reply: OutboundMessage) -> OutboundMessage:
        return self.wording.with_next_step(reply, self.lead.stage, self.language)

    def answer(
        self, key: str, *, status: str = "done", next_step: bool = True, **params: Any
    ) -> None:
        """Close the turn with one catalog text (and the stage's next step)."""
        reply = self.say(key, **params)
        self.replies.append(self.with_next_step(reply) if next_step else reply)
        self.inbound.status = status


class Step(Protocol):
    async def __call__(self, turn: Turn) -> bool:
        """True when the step answered the turn: Rasa is then not asked."""
        ...
