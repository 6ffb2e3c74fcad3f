"""The one inbound and one outbound message type every channel adapter speaks."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class InboundMessage:
    """A prospect's message, as a channel adapter hands it to the conversation service."""

    channel: str
    sender: str
    text: str
    language_hint: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundMessage:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }


@dataclass(frozen=True)
class TurnResult:
    conversation_id: int
    lead_id: int
    replies: list[OutboundMessage]
    language: str
    stage: str
