"""The HTTP layer of the real app, with Rasa down: auth, bad input, health."""

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.models import Lead, Touchpoint
from handlers.context import RASA_TOKEN, SESSIONS
from tests.conftest import (
    CHAT_AUTH,
    CHAT_TOKEN,
    OPS_TOKEN,
    PostgresServer,
    RunningBot,
    make_settings,
    serve,
    without_rasa,
)
from tests.fakes.rasa import FakeRasa


async def test_ops_api_refuses_requests_without_or_with_a_wrong_token(
    bot_without_rasa: RunningBot,
) -> None:
    bot = bot_without_rasa
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": OPS_TOKEN}):
        async with bot.http.get(f"{bot.url}/api/v1/leads/1", headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "missing or wrong bearer token"
        async with bot.http.post(
            f"{bot.url}/api/v1/nlu/parse", json={"text": "hi"}, headers=headers
        ) as response:
            assert response.status == 401


async def test_ops_api_is_disabled_when_no_token_is_configured(
    bot_without_rasa: RunningBot,
) -> None:
    bot = bot_without_rasa
    bot.settings.bot_api_token = None
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    async with bot.http.get(f"{bot.url}/api/v1/leads/1", headers=headers) as response:
        assert response.status == 401
        assert "set BOT_API_TOKEN" in (await response.json())["error"]


async def test_chat_api_needs_its_own_token_and_is_closed_without_one(
    bot_without_rasa: RunningBot,
) -> None:
    bot, body = bot_without_rasa, {"sender": "server-1", "text": "hi"}
    url = f"{bot.url}/api/v1/chat"
    wrong = ({}, {"Authorization": f"Bearer {OPS_TOKEN}"}, {"Authorization": CHAT_TOKEN})
    for headers in wrong:
        async with bot.http.post(url, json=body, headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "missing or wrong bearer token"
    bot.settings.chat_api_token = None
    async with bot.http.post(url, json=body, headers=CHAT_AUTH) as response:
        assert response.status == 401
        assert "set CHAT_API_TOKEN" in (await response.json())["error"]
    async with bot.app[SESSIONS]() as session:
        assert await session.scalar(select(Lead)) is None  # refused before any work


async def test_unknown_lead_is_404(bot_without_rasa: RunningBot) -> None:
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    url = f"{bot_without_rasa.url}/api/v1/leads/424242"
    async with bot_without_rasa.http.get(url, headers=headers) as response:
        assert response.status == 404
        assert await response.json() == {"error": "no lead 424242"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe\x00binary\x00", "application/octet-stream"),
        (b"{not json", "application/json"),
        (b'{"sender": "x"}', "application/json"),
        (b'{"sender": "", "text": "hi"}', "application/json"),
        (b'{"sender": "x", "text": 5}', "application/json"),
    ],
)
async def test_malformed_chat_requests_get_a_clear_400(
    bot_without_rasa: RunningBot, body: bytes, content_type: str
) -> None:
    async with bot_without_rasa.http.post(
        f"{bot_without_rasa.url}/api/v1/chat",
        data=body,
        headers={"Content-Type": content_type} | CHAT_AUTH,
    ) as response:
        assert response.status == 400
        payload = await response.json()
        assert payload["error"] == "invalid request body"
        assert payload["details"]


async def test_oversized_body_is_refused_with_413(bot_without_rasa: RunningBot) -> None:
    body = {"sender": "big", "text": "x" * (bot_without_rasa.settings.max_request_bytes + 1)}
    async with bot_without_rasa.http.post(
        f"{bot_without_rasa.url}/api/v1/chat", json=body, headers=CHAT_AUTH
    ) as response:
        assert response.status == 413
        assert "error" in await response.json()


async def test_chat_with_rasa_down_answers_politely_and_keeps_the_message(
    bot_without_rasa: RunningBot,
) -> None:
    reply = await bot_without_rasa.chat("visitor-1", "<b>hi</b> are you there?")
    assert "having trouble" in reply["replies"][0]["text"]
    lead = await bot_without_rasa.lead(reply["lead_id"])
    assert lead["touchpoints"][0]["text"] == "<b>hi</b> are you there?"
    assert lead["touchpoints"][0]["status"] == "failed"


async def test_health_reports_rasa_down_as_degraded(bot_without_rasa: RunningBot) -> None:
    async with bot_without_rasa.http.get(f"{bot_without_rasa.url}/healthz") as response:
        assert response.status == 503
        body = await response.json()
        assert body["checks"] == {"app": "ok", "database": "ok", "rasa": "unavailable"}


async def test_action_webhook_checks_its_token_and_request(bot_without_rasa: RunningBot) -> None:
    bot = bot_without_rasa
    token = bot.app[RASA_TOKEN]
    url = f"{bot.url}/webhooks/rasa/actions"
    right = {"Authorization": f"Bearer {token}"}
    cases = [
        ({}, {"next_action": "action_greet", "tracker": {}}, 401),
        ({"Authorization": "Bearer wrong"}, {"next_action": "action_greet", "tracker": {}}, 401),
        (right, {"next_action": "action_nope", "tracker": {}}, 404),
        (right, {"next_action": "action_greet"}, 400),
        (right, ["not", "an", "object"], 400),
    ]
    for headers, body, status in cases:
        async with bot.http.post(url, headers=headers, json=body) as response:
            assert response.status == status, await response.text()
            assert "error" in await response.json()
    # The token in the URL, as Rasa's own API takes it, is not accepted here.
    async with bot.http.post(url, params={"token": token}, json=cases[2][1]) as response:
        assert response.status == 401


async def test_a_rep_marks_a_purchase_and_the_lead_becomes_a_customer(
    bot_without_rasa: RunningBot,
) -> None:
    bot = bot_without_rasa
    lead_id = (await bot.chat("buyer", "hello"))["lead_id"]
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    url = f"{bot.url}/api/v1/leads/{lead_id}/purchase"
    async with bot.http.post(url, headers=headers) as response:
        assert response.status == 200
        lead = await response.json()

    assert lead["stage"] == "retention"
    events = [(t["kind"], t["data"]) for t in lead["touchpoints"] if t["direction"] == "event"]
    assert events == [
        ("purchase", {"by": "ops API"}),
        (
            "stage_change",
            {"from": "awareness", "to": "retention", "reason": "purchase marked by ops API"},
        ),
    ]
    async with bot.http.post(url) as response:
        assert response.status == 401


async def test_the_score_shown_decays_while_the_lead_is_silent(
    bot_without_rasa: RunningBot,
) -> None:
    """The ops API scores for now, not for the lead's last message three weeks ago."""
    bot = bot_without_rasa
    lead_id = (await bot.chat("quiet", "book a test drive"))["lead_id"]
    async with bot.app[SESSIONS]() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None
        lead.phone = "+40721123456"
        for touchpoint in await session.scalars(
            select(Touchpoint).where(Touchpoint.lead_id == lead_id)
        ):
            touchpoint.created_at -= timedelta(days=21)
            if touchpoint.direction == "in":
                touchpoint.intent = "book_appointment"  # as Rasa would have understood it
        await session.commit()

    shown = await bot.lead(lead_id)
    reasons = [(r["points"], r["reason"]) for r in shown["score_reasons"]]
    assert reasons == [
        (15, "shared a phone number"),
        (15, "asked to book"),
        (-15.0, "inactive for 21 days"),  # one 14-day half-life after the first quiet week
    ]
    assert shown["score"] == 15.0


async def test_the_demo_page_names_the_business_and_embeds_the_widget(
    bot_without_rasa: RunningBot,
) -> None:
    async with bot_without_rasa.http.get(f"{bot_without_rasa.url}/") as response:
        assert response.status == 200
        page = await response.text()
    assert "<h1>Chat with Carmel Motors</h1>" in page
    assert f'<script src="{bot_without_rasa.url}/widget.js" data-open="true"></script>' in page
    async with bot_without_rasa.http.get(f"{bot_without_rasa.url}/widget.js") as response:
        assert response.content_type == "application/javascript"
        assert "textContent" in await response.text()


def test_an_external_rasa_without_its_token_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RASA_TOKEN is required when RASA_URL is set"):
        make_settings(tmp_path, rasa_url="http://127.0.0.1:5005")


async def test_rasa_may_post_a_long_conversations_tracker_to_the_action_webhook(
    bot_without_rasa: RunningBot,
) -> None:
    """Rasa sends the whole tracker; after many turns it is far over the public 64 KiB."""
    bot = bot_without_rasa
    events = [{"event": "user", "text": "x" * 500, "parse_data": {}} for _ in range(400)]
    body = {"next_action": "action_greet", "sender_id": "someone", "tracker": {"events": events}}
    url = f"{bot.url}/webhooks/rasa/actions"
    headers = {"Authorization": f"Bearer {bot.app[RASA_TOKEN]}"}
    async with bot.http.post(url, headers=headers, json=body) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["responses"][0]["custom"]["key"] == "greet"
    # Past its own limit, the webhook refuses too, from the length, before reading the body.
    limit = bot.settings.max_action_request_bytes
    big = io.BytesIO(b"{" + b" " * limit + b"}")
    async with bot.http.post(url, headers=headers, data=big) as response:
        assert response.status == 413


@pytest.mark.postgres
async def test_a_chat_message_sent_while_the_database_restarts_is_answered_once_it_is_back(
    tmp_path: Path,
) -> None:
    server = PostgresServer()  # its own server: this test stops it
    try:
        settings = without_rasa(tmp_path, database_url=f"{server.url}/postgres")
        async for running in serve(settings):
            await running.chat("restart-visitor", "before the restart")
            server.stop()
            during = asyncio.create_task(running.chat("restart-visitor", "during the restart"))
            await asyncio.sleep(2)
            assert not during.done()  # waiting for the database, not failing
            server.start()

            reply = await asyncio.wait_for(during, timeout=60)

            lead = await running.lead(reply["lead_id"])
            inbound = [t["text"] for t in lead["touchpoints"] if t["direction"] == "in"]
            assert inbound == ["before the restart", "during the restart"]
    finally:
        server.remove()


async def test_a_chat_request_retried_with_its_message_id_is_answered_once(
    fast_bot: RunningBot, fake_rasa: FakeRasa
) -> None:
    body = {"sender": "retrying-client", "text": "how much is it?", "message_id": "req-42"}
    url = f"{fast_bot.url}/api/v1/chat"
    answers = []
    for _ in range(2):
        async with fast_bot.http.post(url, json=body, headers=CHAT_AUTH) as response:
            assert response.status == 200
            answers.append(await response.json())
    assert answers[0] == answers[1] and answers[0]["stage"] == "consideration"
    assert len(fake_rasa.calls) == 1
    lead = await fast_bot.lead(answers[0]["lead_id"])
    assert [t["status"] for t in lead["touchpoints"] if t["direction"] != "event"] == [
        "done", "delivered"
    ]  # fmt: skip
    bad = body | {"message_id": "bad id!"}
    async with fast_bot.http.post(url, json=bad, headers=CHAT_AUTH) as response:
        assert response.status == 400


async def test_a_body_over_the_limit_is_refused_from_its_length_before_it_is_read(
    bot_without_rasa: RunningBot,
) -> None:
    """The Content-Length alone decides; the server never reads the megabyte."""
    bot = bot_without_rasa
    reader, writer = await asyncio.open_connection(bot.settings.host, bot.settings.port)
    writer.write(
        b"POST /api/v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1048576\r\n\r\n{"
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.startswith(b"HTTP/1.1 413")


async def test_asked_for_a_kind_of_car_the_bot_answers_with_the_matching_models(
    fast_bot: RunningBot, fake_rasa: FakeRasa
) -> None:
    price = await fast_bot.chat("visitor-kinds-000001", "how much is the hybrid?")
    [reply] = price["replies"]
    assert "Corolla: ₪139,900" in reply["text"] and "RAV4: ₪189,900" in reply["text"]
    assert "Tucson" not in reply["text"]  # not a hybrid

    fake_rasa.intents["tell me about your jeeps"] = "ask_product_info"
    info = await fast_bot.chat("visitor-kinds-000001", "tell me about your jeeps")
    text = info["replies"][0]["text"]
    assert all(name in text for name in ("RAV4", "Tucson", "Sportage", "ID.4"))
    assert "Corolla" not in text and "Octavia" not in text

    fake_rasa.intents["פרטים על החשמלית"] = "ask_product_info"
    electric = await fast_bot.chat("visitor-kinds-000002", "פרטים על החשמלית", "he")
    assert "ID.4" in electric["replies"][0]["text"]  # the only electric one, its own page
