"""Custom actions and their executor, on a real database."""

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import leads, touchpoints
from bot.dialogue.actions import ActionRejected, Services, UnknownAction
from bot.dialogue.registry import default_registry
from bot.storage.models import utcnow


def request(action: str, sender_id: str) -> dict[str, object]:
    return {"next_action": action, "sender_id": sender_id, "tracker": {"sender_id": sender_id}}


async def conversation_with_messages(
    sessions: async_sessionmaker[AsyncSession], *ages: timedelta
) -> str:
    """A conversation whose inbound messages were sent ``ages`` ago (oldest first)."""
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "api", "greeter", utcnow())
        await session.flush()
        for age in ages:
            touchpoint = touchpoints.record(
                session, conversation, direction="in", author="prospect", text="hi", at=utcnow()
            )
            await session.flush()  # applies the created_at default
            touchpoint.created_at -= age
        await session.commit()
        return str(conversation.id)


async def test_first_visit_gets_the_plain_greeting(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    sender = await conversation_with_messages(sessions, timedelta(0))
    result = await default_registry(sessions, services).run(request("action_greet", sender))
    assert result == {"events": [], "responses": [{"custom": {"key": "greet", "params": {}}}]}


async def test_a_prospect_back_after_hours_is_welcomed_back(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    sender = await conversation_with_messages(sessions, timedelta(hours=5), timedelta(0))
    result = await default_registry(sessions, services).run(request("action_greet", sender))
    assert result["responses"][0]["custom"]["key"] == "greet_returning"


async def test_two_hellos_in_a_row_are_not_a_return_visit(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    sender = await conversation_with_messages(sessions, timedelta(minutes=2), timedelta(0))
    result = await default_registry(sessions, services).run(request("action_greet", sender))
    assert result["responses"][0]["custom"]["key"] == "greet"


async def test_unknown_action_and_malformed_requests_are_refused(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    registry = default_registry(sessions, services)
    with pytest.raises(UnknownAction):
        await registry.run(request("action_nope", "1"))
    with pytest.raises(ActionRejected):
        await registry.run({"next_action": "action_greet"})


async def test_a_sender_that_is_not_our_conversation_still_gets_greeted(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    """Rasa used directly (rasa shell, its REST channel) has sender ids we do not know."""
    for sender in ("999", "rasa-shell-user"):
        result = await default_registry(sessions, services).run(request("action_greet", sender))
        assert result["responses"][0]["custom"]["key"] == "greet"
