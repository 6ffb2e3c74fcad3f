"""Where reps see handoffs: the card, the prospect's words, reminders. A Telegram group
today (handlers/telegram/desk.py); the API and the console read the same records."""

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.handoff.card import Card


class Desk(Protocol):
    async def announce(self, card: Card) -> None:
        """A new handoff: the card, with a way to take it."""

    async def claimed(self, card: Card) -> None:
        """A rep took it: who, and a way to hand it back."""

    async def relay(self, card: Card, name: str, text: str) -> None:
        """What the prospect says while a rep owns the conversation."""

    async def answered(self, card: Card) -> None:
        """A rep's words went to the prospect (from any desk)."""

    async def remind(self, card: Card) -> None:
        """Nobody took it yet: its age."""

    async def released(self, card: Card) -> None:
        """Handed back to the bot."""

    async def expired(self, card: Card) -> None:
        """Nobody took it in the end: it leaves the queue."""


class Desks:
    """Several desks told the same, in order (the console's inbox, then the Telegram
    group): what one of them raises still reaches the caller, after the others."""

    def __init__(self, *desks: Desk) -> None:
        self.desks = desks

    async def announce(self, card: Card) -> None:
        await self._each(lambda desk: desk.announce(card))

    async def claimed(self, card: Card) -> None:
        await self._each(lambda desk: desk.claimed(card))

    async def relay(self, card: Card, name: str, text: str) -> None:
        await self._each(lambda desk: desk.relay(card, name, text))

    async def answered(self, card: Card) -> None:
        await self._each(lambda desk: desk.answered(card))

    async def remind(self, card: Card) -> None:
        await self._each(lambda desk: desk.remind(card))

    async def released(self, card: Card) -> None:
        await self._each(lambda desk: desk.released(card))

    async def expired(self, card: Card) -> None:
        await self._each(lambda desk: desk.expired(card))

    async def _each(self, tell: Callable[[Desk], Awaitable[None]]) -> None:
        failed: Exception | None = None
        for desk in self.desks:
            try:
                await tell(desk)
            except Exception as error:  # the next desk is still told
                failed = failed or error
        if failed is not None:
            raise failed


class NoDesk:
    """No reps' group configured: handoffs wait in the API (and the console)."""

    async def announce(self, card: Card) -> None:
        return None

    async def claimed(self, card: Card) -> None:
        return None

    async def relay(self, card: Card, name: str, text: str) -> None:
        return None

    async def answered(self, card: Card) -> None:
        return None

    async def remind(self, card: Card) -> None:
        return None

    async def released(self, card: Card) -> None:
        return None

    async def expired(self, card: Card) -> None:
        return None
