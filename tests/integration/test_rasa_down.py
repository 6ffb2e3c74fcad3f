"""Rasa dies mid-conversation: the prospect gets a polite answer, nothing is lost,
the supervisor brings Rasa back, and Rasa still knows where each dialogue was."""

import pytest

from handlers.context import RASA_PROCESSES
from tests.conftest import RunningBot, eventually

pytestmark = pytest.mark.integration


async def test_rasa_killed_mid_conversation_then_restarted_with_its_dialogues(
    bot: RunningBot,
) -> None:
    """One prospect is chatting, another is half-way through the booking form. Rasa is
    killed: the first is answered politely, the message kept. Restarted (one restart
    for both checks: loading the model takes a minute), Rasa still knows the car the
    second one chose (its SQL tracker store) and asks only what is left."""
    (process,) = bot.app[RASA_PROCESSES]
    first = await bot.chat("int-crash", "hello")
    assert first["replies"][0]["text"].startswith("Hi!")
    booker = "int-restart-form"
    start = await bot.chat(booker, "I'd like to book a test drive", language="en")
    tucson = start["replies"][-1]["buttons"][2]["payload"]
    ask_branch = await bot.chat(booker, tucson)
    assert ask_branch["replies"][-1]["text"].startswith("At which showroom"), ask_branch
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
    ask_when = await bot.chat(booker, "Haifa please")
    slots = ask_when["replies"][-1]["buttons"]
    assert slots and all(b["payload"].startswith('/inform{"when"') for b in slots), ask_when
