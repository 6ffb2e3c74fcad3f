"""Cross-cutting work on every Telegram update: one chat at a time, each update once."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import seen_updates
from bot.storage.engine import while_unreachable

log = structlog.get_logger(__name__)
KEEP_CLAIMS = timedelta(days=2)
FORGET_EVERY = 1000  # updates
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class OneChatAtATime(BaseMiddleware):
    """A chat's updates are handled in the order they arrived, one after the other.

    aiogram handles updates as concurrent tasks; without this, "book for 11"
    and "actually 12" sent a second apart could reach Rasa the other way
    round. asyncio.Lock is fair (first come, first served) and this runs
    before anything else awaits, so the arrival order holds. Locks of idle
    chats are dropped, so the table does not grow with every chat ever seen.
    """

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None:
            return await handler(event, data)
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                return await handler(event, data)
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:
                del self._waiting[chat.id], self._locks[chat.id]


class OncePerUpdate(BaseMiddleware):
    """Telegram redelivers an update it thinks we missed; it is handled only the first time.

    The claim is a row in the database (bot.seen_updates), so it survives a
    restart and holds across replicas. The dispatcher's ``sessions`` reach it
    as handler data, set once the database is up.

    While the database is unreachable (a restart), the claim and then the
    update are retried for up to a minute instead of failing: aiogram has
    already confirmed the update to Telegram, so giving up would lose it. A
    turn cut off half-way is then handled again from the start.
    """

    def __init__(self) -> None:
        self._claims = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        sessions: async_sessionmaker[AsyncSession] = data["sessions"]
        if not await while_unreachable(lambda: self._claim(sessions, event.update_id)):
            log.info("telegram.duplicate_update", update_id=event.update_id)
            return None
        return await while_unreachable(lambda: handler(event, data))

    async def _claim(self, sessions: async_sessionmaker[AsyncSession], update_id: int) -> bool:
        async with sessions() as session:
            first = await seen_updates.claim(session, "telegram", update_id)
            self._claims += 1
            if self._claims % FORGET_EVERY == 0:  # Telegram redelivers for a day at most
                await seen_updates.forget_before(session, datetime.now(UTC) - KEEP_CLAIMS)
            return first
