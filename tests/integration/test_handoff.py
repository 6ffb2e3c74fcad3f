"""Handoffs to a person, against the real Rasa server and the real aiogram code on the
fake Bot API: the prospect asks (in each of the five languages), the reps' group gets
the card, one rep takes it, the two talk through the bot while it stays silent, and the
rep hands back to the bot, which asks for a rating. Web chat prospects are reached by
reps through the JSON API. The timers run on a hand-set clock.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage.models import Conversation, Handoff, Touchpoint
from handlers.context import CATALOG, CLOCK, FOLLOWUPS, RASA, SESSIONS
from tests.conftest import (
    REPS_CHAT,
    RunningBot,
    eventually,
    history_of,
    make_settings,
    monday_morning,
    running,
    telegram_of,
)
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.fakes.telegram_people import Prospect, RepsGroup, buttons, callback_data

pytestmark = pytest.mark.integration

DANA, YOSSI = 7001, 7002  # two reps in the group

# Held-out phrasings (tests/nlu/), none of them a training example.
ASKING_FOR_A_PERSON = {
    "en": "i need to speak to a real human being",
    "he": "אפשר לדבר עם נציג אנושי בבקשה",
    "ar": "ممكن اكلم مسؤول المبيعات",
    "fa": "لطفا یه نفر با من تماس بگیره",
    "ro": "ma puteti transfera la cineva de la suport?",
}


@pytest.fixture
def team_in(bot: RunningBot) -> Iterator[ManualClock]:
    """Monday 10:00 in Israel, the showrooms open; the shared clock is put back after."""
    clock = bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    before = clock.now()
    clock.set(monday_morning() + timedelta(hours=2))
    yield clock
    clock.set(before)


def say(bot: RunningBot, key: str, language: str = "en", **params: Any) -> str:
    return str(bot.app[CATALOG].render(key, language, **params))


async def handoff_of(bot: RunningBot, chat_id: int | str) -> Handoff:
    """The newest handoff of the prospect in chat ``chat_id`` (or web visitor)."""
    async with bot.app[SESSIONS]() as session:
        found = await session.scalar(
            select(Handoff)
            .join(Conversation, Conversation.id == Handoff.conversation_id)
            .where(Conversation.external_id == str(chat_id))
            .order_by(Handoff.id.desc())
            .limit(1)
        )
    assert found is not None, f"no handoff for {chat_id}"
    return found


async def rasa_heard(bot: RunningBot, conversation_id: int) -> list[dict[str, Any]]:
    """The events of the conversation's tracker in the real Rasa server."""
    rasa = bot.app[RASA]
    url = f"{rasa.base_url}/conversations/{conversation_id}/tracker"
    query = {"token": rasa.token, "include_events": "ALL"}
    async with aiohttp.ClientSession() as http, http.get(url, params=query) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["events"])


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("text") or "" for e in events if e["event"] == "user"]


def delivered(bot: RunningBot, text: str) -> Callable[[], Awaitable[bool]]:
    """Whether the bot's message ``text`` to a prospect was confirmed delivered."""

    async def delivered_to_the_prospect() -> bool:
        async with bot.app[SESSIONS]() as session:
            status = await session.scalar(select(Touchpoint.status).where(Touchpoint.text == text))
        return status == "delivered"

    return delivered_to_the_prospect


async def nothing_more(prospect: Prospect, seconds: float = 2.0) -> bool:
    await asyncio.sleep(seconds)
    return len(prospect.received()) == prospect.seen


async def ask_for_a_person(
    bot: RunningBot, prospect: Prospect, group: RepsGroup, text: str
) -> tuple[Call, Call]:
    """The prospect asks; (what the prospect is told, the card in the reps' group)."""
    [promise] = await prospect.says(text)
    card = await group.post_where(lambda post: "ho:take:" in "".join(callback_data(post)))
    return promise, card


