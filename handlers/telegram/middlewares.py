"""Cross-cutting work on every Telegram update: a chat's updates in the order they came.

Each update being handled once (Telegram redelivers what it thinks we
missed, also after a restart) is not a middleware: the update id is the
inbound message's idempotency key, stored with the message in one
transaction by the conversation service.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject

from bot.conversation.locks import KeyedLocks

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class OneChatAtATime(BaseMiddleware):
    """A chat's updates are handled in the order they arrived, one after the other.

    aiogram handles updates as concurrent tasks; without this, "book for 11"
    and "actually 12" sent a second apart could be taken the other way round.
    The lock is fair and taken before anything else awaits, so the arrival
    order holds.
    """

    def __init__(self) -> None:
        self._locks = KeyedLocks()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None:
            return await handler(event, data)
        async with self._locks.hold(chat.id):
            return await handler(event, data)
