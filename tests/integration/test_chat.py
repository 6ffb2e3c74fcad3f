"""Conversations through the real app and the real Rasa server trained on this repository."""

import aiohttp
import pytest

from tests.conftest import OPS_TOKEN, RunningBot, history_of

pytestmark = pytest.mark.integration

GREETING = "Hi! I'm the virtual assistant of Carmel Motors."


async def test_hi_is_answered_by_the_trained_model_and_recorded(bot: RunningBot) -> None:
    reply = await bot.chat("int-hi", "hi")

    assert reply["replies"][0]["text"].startswith(GREETING)
    lead = await bot.lead(reply["lead_id"])
    inbound, outbound = lead["touchpoints"]
    assert (inbound["direction"], inbound["text"], inbound["intent"]) == ("in", "hi", "greet")
    assert inbound["confidence"] > 0.5
    assert inbound["status"] == "done"
    assert (outbound["direction"], outbound["author"]) == ("out", "bot")
    assert outbound["text"] == reply["replies"][0]["text"]
    assert lead["stage"] == "awareness"


async def test_a_short_conversation_in_order(bot: RunningBot) -> None:
    turns = ["hello", "tell me a joke", "ok bye"]
    replies = [(await bot.chat("int-order", text))["replies"][0]["text"] for text in turns]

    assert replies[0].startswith(GREETING)
    assert replies[1].startswith("That's outside what I can help with")
    assert replies[2].startswith("Thanks for stopping by!")
    lead = await bot.lead((await bot.chat("int-order", "bye"))["lead_id"])
    intents = [t["intent"] for t in lead["touchpoints"] if t["direction"] == "in"]
    assert intents == ["greet", "out_of_scope", "goodbye", "goodbye"]


async def test_a_button_payload_sent_as_text_acts_like_the_button(bot: RunningBot) -> None:
    reply = await bot.chat("int-payload", "/goodbye")
    assert reply["replies"][0]["text"].startswith("Thanks for stopping by!")
    inbound = (await bot.lead(reply["lead_id"]))["touchpoints"][0]
    assert (inbound["intent"], inbound["confidence"]) == ("goodbye", 1.0)


async def test_replies_follow_the_language_hint(bot: RunningBot) -> None:
    reply = await bot.chat("int-lang", "hi", language="ro-RO")
    assert reply["language"] == "ro"
    assert reply["replies"][0]["text"].startswith("Bună! Sunt asistentul virtual al Carmel Motors.")


async def test_nlu_parse_uses_the_chat_model(bot: RunningBot) -> None:
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    async with bot.http.post(
        f"{bot.url}/api/v1/nlu/parse", json={"text": "good morning"}, headers=headers
    ) as response:
        assert response.status == 200
        parsed = await response.json()
    assert parsed["language"] == "en"
    assert parsed["intent"]["name"] == "greet"
    assert 0.5 < parsed["intent"]["confidence"] <= 1.0
    assert parsed["entities"] == []


async def test_websocket_chat_answers_in_order_and_reports_errors(bot: RunningBot) -> None:
    url = f"{bot.url}/ws?visitor=ws-visitor-0123456789"
    async with bot.http.ws_connect(url) as ws:
        await history_of(ws)
        await ws.send_json({"text": "hey"})
        reply = await ws.receive_json(timeout=20)
        assert reply["type"] == "reply" and reply["text"].startswith(GREETING)
        done = await ws.receive_json(timeout=5)
        assert done["type"] == "done"

        await ws.send_str("this is not json")
        assert (await ws.receive_json(timeout=5))["type"] == "error"
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=5))["error"] == "binary messages are not supported"

        await ws.send_json({"text": "bye"})
        reply = await ws.receive_json(timeout=20)
        assert reply["text"].startswith("Thanks for stopping by!")
    lead = await bot.lead(done["lead_id"])
    assert [t["text"] for t in lead["touchpoints"] if t["direction"] == "in"] == ["hey", "bye"]
    assert {t["channel"] for t in lead["touchpoints"]} == {"web"}


async def test_websocket_refuses_a_malformed_visitor_id(bot: RunningBot) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as error:
        await bot.http.ws_connect(f"{bot.url}/ws?visitor=<script>")
    assert error.value.status == 400


async def test_health_is_ok_with_rasa_up(bot: RunningBot) -> None:
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["checks"] == {"app": "ok", "database": "ok", "rasa": "ok"}
