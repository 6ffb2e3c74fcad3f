"""Cross-cutting work on every Telegram update: a chat's updates in the order they came,
and the updates in flight awaited before the bot's session closes.

Each update being handled once (Telegram redelivers what it thinks we
missed, also after a restart) is not a middleware: the update id is the
inbound message's idempotency key, stored with the message in one
transaction by the conversation service.
"""

import asyncio
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


class InFlight(BaseMiddleware):
    """Updates being handled, so shutdown can let them finish.

    aiogram's polling handles each update as a task and ``stop_polling`` does not
    wait for those tasks. A turn still running when the bot's session closes would
    open a new session to send its answer, one nobody closes, and its answer could
    be cut off half-way through delivery.
    """

    def __init__(self) -> None:
        self._running: set[asyncio.Future[Any]] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running.add(done)
        try:
            return await handler(event, data)
        finally:
            self._running.discard(done)
            done.set_result(None)

    async def finished(self, within: float) -> int:
        """Wait up to ``within`` seconds for the updates in flight; returns how many
        were still running when the wait ended."""
        if not self._running:
            return 0
        _, pending = await asyncio.wait(set(self._running), timeout=within)
        return len(pending)
