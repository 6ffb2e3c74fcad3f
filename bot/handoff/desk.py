"""Where reps see handoffs: the card, the prospect's words, reminders. A Telegram group
today (handlers/telegram/desk.py); the API and the console read the same records."""

from typing import Protocol

from bot.handoff.card import Card


class Desk(Protocol):
    async def announce(self, card: Card) -> None:
        """A new handoff: the card, with a way to take it."""

    async def claimed(self, card: Card) -> None:
        """A rep took it: who, and a way to hand it back."""

    async def relay(self, card: Card, name: str, text: str) -> None:
        """What the prospect says while a rep owns the conversation."""

    async def remind(self, card: Card) -> None:
        """Nobody took it yet: its age."""

    async def released(self, card: Card) -> None:
        """Handed back to the bot."""

    async def expired(self, card: Card) -> None:
        """Nobody took it in the end: it leaves the queue."""


class NoDesk:
    """No reps' group configured: handoffs wait in the API (and the console)."""

    async def announce(self, card: Card) -> None:
        return None

    async def claimed(self, card: Card) -> None:
        return None

    async def relay(self, card: Card, name: str, text: str) -> None:
        return None

    async def remind(self, card: Card) -> None:
        return None

    async def released(self, card: Card) -> None:
        return None

    async def expired(self, card: Card) -> None:
        return None
