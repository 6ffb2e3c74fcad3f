"""Sending the bot's replies to a Telegram chat: text, inline buttons, documents.

Replies are plain text (no parse mode), so whatever a prospect typed, echoed
back, is never read as markup. Telegram limits a message to 4096 characters
and a button's callback data to 64 bytes; both are handled here.
"""

import re
from collections.abc import Sequence

import structlog
from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import bookings
from bot.booking.calendar import invite
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation import outbox
from bot.conversation.messages import Attachment, Button, OutboundMessage
from bot.storage.models import Conversation

log = structlog.get_logger(__name__)

MAX_TEXT = 4096  # in UTF-16 code units, as Telegram counts
MAX_CALLBACK_DATA = 64  # bytes
ASKS_FOR_CONTACT = frozenset({"booking.ask_contact", "booking.bad_contact"})
# After these the "share my phone number" keyboard has no use left: take it away
# (a prospect who typed the number instead never pressed it, so it stayed).
ENDS_BOOKING = frozenset({"booking.confirmed", "booking.rescheduled", "booking.stopped"})
CALENDAR_URL = re.compile(r"^/bookings/(?P<token>[A-Za-z0-9_-]{20,64})\.ics$")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit``, cut at a paragraph, a line, a sentence or a space."""
    pieces: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        head = rest[:limit]
        while utf16_len(head) > limit:  # astral characters count twice
            head = head[:-1]
        cut = max(head.rfind(sep) for sep in ("\n\n", "\n", ". ", " "))
        if cut < len(head) // 2:  # no good place: cut hard rather than leave a sliver
            cut = len(head)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def row_width(buttons: Sequence[Button]) -> int:
    """Numbers (NPS 0-10) six to a row, short titles (times) two, the rest one."""
    longest = max(len(b.title) for b in buttons)
    return 6 if longest <= 3 else 2 if longest <= 18 else 1


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup:
    """Each button sends its payload back as callback data, exactly like a typed payload.

    A payload too long for Telegram's 64 bytes sends its title instead, which
    the language model understands like a typed answer.
    """
    width = row_width(buttons)
    keys = [
        InlineKeyboardButton(
            text=b.title,
            callback_data=b.payload if len(b.payload.encode()) <= MAX_CALLBACK_DATA
            else b.title.encode()[:MAX_CALLBACK_DATA].decode(errors="ignore"),
        )
        for b in buttons
    ]  # fmt: skip
    return InlineKeyboardMarkup(
        inline_keyboard=[keys[i : i + width] for i in range(0, len(keys), width)]
    )


class Delivery:
    """What the Telegram channel sends, for a turn's replies and for follow-ups."""

    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        clock: Clock,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock

    async def send(self, chat_id: int, replies: Sequence[OutboundMessage], language: str) -> None:
        for reply in replies:
            pieces = split_text(reply.text) or [""]
            for piece in pieces[:-1]:
                await self.bot.send_message(chat_id, piece)
            await self.bot.send_message(
                chat_id, pieces[-1], reply_markup=self._markup(reply, language)
            )
            if reply.attachment is not None:
                await self._send_file(chat_id, reply.attachment)

    async def followup(
        self, conversation: Conversation, message: OutboundMessage, _reply_id: int
    ) -> outbox.Delivery:
        """The sender of follow-ups and reps' words: Telegram keeps messages for offline
        users, so a sent message is delivered; a failure raises and the caller retries."""
        await self.send(int(conversation.external_id), [message], self.catalog.default_language)
        return "delivered"

    def _markup(
        self, reply: OutboundMessage, language: str
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        if reply.buttons:
            return inline_keyboard(reply.buttons)
        if reply.key in ENDS_BOOKING:
            return ReplyKeyboardRemove(remove_keyboard=True)
        if reply.key in ASKS_FOR_CONTACT:
            share = self.catalog.render("telegram.share_contact", language)
            return ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text=share, request_contact=True)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
        return None

    async def _send_file(self, chat_id: int, attachment: Attachment) -> None:
        """The booking's .ics invite as a document, built from the booking itself."""
        match = CALENDAR_URL.match(attachment.url)
        async with self.sessions() as session:
            found = await bookings.by_token(session, match["token"]) if match else None
        if found is None:
            log.warning("telegram.attachment_missing", url=attachment.url)
            return
        data = invite(found, self.catalog, self.clock.now())
        await self.bot.send_document(
            chat_id, BufferedInputFile(data, attachment.filename), caption=attachment.title
        )
