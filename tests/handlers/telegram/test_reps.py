"""Handoffs through the reps' Telegram group: the real aiogram code in the real app, the
fake Bot API server and the fake Rasa server (tests/integration/test_handoff.py has the
same with the real Rasa). The clock is a hand-set Monday 10:00 in Israel."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage.models import FollowUp, Handoff, Touchpoint
from handlers.context import CATALOG, CLOCK, FOLLOWUPS, SESSIONS
from tests.conftest import (
    REPS_CHAT,
    RunningBot,
    eventually,
    monday_morning,
    on_fake,
    serve_with,
    telegram_of,
)
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.fakes.rasa import FakeRasa

PROSPECT = 4242
DANA, YOSSI = 9001, 9002  # two reps in the group


def say(bot: RunningBot, key: str, language: str = "en", **params: Any) -> str:
    return str(bot.app[CATALOG].render(key, language, **params))


async def ask_for_a_person(bot: RunningBot, api: FakeBotAPI) -> Call:
    """A prospect shares a phone, asks the price and for a person; the reps' card."""
    contact = {"phone_number": "972525551234", "first_name": "Noa", "user_id": PROSPECT}
    api.push_update(api.message_update(PROSPECT, contact=contact))
    await api.wait_for("sendMessage", 1, chat_id=PROSPECT)
    api.push_update(api.message_update(PROSPECT, "how much is the RAV4?"))
    await api.wait_for("sendMessage", 2, chat_id=PROSPECT)
    api.push_update(api.message_update(PROSPECT, "I want to talk to a person"))
    [card] = await api.wait_for("sendMessage", 1, chat_id=REPS_CHAT)
    await api.wait_for("sendMessage", 3, chat_id=PROSPECT)  # the promise, just after the card
    return card


def card_id(api: FakeBotAPI) -> int:
    """The message id of the card the bot posted in the reps' group."""
    [card] = [c for c in api.sent("sendMessage", chat_id=REPS_CHAT) if "reply_markup" in c.params]
    return int(card.result["message_id"])  # type: ignore[index]


async def handoff(bot: RunningBot) -> Handoff:
    async with bot.app[SESSIONS]() as session:
        found = await session.scalar(select(Handoff))
        assert found is not None
        return found


async def press(api: FakeBotAPI, data: str, rep: int, name: str) -> None:
    api.push_update(
        api.callback_update(REPS_CHAT, data, message_id=card_id(api), user_id=rep, first_name=name)
    )


