"""Reps through the ops API, with the prospect in the web widget (the fake Rasa server).

The app's clock is Monday 08:00 in Israel: the showrooms open at 09:00, so the
prospect is told honestly when the team is back.
"""

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp

from bot.storage.models import Touchpoint
from handlers.context import CATALOG, CLOCK, SESSIONS
from tests.conftest import RunningBot, eventually, history_of
from tests.fakes.rasa import FakeRasa

VISITOR = "visitor-handoff-0001"


def say(bot: RunningBot, key: str, **params: Any) -> str:
    return str(bot.app[CATALOG].render(key, "en", **params))


async def turn(ws: aiohttp.ClientWebSocketResponse, text: str, n: int) -> list[dict[str, Any]]:
    await ws.send_json({"type": "message", "id": f"msg-{n:06}", "text": text})
    return await frames(ws, until="done")


async def frames(ws: aiohttp.ClientWebSocketResponse, until: str = "reply") -> list[dict[str, Any]]:
    got = []
    while True:
        frame = await ws.receive_json(timeout=10)
        got.append(frame)
        if frame["type"] == until:
            if frame["type"] == "reply":
                await ws.send_json({"type": "ack", "ids": [frame["id"]]})
            return got
        if frame["type"] == "reply":
            await ws.send_json({"type": "ack", "ids": [frame["id"]]})


async def test_reps_take_answer_and_hand_back_a_web_prospect_through_the_api(
    fast_bot: RunningBot, fake_rasa: FakeRasa
) -> None:
    bot, clock = fast_bot, fast_bot.app[CLOCK]
    async with bot.http.ws_connect(f"{bot.url}/ws?visitor={VISITOR}") as ws:
        await history_of(ws)
        await turn(ws, "how much is it?", 1)
        asked = await turn(ws, "can I talk to a human?", 2)
        [promise, _done] = asked
        away, _ = say(bot, "handoff.coming_later", opens="{opens}").split("{opens}")
        assert promise["text"].startswith(away) and "09:00" in promise["text"]  # back at 9
        assert promise["buttons"] == [{"title": say(bot, "handoff.callback"),
                                       "payload": "/book_appointment"}]  # fmt: skip

        status, listing = await bot.ops("GET", "/handoffs")
        assert status == 200
        [card] = listing["handoffs"]
        assert (card["status"], card["reason"], card["channel"]) == (
            "waiting", "request_human", "web"
        )  # fmt: skip
        assert [a["text"] for a in card["asked"]] == ["how much is it?", "can I talk to a human?"]

        clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
        claims = await asyncio.gather(
            bot.ops("POST", "/handoffs/1/claim", json={"rep": "Dana"}),
            bot.ops("POST", "/handoffs/1/claim", json={"rep": "Yossi"}),
        )
        statuses = sorted(status for status, _ in claims)
        assert statuses == [200, 409]
        winner = next(body["rep"] for status, body in claims if status == 200)
        loser = next(body for status, body in claims if status == 409)
        assert loser == {"error": f"{winner} has it", "rep": winner}
        [joined] = await frames(ws)
        assert joined["text"] == say(bot, "handoff.joined", rep=winner)

        clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        status, said = await bot.ops(
            "POST", "/handoffs/1/messages",
            json={"rep": winner, "text": "Hi! The RAV4 is ₪189,900.", "message_id": "r-1"},
        )  # fmt: skip
        assert status == 200 and said["delivery"] == "sent"  # to the open widget; its ack confirms
        [live] = await frames(ws)
        assert (live["text"], live["author"]) == ("Hi! The RAV4 is ₪189,900.", winner)

        async def acknowledged() -> bool:
            async with bot.app[SESSIONS]() as session:
                stored = await session.get(Touchpoint, said["touchpoint_id"])
                return stored is not None and stored.status == "delivered"

        await eventually(acknowledged)  # the widget's ack: a retry now sends nothing
        again = await bot.ops(
            "POST", "/handoffs/1/messages",
            json={"rep": winner, "text": "Hi! The RAV4 is ₪189,900.", "message_id": "r-1"},
        )  # fmt: skip
        assert again[1]["touchpoint_id"] == said["touchpoint_id"]  # a retry sends it once
        other = "Yossi" if winner == "Dana" else "Dana"
        status, refused = await bot.ops(
            "POST", "/handoffs/1/messages", json={"rep": other, "text": "me too"}
        )
        assert (status, refused["rep"]) == (409, winner)
        async with bot.http.ws_connect(f"{bot.url}/ws?visitor={VISITOR}") as other_tab:
            history = await history_of(other_tab)
        assert history["rep"] == winner  # the widget's header shows who has the chat
        assert history["messages"][-1] == history["messages"][-1] | {
            "author": winner,
            "text": "Hi! The RAV4 is ₪189,900.",
        }

        calls = len(fake_rasa.calls)
        silent = await turn(ws, "great, and a discount?", 3)
        assert [f["type"] for f in silent] == ["done"]  # the bot says nothing now
        assert len(fake_rasa.calls) == calls

        status, card = await bot.ops("GET", "/handoffs/1")
        assert (card["time_to_claim_seconds"], card["time_to_first_reply_seconds"]) == (180, 240)
        assert card["last_messages"][-1]["text"] == "great, and a discount?"
        assert card["last_messages"][-2]["author"] == winner

        status, closed = await bot.ops("POST", "/handoffs/1/release", json={"rep": winner})
        assert (status, closed["status"]) == (200, "closed")
        [question] = await frames(ws)
        assert question["text"] == say(bot, "handoff.back_to_bot", rep=winner)
        assert [b["payload"] for b in question["buttons"]] == [f"csat:{n}" for n in range(1, 6)]
        assert fake_rasa.resets == ["1"]
        [thanks, _done] = await turn(ws, "5", 4)
        assert thanks["text"] == say(bot, "handoff.rated")
    status, rated = await bot.ops("GET", "/handoffs/1")
    assert rated["satisfaction"] == 5
    status, none_open = await bot.ops("GET", "/handoffs", params={"status": "open"})
    assert none_open == {"handoffs": []}


