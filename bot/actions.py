"""Rasa's custom actions, served by the app (Rasa's action-server protocol).

As in rasa_sdk: a name-to-action registry and an executor that turns Rasa's
request into ``{"events": [...], "responses": [...]}``. The HTTP layer in
``handlers/rasa_actions.py`` maps ``ActionRejected`` to 400 and
``UnknownAction`` to 404. Responses carry catalog keys; the conversation
service turns them into words in the prospect's language.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import touchpoints
from bot.catalog import Catalog
from bot.clock import Clock
from bot.models import Conversation

RETURNING_AFTER = timedelta(hours=1)


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


class ActionRegistry:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], services: Services) -> None:
        self.sessions = sessions
        self.services = services
        self.actions: dict[str, Action] = {}

    def register(self, name: str, action: Action) -> None:
        self.actions[name] = action

    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("next_action")
        if not isinstance(name, str) or not isinstance(request.get("tracker"), dict):
            raise ActionRejected("the request needs 'next_action' and 'tracker'")
        action = self.actions.get(name)
        if action is None:
            raise UnknownAction(name)
        async with self.sessions() as session:
            call = ActionCall(
                name=name,
                sender_id=str(request.get("sender_id") or request["tracker"].get("sender_id")),
                tracker=request["tracker"],
                domain=request.get("domain") or {},
                session=session,
                services=self.services,
            )
            result = await action(call)
            await session.commit()
        return {"events": result.events, "responses": result.responses}


async def action_greet(call: ActionCall) -> ActionResult:
    """Greet, and welcome back a prospect whose last visit was a while ago."""
    conversation = await call.conversation()
    if conversation is None:
        return ActionResult().say("greet")
    current = await touchpoints.latest_inbound(call.session, conversation.id)
    earlier = await touchpoints.previous_inbound(call.session, current) if current else None
    returning = (
        current is not None
        and earlier is not None
        and current.created_at - earlier.created_at >= RETURNING_AFTER
    )
    return ActionResult().say("greet_returning" if returning else "greet")


def default_registry(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> ActionRegistry:
    from bot import booking_dialog  # it builds on this module's types

    registry = ActionRegistry(sessions, services)
    registry.register("action_greet", action_greet)
    for name, action in booking_dialog.ACTIONS.items():
        registry.register(name, action)
    return registry
