"""Rasa dies mid-conversation: the prospect gets a polite answer, nothing is lost,
and the supervisor brings Rasa back."""

import pytest

from handlers.context import RASA_PROCESS
from tests.conftest import RunningBot, eventually

pytestmark = pytest.mark.integration


async def test_rasa_killed_mid_conversation_then_restarted(bot: RunningBot) -> None:
    process = bot.app[RASA_PROCESS]
    first = await bot.chat("int-crash", "hello")
    assert first["replies"][0]["text"].startswith("Hi!")
    restarts = process.restarts

    process.kill()
    during = await bot.chat("int-crash", "I'd like to book a test drive on friday")

    assert during["replies"][0]["text"] == (
        "Sorry, I'm having trouble right now. I've saved your message and a person "
        "from our team will follow up with you shortly."
    )
    lead = await bot.lead(during["lead_id"])
    inbound = [t for t in lead["touchpoints"] if t["direction"] == "in"]
    assert inbound[-1]["text"] == "I'd like to book a test drive on friday"
    assert inbound[-1]["status"] == "failed"

    async def supervisor_noticed() -> bool:  # the crash, which it learns a moment later
        return process.restarts > restarts

    await eventually(supervisor_noticed, seconds=30)
    await process.wait_ready()  # the supervisor restarts Rasa by itself
    assert process.restarts == restarts + 1
    after = await bot.chat("int-crash", "bye")
    assert after["replies"][0]["text"].startswith("Thanks for stopping by!")
