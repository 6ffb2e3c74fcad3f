"""The console's inbox hears of every handoff change as it happens.

A desk like the Telegram group, but for the pages open in the console: each
open inbox subscribes and gets a queue of changes (the kind and the card),
and redraws itself. In this process only: with several app replicas the
changes have to travel through Redis (the production mode).
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.handoff.card import Card

QUEUE_SIZE = 100  # a page this far behind has stopped reading: it misses changes, not memory


@dataclass(frozen=True)
class Change:
    kind: str  # announced | claimed | relayed | answered | reminded | released | expired
    card: Card


class Feed:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Change | None]] = set()

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
        for queue in self._queues:
            _offer(queue, Change(kind, card))

    # -- the Desk protocol --------------------------------------------------------------

    async def announce(self, card: Card) -> None:
        self.publish("announced", card)

    async def claimed(self, card: Card) -> None:
        self.publish("claimed", card)

    async def relay(self, card: Card, name: str, text: str) -> None:
        self.publish("relayed", card)

    async def answered(self, card: Card) -> None:
        self.publish("answered", card)

    async def remind(self, card: Card) -> None:
        self.publish("reminded", card)

    async def released(self, card: Card) -> None:
        self.publish("released", card)

    async def expired(self, card: Card) -> None:
        self.publish("expired", card)


def _offer(queue: "asyncio.Queue[Change | None]", change: Change | None) -> None:
    if not queue.full():
        queue.put_nowait(change)