# -- triggers -----------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(ASKING_FOR_A_PERSON))
async def test_asking_for_a_person_in_any_language_brings_the_team_in(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock, language: str
) -> None:
    chat_id = 710_000 + sorted(ASKING_FOR_A_PERSON).index(language)
    prospect = Prospect(live_bot_api, chat_id, language)
    group = RepsGroup(live_bot_api, REPS_CHAT)
    await prospect.says("/start")
    text = ASKING_FOR_A_PERSON[language]

    promise, card = await ask_for_a_person(bot, prospect, group, text)

    assert promise.params["text"] == say(bot, "handoff.coming", language)
    found = await handoff_of(bot, chat_id)
    assert (found.status, found.reason) == ("waiting", "request_human")
    assert f"• {text} [request_human]" in card.params["text"]
    assert card.params["text"].startswith(f"🙋 Handoff #{found.id}: asked for a person")
    assert callback_data(card) == [f"ho:take:{found.id}", f"ho:transcript:{found.id}"]


async def test_asking_again_while_waiting_opens_no_second_handoff(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    prospect = Prospect(live_bot_api, 710_100, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    await ask_for_a_person(bot, prospect, group, "can i get a representative")
    [again] = await prospect.says("i want to talk to a person")
    assert again.params["text"] == say(bot, "handoff.already_asked")
    await asyncio.sleep(0.5)
    assert len(live_bot_api.sent("sendMessage", REPS_CHAT)) == group.seen  # no second card


async def test_the_card_holds_what_the_prospect_said_and_the_booking_form_collected(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    chat_id = 710_200
    prospect = Prospect(live_bot_api, chat_id, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    contact = {"phone_number": "972525559876", "first_name": "Maya", "user_id": chat_id}
    await prospect.says(None, contact=contact)
    await prospect.says("how much is the RAV4?")
    await prospect.says("i want to book a test drive of the rav4 in haifa")
    _, card = await ask_for_a_person(bot, prospect, group, "can i get a representative")

    found = await handoff_of(bot, chat_id)
    status, api_card = await bot.ops("GET", f"/handoffs/{found.id}")
    assert status == 200
    lead = api_card["lead"]
    assert (lead["name"], lead["phone"], lead["language"]) == ("Maya", "+972525559876", "en")
    assert api_card["channel"] == "telegram"
    assert [(a["intent"], a["text"]) for a in api_card["asked"]] == [
        ("ask_price", "how much is the RAV4?"),
        ("book_appointment", "i want to book a test drive of the rav4 in haifa"),
        ("request_human", "can i get a representative"),
    ]
    assert api_card["booking_form"]["product"] == "rav4"
    assert api_card["booking_form"]["branch"] == "haifa"
    assert [h["to"] for h in lead["stage_history"]][:2] == ["consideration", "decision"]
    assert any("phone" in r["reason"] for r in lead["score_reasons"])
    assert api_card["last_messages"][-2]["text"] == "can i get a representative"
    assert api_card["transcript_url"].endswith(f"/console/conversations/{found.conversation_id}")

    text = card.params["text"]  # the same card as the group reads it
    assert "Who: Maya (en)" in text and "Contact: +972525559876" in text
    assert "Channel: telegram" in text
    assert "Stage: awareness → consideration → decision" in text
    assert "• how much is the RAV4? [ask_price]" in text
    assert "product: rav4" in text and "branch: haifa" in text
    assert text.rstrip().endswith(api_card["transcript_url"])


async def test_a_booking_that_finds_no_slot_twice_brings_in_a_person(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    chat_id = 710_800
    prospect = Prospect(live_bot_api, chat_id, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    await prospect.says("i want to book a test drive of the corolla in haifa tomorrow at 22:00")
    [*_, promise] = await prospect.says("then tomorrow at 23:00", replies=2)

    assert promise.params["text"] == say(bot, "handoff.coming")
    found = await handoff_of(bot, chat_id)
    assert (found.status, found.reason) == ("waiting", "booking_failed")
    [card] = await group.posts()
    assert card.params["text"].startswith(f"🙋 Handoff #{found.id}: a booking failed twice")
    assert "product: corolla" in card.params["text"] and "branch: haifa" in card.params["text"]


# -- reps on Telegram ---------------------------------------------------------------


async def test_two_reps_pressing_take_at_once_one_wins_and_the_other_is_told(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    prospect = Prospect(live_bot_api, 710_300, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    _, card = await ask_for_a_person(bot, prospect, group, "can i get a representative")
    take = callback_data(card)[0]
    answered = len(live_bot_api.sent("answerCallbackQuery"))

    group.press(card, take, DANA, "Dana")
    group.press(card, take, YOSSI, "Yossi")

    answers = (await live_bot_api.wait_for("answerCallbackQuery", answered + 2))[answered:]
    found = await handoff_of(bot, 710_300)
    winner = found.rep
    assert found.status == "claimed" and winner in ("Dana", "Yossi")
    assert sorted(str(a.params.get("text")) for a in answers) == sorted(
        [say(bot, "reps.yours"), say(bot, "reps.has_it", rep=winner)]
    )
    [joined] = await prospect.receives()
    assert joined.params["text"] == say(bot, "handoff.joined", rep=winner)


async def test_a_rep_and_the_prospect_talk_through_the_bot_then_the_bot_takes_over_again(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    chat_id = 710_400
    prospect = Prospect(live_bot_api, chat_id, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    _, card = await ask_for_a_person(bot, prospect, group, "i need to speak to a real human being")
    found = await handoff_of(bot, chat_id)
    group.press(card, f"ho:take:{found.id}", DANA, "Dana")
    await prospect.receives()  # Dana has joined
    [taken] = await group.posts()
    assert taken.params["text"] == say(bot, "reps.taken_by", rep="Dana")

    group.reply(card, DANA, "Dana", "Hi! The RAV4 hybrid is in stock. When could you come?")
    [answer] = await prospect.receives()
    assert answer.params["text"] == "Hi! The RAV4 hybrid is in stock. When could you come?"

    before_silence = await rasa_heard(bot, found.conversation_id)
    live_bot_api.push_update(
        live_bot_api.message_update(chat_id, "how much is it with a trade-in?")
    )
    [relayed] = await group.posts()
    assert (
        relayed.params["text"] == "💬 #" + str(found.lead_id) + ": how much is it with a trade-in?"
    )
    assert relayed.params["reply_parameters"]["message_id"] == card.result["message_id"]
    assert await nothing_more(prospect)  # the bot says nothing of its own
    assert len(await rasa_heard(bot, found.conversation_id)) == len(before_silence)

    group.reply(relayed, DANA, "Dana", "About 5% off with a trade-in; bring the car along.")
    [second] = await prospect.receives()
    assert second.params["text"] == "About 5% off with a trade-in; bring the car along."

    group.press(card, f"ho:release:{found.id}", DANA, "Dana")
    [question] = await prospect.receives()
    assert question.params["text"] == say(bot, "handoff.back_to_bot", rep="Dana")
    assert buttons(question) == ["1", "2", "3", "4", "5"]
    [released] = await group.posts()
    assert released.params["text"] == say(bot, "reps.released", rep="Dana")
    events = await rasa_heard(bot, found.conversation_id)
    assert events[-1]["event"] == "restart"  # no half-finished form survives

    [thanks] = await prospect.presses(question, "5")
    assert thanks.params["text"] == say(bot, "handoff.rated")
    [greeting] = await prospect.says("hello")  # the bot answers again, through Rasa
    assert greeting.params["text"].startswith("Hi")
    assert "hello" in user_texts(await rasa_heard(bot, found.conversation_id))

    closed = await handoff_of(bot, chat_id)
    assert (closed.status, closed.satisfaction, closed.rep) == ("closed", 5, "Dana")
    assert closed.first_reply_at is not None and closed.claimed_at is not None
    async with bot.app[SESSIONS]() as session:
        said = await session.scalars(
            select(Touchpoint).where(
                Touchpoint.conversation_id == found.conversation_id, Touchpoint.author == "rep"
            )
        )
        assert [(t.data["rep"], t.status) for t in said] == [("Dana", "delivered")] * 2
        heard = await session.scalar(
            select(Touchpoint).where(Touchpoint.text == "how much is it with a trade-in?")
        )
        assert heard is not None and (heard.status, heard.intent) == ("for_rep", None)
    lead = await bot.lead(found.lead_id)
    actions = [t["data"].get("action") for t in lead["touchpoints"] if t["kind"] == "handoff"]
    assert actions == ["requested", "claimed", "closed", "rated"]


# -- reps through the API, a prospect on the web widget -----------------------------


async def frames(ws: aiohttp.ClientWebSocketResponse, until: str) -> list[dict[str, Any]]:
    """Frames until one of type ``until``; replies are acknowledged as the widget does."""
    got: list[dict[str, Any]] = []
    while True:
        frame = await ws.receive_json(timeout=30)
        got.append(frame)
        if frame["type"] == "reply":
            await ws.send_json({"type": "ack", "ids": [frame["id"]]})
        if frame["type"] == until:
            return got


async def test_a_web_prospect_and_a_rep_on_the_api_talk_live(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    visitor = "visitor-handoff-0001"
    group = RepsGroup(live_bot_api, REPS_CHAT)
    async with bot.http.ws_connect(f"{bot.url}/ws?visitor={visitor}") as ws:
        await history_of(ws)
        await ws.send_json(
            {"type": "message", "id": "m-ask-000001", "text": "can i get a representative"}
        )
        [promise, _done] = await frames(ws, "done")
        assert promise["text"] == say(bot, "handoff.coming")
        [card] = await group.posts()
        found = await handoff_of(bot, visitor)
        assert "Channel: web" in card.params["text"]

        status, waiting = await bot.ops("GET", "/handoffs?status=waiting")
        assert status == 200 and found.id in [h["id"] for h in waiting["handoffs"]]
        ages = [h["age_seconds"] for h in waiting["handoffs"]]
        assert ages == sorted(ages, reverse=True)  # oldest first

        status, claimed = await bot.ops(
            "POST", f"/handoffs/{found.id}/claim", json={"rep": "Yossi"}
        )
        assert status == 200 and claimed["status"] == "claimed"
        status, refused = await bot.ops("POST", f"/handoffs/{found.id}/claim", json={"rep": "Dana"})
        assert status == 409 and refused["rep"] == "Yossi"
        [joined] = await frames(ws, "reply")
        assert joined["text"] == say(bot, "handoff.joined", rep="Yossi")

        status, _ = await bot.ops(
            "POST",
            f"/handoffs/{found.id}/messages",
            json={"rep": "Yossi", "text": "Hello, Yossi here."},
        )
        assert status == 200
        [live] = await frames(ws, "reply")
        assert (live["text"], live["author"]) == ("Hello, Yossi here.", "Yossi")

        await ws.send_json(
            {"type": "message", "id": "m-back-000002", "text": "great, can you call me?"}
        )
        assert [f["type"] for f in await frames(ws, "done")] == ["done"]  # the bot is silent
        [taken_by, relayed] = await group.posts(2)  # the API's claim is told there too
        assert taken_by.params["text"] == say(bot, "reps.taken_by", rep="Yossi")
        assert relayed.params["text"].endswith(": great, can you call me?")

        status, _ = await bot.ops("POST", f"/handoffs/{found.id}/release", json={"rep": "Yossi"})
        assert status == 200
        [question] = await frames(ws, "reply")
        assert [b["payload"] for b in question["buttons"]] == [f"csat:{n}" for n in range(1, 6)]
        [released] = await group.posts()
        assert released.params["text"] == say(bot, "reps.released", rep="Yossi")
        await ws.send_json({"type": "message", "id": "m-rate-000003", "text": "csat:4"})
        [rated, _done] = await frames(ws, "done")
        assert rated["text"] == say(bot, "handoff.rated")

    status, closed = await bot.ops("GET", f"/handoffs/{found.id}")
    assert (closed["status"], closed["satisfaction"]) == ("closed", 4)
    assert closed["time_to_claim_seconds"] is not None
    assert closed["time_to_first_reply_seconds"] is not None


# -- nobody waits unseen ------------------------------------------------------------


async def test_an_unclaimed_handoff_escalates_then_the_prospect_is_offered_a_call_back(
    bot: RunningBot, live_bot_api: FakeBotAPI, team_in: ManualClock
) -> None:
    chat_id = 710_500
    prospect = Prospect(live_bot_api, chat_id, "en")
    group = RepsGroup(live_bot_api, REPS_CHAT)
    await ask_for_a_person(bot, prospect, group, "can i get a representative")
    found = await handoff_of(bot, chat_id)
    runner = bot.app[FOLLOWUPS]

    async def timers_due() -> list[str]:
        return [f.kind for f in await runner.run_due() if f.lead_id == found.lead_id]

    team_in.advance(timedelta(minutes=4, seconds=50))
    assert await timers_due() == []
    team_in.advance(timedelta(seconds=20))
    assert await timers_due() == ["handoff_remind"]
    reminder = await group.post_where(lambda post: f"#{found.id} " in post.params["text"])
    assert reminder.params["text"] == say(
        bot, "reps.waiting", id=found.id, age=5, name=f"#{found.lead_id}"
    )
    assert await nothing_more(prospect, 0.5)  # the reminder is for the reps only

    team_in.advance(timedelta(minutes=25))
    assert await timers_due() == ["handoff_give_up"]
    [honest] = await prospect.receives()
    assert honest.params["text"] == say(bot, "handoff.gave_up")
    assert callback_data(honest) == ["/book_appointment"]
    [form] = await prospect.presses(honest, say(bot, "handoff.callback"))
    assert buttons(form)  # the booking form asks its first question, with choices

    status, still = await bot.ops("GET", f"/handoffs/{found.id}")
    assert status == 200 and still["status"] == "waiting"
    assert still["age_seconds"] >= 30 * 60


async def test_outside_working_hours_the_prospect_is_told_when_the_team_is_back(
    bot: RunningBot, live_bot_api: FakeBotAPI
) -> None:
    clock = bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    before = clock.now()
    clock.set(monday_morning() - timedelta(hours=10))  # Sunday 22:00 in Israel
    try:
        prospect = Prospect(live_bot_api, 710_600, "en")
        group = RepsGroup(live_bot_api, REPS_CHAT)
        promise, _ = await ask_for_a_person(bot, prospect, group, "can i get a representative")
    finally:
        clock.set(before)
    text = promise.params["text"]
    assert "away right now" in text and "09:00" in text  # Monday's opening
    assert callback_data(promise) == ["/book_appointment"]
    async with bot.app[SESSIONS]() as session:
        found = await handoff_of(bot, 710_600)
        kinds = await session.scalars(
            select(Touchpoint.kind).where(Touchpoint.conversation_id == found.conversation_id)
        )
        assert "handoff" in set(kinds)


# -- a restart mid-handoff ----------------------------------------------------------


OTHER_REPS_CHAT = REPS_CHAT - 1  # the second process's group: its own message ids
Start = Callable[[], AbstractAsyncContextManager[RunningBot]]


@pytest.fixture
async def second_process(
    bot: RunningBot, tmp_path: Path
) -> AsyncIterator[tuple[FakeBotAPI, Start]]:
    """Another process of the same deployment: the live bot's database and Rasa server,
    its own Telegram (a second fake Bot API, with its own reps' group, as message ids
    are per chat); ``start()`` runs it, a restart is two."""
    async with FakeBotAPI() as api:
        rasa = bot.app[RASA]

        def start() -> AbstractAsyncContextManager[RunningBot]:
            settings = make_settings(  # a new port: the old one may linger a moment
                tmp_path, database_url=bot.settings.database_url, rasa_url=rasa.base_url,
                rasa_token=rasa.token, followup_interval_seconds=3600,
                telegram_reps_chat_id=OTHER_REPS_CHAT, **telegram_of(api),
            )  # fmt: skip
            return running(settings, ManualClock(monday_morning() + timedelta(hours=2)))

        yield api, start


async def test_a_restart_mid_handoff_keeps_who_has_it_and_the_relay(
    bot: RunningBot, second_process: tuple[FakeBotAPI, Start]
) -> None:
    api, start = second_process
    chat_id = 710_700
    prospect = Prospect(api, chat_id, "en")
    group = RepsGroup(api, OTHER_REPS_CHAT)
    async with start() as first:
        _, card = await ask_for_a_person(first, prospect, group, "can i get a representative")
        found = await handoff_of(first, chat_id)
        group.press(card, f"ho:take:{found.id}", DANA, "Dana")
        await prospect.receives()  # Dana has joined
        await group.post_where(lambda post: "Dana" in post.params["text"])  # taken by Dana
    async with start() as second:  # the process died and came back
        prospect.api.push_update(api.message_update(chat_id, "are you still there?"))
        relayed = await group.post_where(lambda post: "are you still there?" in post.params["text"])
        assert relayed.params["reply_parameters"]["message_id"] == card.result["message_id"]
        group.reply(card, DANA, "Dana", "Yes, still here!")
        [answer] = await prospect.receives()
        assert answer.params["text"] == "Yes, still here!"
        after = await handoff_of(second, chat_id)
        assert (after.status, after.rep) == ("claimed", "Dana")

        await eventually(delivered(second, "Yes, still here!"))
        group.press(card, f"ho:release:{found.id}", DANA, "Dana")
        [question] = await prospect.receives()
        assert question.params["text"] == say(second, "handoff.back_to_bot", rep="Dana")
