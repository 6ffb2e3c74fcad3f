"""One turn at a time per conversation, first come first served, in this process.

Turns of one conversation must not overlap: "book for 11" and "actually 12"
sent a second apart would reach Rasa in either order, and a channel's retry
of a message still being answered must wait and find it answered. asyncio's
Lock is fair, so waiting turns go in arrival order. Locks of idle keys are
dropped, so the table does not grow with every conversation ever seen.
"""

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._holders: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
