"""The name-to-action registry and its executor (as in rasa_sdk's executor).

The HTTP layer (``handlers/rasa_actions.py``) maps ``ActionRejected`` to 400
and ``UnknownAction`` to 404; each call gets one database session and commits
once, after the action.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogue import booking_form
from bot.dialogue.actions import Action, ActionCall, ActionRejected, Services, UnknownAction
from bot.dialogue.greet import action_greet


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


def default_registry(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> ActionRegistry:
    registry = ActionRegistry(sessions, services)
    registry.register("action_greet", action_greet)
    for name, action in booking_form.ACTIONS.items():
        registry.register(name, action)
    return registry