async def test_asking_for_a_person_puts_the_whole_lead_on_a_card_in_the_reps_group(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    card = await ask_for_a_person(reps_bot, bot_api)

    [*_, promise] = await bot_api.wait_for("sendMessage", 3, chat_id=PROSPECT)
    assert promise.params["text"] == say(reps_bot, "handoff.coming")  # the team is in
    text = card.params["text"]
    assert text.startswith("🙋 Handoff #1: asked for a person")
    assert "Who: Noa (en)" in text and "+972525551234" in text and "telegram" in text
    assert "how much is the RAV4? [ask_price]" in text
    assert "I want to talk to a person [request_human]" in text
    assert "awareness" in text and "consideration" in text  # the stage history
    assert "shared a phone number" in text  # the score's reasons
    assert text.rstrip().endswith("/console/conversations/1")
    [[take, transcript]] = card.params["reply_markup"]["inline_keyboard"]
    assert (take["callback_data"], transcript["callback_data"]) == ("ho:take:1", "ho:transcript:1")
    found = await handoff(reps_bot)
    assert (found.status, found.reason) == ("waiting", "request_human")


async def test_two_reps_pressing_take_at_once_one_wins_and_the_other_is_told(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await press(bot_api, "ho:take:1", YOSSI, "Yossi")

    answers = await bot_api.wait_for("answerCallbackQuery", 2)
    texts = sorted(str(a.params.get("text")) for a in answers)
    assert texts == sorted([say(reps_bot, "reps.yours"), say(reps_bot, "reps.has_it", rep="Dana")])
    found = await handoff(reps_bot)
    assert (found.status, found.rep, found.rep_key) == ("claimed", "Dana", f"telegram:{DANA}")
    [*_, joined] = await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)
    assert joined.params["text"] == say(reps_bot, "handoff.joined", rep="Dana")
    async with reps_bot.app[SESSIONS]() as session:
        claims = list(await session.scalars(select(Touchpoint).where(Touchpoint.kind == "handoff")))
    assert [c.data["action"] for c in claims] == ["requested", "claimed"]


async def test_a_rep_and_the_prospect_talk_through_the_bot_which_stays_silent(
    reps_bot: RunningBot, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)  # "Dana has joined"
    asked_rasa = len(fake_rasa.calls)

    bot_api.push_update(bot_api.group_message_update(
        REPS_CHAT, DANA, "Hi Noa, the RAV4 is in stock. When can you come?",
        first_name="Dana", reply_to=card_id(bot_api),
    ))  # fmt: skip
    [*_, answer] = await bot_api.wait_for("sendMessage", 5, chat_id=PROSPECT)
    assert answer.params["text"] == "Hi Noa, the RAV4 is in stock. When can you come?"

    bot_api.push_update(bot_api.message_update(PROSPECT, "Tomorrow after work"))
    relayed = await bot_api.wait_for("sendMessage", 3, chat_id=REPS_CHAT)  # card, taken, relay
    assert relayed[-1].params["text"] == "💬 Noa: Tomorrow after work"
    assert relayed[-1].params["reply_parameters"]["message_id"] == card_id(bot_api)
    assert len(fake_rasa.calls) == asked_rasa  # the bot said nothing, asked nothing

    # Replying to the relayed message answers the same prospect.
    bot_api.push_update(bot_api.group_message_update(
        REPS_CHAT, DANA, "Great, see you at 18:00", first_name="Dana",
        reply_to=int(relayed[-1].result["message_id"]),  # type: ignore[index]
    ))  # fmt: skip
    [*_, confirm] = await bot_api.wait_for("sendMessage", 6, chat_id=PROSPECT)
    assert confirm.params["text"] == "Great, see you at 18:00"

    async def both_delivered() -> bool:
        async with reps_bot.app[SESSIONS]() as session:
            said = await session.scalars(select(Touchpoint).where(Touchpoint.author == "rep"))
            return [(t.data["rep"], t.status) for t in said] == [("Dana", "delivered")] * 2

    await eventually(both_delivered)
    async with reps_bot.app[SESSIONS]() as session:
        inbound = await session.scalar(
            select(Touchpoint).where(Touchpoint.text == "Tomorrow after work")
        )
    assert inbound is not None and inbound.status == "for_rep"
    found = await handoff(reps_bot)
    assert found.first_reply_at is not None


async def test_another_rep_cannot_answer_a_handoff_that_is_not_theirs(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await bot_api.wait_for("answerCallbackQuery", 1)
    bot_api.push_update(bot_api.group_message_update(
        REPS_CHAT, YOSSI, "I'll take it from here", first_name="Yossi", reply_to=card_id(bot_api),
    ))  # fmt: skip
    notices = await bot_api.wait_for("sendMessage", 3, chat_id=REPS_CHAT)
    assert notices[-1].params["text"] == say(reps_bot, "reps.has_it", rep="Dana")
    texts = [c.params["text"] for c in bot_api.sent("sendMessage", chat_id=PROSPECT)]
    assert "I'll take it from here" not in texts


async def test_return_to_bot_resets_rasa_and_asks_one_satisfaction_question(
    reps_bot: RunningBot, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)
    await press(bot_api, "ho:release:1", DANA, "Dana")

    [*_, question] = await bot_api.wait_for("sendMessage", 5, chat_id=PROSPECT)
    assert question.params["text"] == say(reps_bot, "handoff.back_to_bot", rep="Dana")
    [row] = question.params["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for b in row] == [f"csat:{n}" for n in range(1, 6)]
    assert fake_rasa.resets == ["1"]  # the conversation, afresh in Rasa

    bot_api.push_update(bot_api.callback_update(PROSPECT, "csat:4"))
    [*_, thanks] = await bot_api.wait_for("sendMessage", 6, chat_id=PROSPECT)
    assert thanks.params["text"] == say(reps_bot, "handoff.rated")
    found = await handoff(reps_bot)
    assert (found.status, found.satisfaction) == ("closed", 4)
    asked_rasa = len(fake_rasa.calls)
    bot_api.push_update(bot_api.message_update(PROSPECT, "thanks"))
    await bot_api.wait_for("sendMessage", 7, chat_id=PROSPECT)
    assert len(fake_rasa.calls) == asked_rasa + 1  # the bot answers again
    async with reps_bot.app[SESSIONS]() as session:
        rated = await session.scalar(
            select(Touchpoint.data).where(Touchpoint.kind == "handoff").order_by(
                Touchpoint.id.desc()).limit(1)
        )  # fmt: skip
    assert rated == {"action": "rated", "handoff_id": 1, "score": 4}


async def test_nobody_taking_it_escalates_then_the_prospect_is_told_and_offered_a_call_back(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    clock, runner = reps_bot.app[CLOCK], reps_bot.app[FOLLOWUPS]
    clock.advance(timedelta(minutes=4, seconds=50))  # type: ignore[attr-defined]
    assert await runner.run_due() == []
    clock.advance(timedelta(seconds=20))  # type: ignore[attr-defined]
    [reminded] = await runner.run_due()
    assert reminded.kind == "handoff_remind" and reminded.status == "sent"
    [*_, reminder] = await bot_api.wait_for("sendMessage", 2, chat_id=REPS_CHAT)
    assert reminder.params["text"] == say(reps_bot, "reps.waiting", id=1, age=5, name="Noa")

    clock.advance(timedelta(minutes=25))  # type: ignore[attr-defined]
    [gave_up] = await runner.run_due()
    assert gave_up.kind == "handoff_give_up"
    [*_, honest] = await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)
    assert honest.params["text"] == say(reps_bot, "handoff.gave_up")
    [[callback]] = honest.params["reply_markup"]["inline_keyboard"]
    assert callback["callback_data"] == "/book_appointment"
    found = await handoff(reps_bot)
    assert found.status == "waiting"  # still open, with its age, for whoever comes


async def test_a_taken_handoff_does_not_escalate(reps_bot: RunningBot, bot_api: FakeBotAPI) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await bot_api.wait_for("answerCallbackQuery", 1)
    reps_bot.app[CLOCK].advance(timedelta(minutes=31))  # type: ignore[attr-defined]
    handled = await reps_bot.app[FOLLOWUPS].run_due()
    assert sorted(f.status for f in handled) == ["skipped", "skipped"]
    async with reps_bot.app[SESSIONS]() as session:
        kinds = set(await session.scalars(select(FollowUp.kind)))
    assert kinds == {"handoff_remind", "handoff_give_up", "handoff_expire"}


async def test_a_restart_mid_handoff_keeps_who_has_it_and_the_relay(
    tmp_path: Path, fake_rasa: FakeRasa, bot_api: FakeBotAPI
) -> None:
    settings = on_fake(
        fake_rasa, tmp_path, followup_interval_seconds=3600, telegram_reps_chat_id=REPS_CHAT,
        **telegram_of(bot_api),
    )  # fmt: skip
    start = monday_morning() + timedelta(hours=2)
    async for first in serve_with(fake_rasa, settings, ManualClock(start)):
        await ask_for_a_person(first, bot_api)
        await press(bot_api, "ho:take:1", DANA, "Dana")
        await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)
    async for second in serve_with(fake_rasa, settings, ManualClock(start)):  # the same database
        bot_api.push_update(bot_api.message_update(PROSPECT, "Are you still there?"))
        relayed = await bot_api.wait_for("sendMessage", 3, chat_id=REPS_CHAT)
        assert relayed[-1].params["text"] == "💬 Noa: Are you still there?"
        bot_api.push_update(bot_api.group_message_update(
            REPS_CHAT, DANA, "Yes, here!", first_name="Dana", reply_to=card_id(bot_api),
        ))  # fmt: skip
        [*_, answer] = await bot_api.wait_for("sendMessage", 5, chat_id=PROSPECT)
        assert answer.params["text"] == "Yes, here!"
        found = await handoff(second)
        assert (found.status, found.rep) == ("claimed", "Dana")


async def test_a_rep_reply_delivered_twice_by_telegram_reaches_the_prospect_once(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    await press(bot_api, "ho:take:1", DANA, "Dana")
    await bot_api.wait_for("sendMessage", 4, chat_id=PROSPECT)
    reply = bot_api.group_message_update(
        REPS_CHAT, DANA, "One message", first_name="Dana", reply_to=card_id(bot_api),
        update_id=99_000,
    )  # fmt: skip
    bot_api.push_update(reply)
    await bot_api.wait_for("sendMessage", 5, chat_id=PROSPECT)
    bot_api.push_update(reply | {"update_id": 99_000})
    bot_api.push_update(bot_api.message_update(PROSPECT, "ok"))  # something after it
    await bot_api.wait_for("sendMessage", 3, chat_id=REPS_CHAT)
    await asyncio.sleep(0.2)
    texts = [c.params["text"] for c in bot_api.sent("sendMessage", chat_id=PROSPECT)]
    assert texts.count("One message") == 1


async def test_a_handoff_nobody_takes_for_a_week_expires_and_a_new_one_can_open(
    reps_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await ask_for_a_person(reps_bot, bot_api)
    reps_bot.app[CLOCK].advance(timedelta(days=7, minutes=1))  # type: ignore[attr-defined]
    handled = await reps_bot.app[FOLLOWUPS].run_due()
    assert sorted((f.kind, f.status) for f in handled) == [
        ("handoff_expire", "sent"), ("handoff_give_up", "sent"), ("handoff_remind", "sent"),
    ]  # fmt: skip
    found = await handoff(reps_bot)
    assert found.status == "expired" and found.closed_at is not None
    notices = [c.params["text"] for c in bot_api.sent("sendMessage", chat_id=REPS_CHAT)]
    assert say(reps_bot, "reps.expired", id=1, days=7) in notices
    [edit] = bot_api.sent("editMessageReplyMarkup")
    assert "reply_markup" not in edit.params  # the card has no Take button any more

    bot_api.push_update(bot_api.message_update(PROSPECT, "I want to talk to a person"))
    await bot_api.wait_for("sendMessage", len(notices) + 1, chat_id=REPS_CHAT)
    async with reps_bot.app[SESSIONS]() as session:
        statuses = list(await session.scalars(select(Handoff.status).order_by(Handoff.id)))
    assert statuses == ["expired", "waiting"]
