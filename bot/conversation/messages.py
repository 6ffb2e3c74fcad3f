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
    # What was sent: "text", or what a channel could not turn into text
    # ("sticker", "voice", "photo"...), stored and answered with a clear reply.
    content: str = "text"


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a message: a link on the web, a document on Telegram."""

    kind: str  # calendar
    title: str
    url: str  # relative to the app's base URL
    filename: str


@dataclass(frozen=True)
class OutboundMessage:
    text: str
    buttons: tuple[Button, ...] = ()
    attachment: Attachment | None = None
    key: str | None = None  # the catalog key it was said from: channels may add native widgets

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }
        if self.attachment is not None:
            data["attachment"] = {
                "kind": self.attachment.kind,
                "title": self.attachment.title,
                "url": self.attachment.url,
                "filename": self.attachment.filename,
            }
        return data


@dataclass(frozen=True)
class TurnResult:
    conversation_id: int
    lead_id: int
    replies: list[OutboundMessage]
    language: str
    stage: str
    outbound_ids: list[int] = field(default_factory=list)  # the stored replies, in order
