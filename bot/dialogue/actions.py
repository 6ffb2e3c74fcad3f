"""Rasa's custom-action protocol, as the app serves it: one call in, events and responses out.

The types every action is written against: ``ActionCall`` (the tracker Rasa
posts, with our database session and services) and ``ActionResult`` (Rasa's
``{"events": [...], "responses": [...]}``). Responses carry catalog keys; the
conversation service turns them into words in the prospect's language.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.storage.models import Conversation


class UnknownAction(Exception):
    pass


class ActionRejected(Exception):
    """The action cannot run on this tracker (Rasa then predicts something else)."""


@dataclass(frozen=True)
class Services:
    """What the actions need besides the database: the catalog (and its profile), the clock."""

    catalog: Catalog
    clock: Clock


@dataclass
class ActionCall:
    """One call from Rasa: the action's name, the conversation's tracker, the domain."""

    name: str
    sender_id: str
    tracker: dict[str, Any]
    domain: dict[str, Any]
    session: AsyncSession
    services: Services

    async def conversation(self) -> Conversation | None:
        """Our conversation behind Rasa's sender id; None when Rasa is used directly."""
        if not self.sender_id.isdigit():
            return None
        return await self.session.get(Conversation, int(self.sender_id))

    def slot(self, name: str) -> Any:
        return (self.tracker.get("slots") or {}).get(name)

    @property
    def message(self) -> dict[str, Any]:
        """The prospect's latest message as Rasa parsed it (text, intent, entities, metadata)."""
        latest: dict[str, Any] = self.tracker.get("latest_message") or {}
        return latest

    @property
    def intent(self) -> str | None:
        return (self.message.get("intent") or {}).get("name")

    @property
    def language(self) -> str:
        """The language the app chose for this turn (sent to Rasa as message metadata)."""
        metadata = self.message.get("metadata") or {}
        return str(metadata.get("language") or self.services.catalog.default_language)

    def previous_action(self) -> str | None:
        """The bot's last action before the prospect's latest message: what it had just asked."""
        events = self.tracker.get("events") or []
        last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
        for event in reversed(events[: max(last_user, 0)]):
            if event.get("event") == "action" and event.get("name") != "action_listen":
                return str(event.get("name"))
        return None


@dataclass
class ActionResult:
    events: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    def say(
        self,
        key: str,
        buttons: list[dict[str, str]] | None = None,
        attachment: dict[str, str] | None = None,
        **params: Any,
    ) -> "ActionResult":
        """A catalog key to say, its parameters, and buttons ({"title", "payload"})."""
        custom: dict[str, Any] = {"key": key, "params": params}
        if buttons:
            custom["buttons"] = buttons
        if attachment:
            custom["attachment"] = attachment
        self.responses.append({"custom": custom})
        return self

    def set(self, **slots: Any) -> "ActionResult":
        self.events.extend({"event": "slot", "name": k, "value": v} for k, v in slots.items())
        return self


Action = Callable[[ActionCall], Awaitable[ActionResult]]
