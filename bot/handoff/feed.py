"""The console's inbox hears of every handoff change as it happens.

A desk like the Telegram group, but for the pages open in the console: each
open inbox subscribes and gets a queue of changes (the kind and the card),
and redraws itself. With several app replicas (Redis) each change also goes to the
others, so an inbox open on replica A sees a handoff taken through replica B.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.handoff.card import Card
from bot.storage.bus import Bus

QUEUE_SIZE = 100  # a page this far behind has stopped reading: it misses changes, not memory


@dataclass(frozen=True)
class Change:
    kind: str  # announced | claimed | relayed | answered | reminded | released | expired
    card: Card


class Feed:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Change | None]] = set()
        self.bus: Bus | None = None  # set in the production mode

    @contextmanager
    def subscribe(self) -> Iterator["asyncio.Queue[Change | None]"]:
        """A queue of changes while the page is open; ``None`` in it: the app is stopping."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def close(self) -> None:
        for queue in self._queues:
            _offer(queue, None)

    def publish(self, kind: str, card: Card) -> None:
        """Tell the inboxes open in this process."""
        for queue in self._queues:
            _offer(queue, Change(kind, card))

    async def heard(self, data: dict[str, Any]) -> None:
        """A change on another replica."""
        self.publish(str(data["kind"]), data["card"])

    async def _changed(self, kind: str, card: Card) -> None:
        self.publish(kind, card)
        if self.bus is not None:
            await self.bus.publish("inbox", {"kind": kind, "card": card})

    # -- the Desk protocol --------------------------------------------------------------

    async def announce(self, card: Card) -> None:
        await self._changed("announced", card)

    async def claimed(self, card: Card) -> None:
        await self._changed("claimed", card)

    async def relay(self, card: Card, name: str, text: str) -> None:
        await self._changed("relayed", card)

    async def answered(self, card: Card) -> None:
        await self._changed("answered", card)

    async def remind(self, card: Card) -> None:
        await self._changed("reminded", card)

    async def released(self, card: Card) -> None:
        await self._changed("released", card)

    async def expired(self, card: Card) -> None:
        await self._changed("expired", card)


def _offer(queue: "asyncio.Queue[Change | None]", change: Change | None) -> None:
    if not queue.full():
        queue.put_nowait(change)
