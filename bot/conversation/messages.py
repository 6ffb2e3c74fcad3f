"""The one inbound and one outbound message type every channel adapter speaks."""

import unicodedata
from collections.abc import Awaitable, Callable
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
    # The channel's id for this very message (Telegram's update id, the widget's
    # client message id): the same message delivered again is answered once.
    idempotency_key: str | None = None
    # The replies travel back in the response to this message (the REST API):
    # they are delivered once stored, with nothing to confirm later.
    replies_in_response: bool = False
    # How the channel says "one moment" when the turn waits long for Rasa (a campaign
    # launch): the widget shows a notice, Telegram "typing...". Not a reply: not stored.
    on_busy: Callable[[], Awaitable[None]] | None = field(default=None, compare=False, repr=False)
    # The client's network address, for the per-address budget; never stored.
    origin: str | None = field(default=None, compare=False, repr=False)


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
    author: str | None = None  # a rep's name when a person wrote it, else the bot

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }
        if self.author is not None:
            data["author"] = self.author
        if self.attachment is not None:
            data["attachment"] = {
                "kind": self.attachment.kind,
                "title": self.attachment.title,
                "url": self.attachment.url,
                "filename": self.attachment.filename,
            }
        return data

    def stored(self) -> dict[str, Any]:
        """What an outbound touchpoint keeps, so the reply can be sent again as it was."""
        return self.as_dict() | ({"key": self.key} if self.key else {})

    @classmethod
    def from_stored(cls, data: dict[str, Any], text: str | None = None) -> "OutboundMessage":
        buttons = tuple(Button(str(b["title"]), str(b["payload"])) for b in data.get("buttons", []))
        attached = data.get("attachment")
        attachment = Attachment(**attached) if isinstance(attached, dict) else None
        return cls(
            str(data.get("text", text or "")), buttons, attachment, data.get("key"),
            data.get("author"),
        )  # fmt: skip


@dataclass(frozen=True)
class TurnResult:
    conversation_id: int
    lead_id: int
    replies: list[OutboundMessage]
    language: str
    stage: str
    outbound_ids: list[int] = field(default_factory=list)  # the stored replies, in order
    # This message had been handled before (a channel's retry): the replies are
    # the stored ones, and ``delivered_ids`` those the channel already confirmed.
    replayed: bool = False
    delivered_ids: frozenset[int] = frozenset()
    # answered; failed (Rasa down, a bug: the prospect was told a person follows up);
    # replayed (a retry of a message already answered)
    outcome: str = "answered"

    def undelivered(self) -> list[tuple[int, OutboundMessage]]:
        """The replies still to deliver, with their touchpoint ids."""
        pairs = zip(self.outbound_ids, self.replies, strict=True)
        return [(id_, reply) for id_, reply in pairs if id_ not in self.delivered_ids]


def clean_text(text: str) -> str:
    """Drop control and invalid characters (NUL, escapes, lone surrogates); keep line breaks.

    Zero-width joiners and bidi marks are format characters that Persian and
    Hebrew text needs, so only the C0/C1 controls and surrogates go.
    """
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in {"Cc", "Cs"})
    return "".join(kept).strip()
