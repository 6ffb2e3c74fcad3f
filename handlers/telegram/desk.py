"""The reps' Telegram group as the handoff desk: cards, relayed messages, reminders.

Every message the bot posts for a handoff is remembered (``handoff_messages``),
so a rep who replies to any of them (Telegram's reply) answers that handoff's
prospect. Texts are plain (no parse mode), in the team's language, from the
catalog's ``reps.*`` keys.
"""

import contextlib
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.catalog import Catalog
from bot.handoff.card import Card
from bot.storage.models import HandoffMessage
from handlers.telegram.delivery import split_text

TAKE, TRANSCRIPT, RELEASE = "ho:take:", "ho:transcript:", "ho:release:"


class TelegramDesk:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        chat_id: int,
        language: str,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.catalog = catalog
        self.chat_id = chat_id
        self.language = language

    async def announce(self, card: Card) -> None:
        sent = await self.bot.send_message(
            self.chat_id, self.card_text(card), reply_markup=self._waiting_buttons(card["id"])
        )
        await self._remember(card["id"], sent, "card")

    async def claimed(self, card: Card) -> None:
        await self._set_buttons(card["id"], self._claimed_buttons(card["id"]))
        await self._notice(card, self._say("reps.taken_by", rep=card["rep"]))

    async def relay(self, card: Card, name: str, text: str) -> None:
        said = self._say("reps.prospect_says", name=name, text=text)
        for piece in split_text(said):
            sent = await self.bot.send_message(
                self.chat_id, piece, reply_parameters=await self._reply_to_card(card["id"])
            )
            await self._remember(card["id"], sent, "relay")

    async def remind(self, card: Card) -> None:
        minutes = max(1, card["age_seconds"] // 60)
        name = card["lead"]["name"] or f"#{card['lead']['id']}"
        await self._notice(card, self._say("reps.waiting", id=card["id"], age=minutes, name=name))

    async def answered(self, card: Card) -> None:
        """The group saw the rep's reply itself, or it came from the API or the console."""

    async def released(self, card: Card) -> None:
        await self._set_buttons(card["id"], None)
        await self._notice(card, self._say("reps.released", rep=card["rep"] or "?"))

    async def expired(self, card: Card) -> None:
        await self._set_buttons(card["id"], None)
        days = max(1, card["age_seconds"] // 86400)
        await self._notice(card, self._say("reps.expired", id=card["id"], days=days))

    async def send_transcript(self, card: Card, messages: list[dict[str, Any]]) -> None:
        lines = [f"{m['at'][11:16]} {m['author']}: {m['text']}" for m in messages]
        for piece in split_text("\n".join(lines) or "-"):
            await self.bot.send_message(
                self.chat_id, piece, reply_parameters=await self._reply_to_card(card["id"])
            )

    async def handoff_of(self, message_id: int) -> int | None:
        """The handoff a message in the group belongs to (its card or a relayed message)."""
        async with self.sessions() as session:
            return await session.scalar(
                select(HandoffMessage.handoff_id).where(
                    HandoffMessage.chat_id == self.chat_id,
                    HandoffMessage.message_id == message_id,
                )
            )

    def card_text(self, card: Card) -> str:
        """The card as the group reads it: who, how to reach them, where they are and why."""
        lead, say = card["lead"], self._label
        reason = self.catalog.render(f"reps.reason.{card['reason']}", self.language)
        contact = ", ".join(x for x in (lead["phone"], lead["email"]) if x) or say("unknown")
        stages = " → ".join([h["from"] for h in lead["stage_history"][:1]] +
                            [h["to"] for h in lead["stage_history"]]) or lead["stage"]  # fmt: skip
        reasons = "; ".join(f"{r['points']:+g} {r['reason']}" for r in lead["score_reasons"])
        lines = [
            self._say("reps.new", id=card["id"], reason=reason),
            f"{say('who')}: {lead['name'] or say('unknown')} ({lead['language'] or '?'})",
            f"{say('contact')}: {contact}",
            f"{say('channel')}: {card['channel']} · {say('source')}: {lead['source'] or '?'}",
            f"{say('stage')}: {stages}",
            f"{say('score')}: {lead['score']:g} ({reasons or '-'})",
        ]
        if card["asked"]:
            lines.append(f"{say('asked')}:")
            lines += [f"  • {a['text']} [{a['intent']}]" for a in card["asked"]]
        if card["booking_form"]:
            form = ", ".join(f"{k}: {v}" for k, v in card["booking_form"].items())
            lines.append(f"{say('booking_form')}: {form}")
        if card["bookings"]:
            lines.append(f"{say('bookings')}:")
            lines += [f"  • {b['product_id']} {b['branch_id']} {b['starts_at'][:16]} {b['status']}"
                      for b in card["bookings"]]  # fmt: skip
        lines.append(f"{say('last_messages')}:")
        lines += [f"  {m['author']}: {m['text']}" for m in card["last_messages"]]
        lines.append(card["transcript_url"])
        return "\n".join(lines)[:4000]

    # -- helpers ----------------------------------------------------------------------

    def _say(self, key: str, **params: Any) -> str:
        return self.catalog.render(key, self.language, **params)

    def _label(self, name: str) -> str:
        return self.catalog.render(f"reps.{name}", self.language)

    def _button(self, key: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=self._say(key), callback_data=data)

    def _waiting_buttons(self, handoff_id: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[
            self._button("reps.take", f"{TAKE}{handoff_id}"),
            self._button("reps.transcript", f"{TRANSCRIPT}{handoff_id}"),
        ]])  # fmt: skip

    def _claimed_buttons(self, handoff_id: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[
            self._button("reps.transcript", f"{TRANSCRIPT}{handoff_id}"),
            self._button("reps.release", f"{RELEASE}{handoff_id}"),
        ]])  # fmt: skip

    async def _notice(self, card: Card, text: str) -> None:
        sent = await self.bot.send_message(
            self.chat_id, text, reply_parameters=await self._reply_to_card(card["id"])
        )
        await self._remember(card["id"], sent, "notice")

    async def _card_message(self, handoff_id: int) -> int | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(HandoffMessage.message_id)
                .where(HandoffMessage.handoff_id == handoff_id, HandoffMessage.kind == "card")
                .order_by(HandoffMessage.id.desc())
                .limit(1)
            )

    async def _reply_to_card(self, handoff_id: int) -> ReplyParameters | None:
        card_message = await self._card_message(handoff_id)
        if card_message is None:
            return None
        return ReplyParameters(message_id=card_message, allow_sending_without_reply=True)

    async def _set_buttons(self, handoff_id: int, markup: InlineKeyboardMarkup | None) -> None:
        card_message = await self._card_message(handoff_id)
        if card_message is None:
            return
        with contextlib.suppress(TelegramBadRequest):  # "message is not modified"
            await self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=card_message, reply_markup=markup
            )

    async def _remember(self, handoff_id: int, sent: Message, kind: str) -> None:
        async with self.sessions() as session:
            session.add(HandoffMessage(
                handoff_id=handoff_id, chat_id=self.chat_id, message_id=sent.message_id,
                kind=kind,
            ))  # fmt: skip
            try:
                await session.commit()
            except IntegrityError:  # remembered already
                await session.rollback()
