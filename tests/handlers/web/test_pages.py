"""The widget's configuration (its own words, direction, greeting) and the greeting it
shows a new visitor, stored only once they answer it. The real app on the fake Rasa."""

import aiohttp
import pytest
from sqlalchemy import select

from bot.storage.models import Touchpoint
from handlers.context import CATALOG, SESSIONS
from tests.conftest import RunningBot, history_of

VISITOR = "visitor-greeted-000001"


@pytest.mark.parametrize(
    ("asked", "language", "direction"),
    [("he-IL", "he", "rtl"), ("ar", "ar", "rtl"), ("fa-IR", "fa", "rtl"), ("ro", "ro", "ltr"),
     ("en-US", "en", "ltr"), ("de-DE", "en", "ltr"), (None, "en", "ltr")],
)  # fmt: skip
async def test_the_widget_gets_its_words_in_the_visitors_language(
    fast_bot: RunningBot, asked: str | None, language: str, direction: str
) -> None:
    params = {"language": asked} if asked else {}
    async with fast_bot.http.get(f"{fast_bot.url}/widget/config", params=params) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # any site embeds it
        config = await response.json()
    catalog = fast_bot.app[CATALOG]
    assert (config["language"], config["dir"], config["business"]) == (
        language, direction, "Carmel Motors"
    )  # fmt: skip
    assert config["texts"]["send"] == catalog.render("widget.send", language)
    assert config["texts"]["with_rep"] == catalog.render("widget.with_rep", language, rep="{rep}")
    assert "{rep}" in config["texts"]["with_rep"]  # the widget puts the name in
    assert config["greeting"]["text"] == catalog.render("greet", language)
    assert config["greeting"]["buttons"][-1]["payload"] == "/ask_product_info"


async def timeline(bot: RunningBot) -> list[tuple[str, str, str]]:
    async with bot.app[SESSIONS]() as session:
        found = await session.scalars(select(Touchpoint).order_by(Touchpoint.id))
        return [(t.direction, t.text or "", t.status) for t in found if t.kind == "message"]


async def chat(bot: RunningBot, frame: dict[str, str]) -> None:
    async with bot.http.ws_connect(f"{bot.url}/ws?visitor={VISITOR}") as ws:
        await history_of(ws)
        await ws.send_json({"type": "message", **frame})
        while (await ws.receive_json(timeout=10))["type"] != "done":
            pass


async def test_a_greeting_is_stored_before_the_first_answer_to_it_and_only_once(
    fast_bot: RunningBot,
) -> None:
    greeting = fast_bot.app[CATALOG].render("greet", "he")
    first = {"id": "m-greeted-0001", "text": "כמה עולה?", "greeted": "he"}
    await chat(fast_bot, first)
    await chat(fast_bot, first)  # sent again: its "done" was lost
    await chat(fast_bot, {"id": "m-greeted-0002", "text": "thanks", "greeted": "he"})
    said = await timeline(fast_bot)
    assert said[:2] == [("out", greeting, "delivered"), ("in", "כמה עולה?", "done")]
    assert [t for t in said if t[1] == greeting] == [("out", greeting, "delivered")]


async def test_no_greeting_is_stored_when_the_widget_showed_none(fast_bot: RunningBot) -> None:
    await chat(fast_bot, {"id": "m-nogreet-001", "text": "hi"})
    said = await timeline(fast_bot)
    assert said[0][:2] == ("in", "hi")


async def test_an_unanswered_greeting_is_no_conversation(fast_bot: RunningBot) -> None:
    async with fast_bot.http.get(f"{fast_bot.url}/widget/config") as response:
        assert response.status == 200
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{fast_bot.url}/ws?visitor={VISITOR}") as ws,
    ):
        assert (await history_of(ws))["messages"] == []
    assert await timeline(fast_bot) == []