async def test_a_handoff_already_asked_for_is_not_opened_twice(fast_bot: RunningBot) -> None:
    async with fast_bot.http.ws_connect(f"{fast_bot.url}/ws?visitor={VISITOR}") as ws:
        await history_of(ws)
        await turn(ws, "I want a person", 1)
        [again, _done] = await turn(ws, "a human please!", 2)
    assert again["text"] == say(fast_bot, "handoff.already_asked")
    _status, listing = await fast_bot.ops("GET", "/handoffs")
    assert len(listing["handoffs"]) == 1


async def test_two_misunderstood_messages_in_a_row_bring_in_a_person(fast_bot: RunningBot) -> None:
    first = await fast_bot.chat("puzzling", "qwxz blorp", language="en")
    assert first["replies"][0]["text"] == say(fast_bot, "fallback")
    second = await fast_bot.chat("puzzling", "zzzt frobnicate", language="en")
    assert second["replies"][0]["text"] == say(fast_bot, "fallback")
    assert "back" in second["replies"][-1]["text"]  # the honest promise, the team is away
    _status, listing = await fast_bot.ops("GET", "/handoffs")
    assert [h["reason"] for h in listing["handoffs"]] == ["fallbacks"]


async def test_a_complaint_brings_in_a_person_after_the_apology(fast_bot: RunningBot) -> None:
    reply = await fast_bot.chat("unhappy", "this is terrible service", language="en")
    texts = [r["text"] for r in reply["replies"]]
    assert texts[0].startswith("I'm really sorry") and len(texts) == 2
    _status, listing = await fast_bot.ops("GET", "/handoffs")
    assert [h["reason"] for h in listing["handoffs"]] == ["complaint"]


async def test_bad_handoff_requests_get_clear_errors(fast_bot: RunningBot) -> None:
    assert (await fast_bot.ops("GET", "/handoffs/99"))[0] == 404
    assert (await fast_bot.ops("GET", "/handoffs", params={"status": "nope"}))[0] == 400
    assert (await fast_bot.ops("POST", "/handoffs/99/claim", json={"rep": "Dana"}))[0] == 404
    assert (await fast_bot.ops("POST", "/handoffs/1/claim", json={}))[0] == 400
    async with fast_bot.http.get(f"{fast_bot.url}/api/v1/handoffs") as response:
        assert response.status == 401  # the ops token, as for the rest of the ops API
