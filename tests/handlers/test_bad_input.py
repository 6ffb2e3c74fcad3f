"""Bad input, generated (hypothesis): every public door of the app, on the real app and
the fake Rasa. Whatever arrives gets a clear error or a safe reply, never a 500 or a
dropped socket, and every valid message is stored exactly once.
"""

import json
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.storage.models import Conversation, Touchpoint
from handlers.context import RASA_TOKEN, SESSIONS
from tests.conftest import CHAT_AUTH, RunningBot
from tests.fakes.bot_api import FakeBotAPI

EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What attackers and odd keyboards send: bidi overrides, zero-width characters, emoji,
# combining marks, lone surrogates, control characters, and ordinary words.
HOSTILE = st.sampled_from(
    ["\u202e", "\u202d", "\u2066", "\u200b", "\u200c", "\u200d", "\ufeff", "\ud800", "\udfff",
     "\x00", "\x1b[31m", "\u0301", "😀", "👩🏽‍💻", "🇮🇱", "<script>", "'; DROP TABLE leads;--",
     "שלום", "مرحبا", "سلام", "bună", "how much", " "]
)  # fmt: skip
TEXTS = st.one_of(
    st.lists(HOSTILE, max_size=30).map("".join),
    st.text(max_size=300),
    st.integers(1, 3000).map(lambda n: "😀" * n),  # an emoji flood, up to the body limit
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


async def inbound_of(bot: RunningBot, channel: str, sender: str) -> list[str | None]:
    async with bot.app[SESSIONS]() as session:
        texts = await session.scalars(
            select(Touchpoint.text)
            .join(Conversation, Conversation.id == Touchpoint.conversation_id)
            .where(Conversation.channel == channel, Conversation.external_id == sender)
            .where(Touchpoint.direction == "in")
            .order_by(Touchpoint.id)
        )
        return list(texts)


async def inbound_count(bot: RunningBot) -> int:
    async with bot.app[SESSIONS]() as session:
        query = select(func.count()).where(Touchpoint.direction == "in")
        return int(await session.scalar(query) or 0)


@EXAMPLES
@given(body=st.one_of(st.binary(max_size=2000), JSON.map(lambda v: json.dumps(v).encode())))
async def test_any_body_on_the_chat_api_gets_an_answer_or_a_clear_400(
    fast_bot: RunningBot, body: bytes
) -> None:
    headers = CHAT_AUTH | {"Content-Type": "application/json"}
    async with fast_bot.http.post(
        f"{fast_bot.url}/api/v1/chat", data=body, headers=headers
    ) as response:
        payload = await response.json()
        assert response.status in (200, 400), (response.status, payload)
        assert "replies" in payload if response.status == 200 else payload["error"]


@EXAMPLES
@given(text=TEXTS, n=st.integers(0, 10**9))
async def test_any_text_on_the_chat_api_is_stored_once_and_answered(
    fast_bot: RunningBot, text: str, n: int
) -> None:
    sender = f"hypothesis-{n}"
    before = await inbound_of(fast_bot, "api", sender)
    body = {"sender": sender, "text": text}
    post = fast_bot.http.post(f"{fast_bot.url}/api/v1/chat", json=body, headers=CHAT_AUTH)
    async with post as response:
        answer = await response.json()
    after = await inbound_of(fast_bot, "api", sender)
    if any("\ud800" <= ch <= "\udfff" for ch in text):  # "\ud800" in JSON: no Unicode text
        assert (response.status, answer["error"]) == (400, "invalid request body")
        assert after == before
        return
    assert response.status == 200, answer
    assert answer["replies"] and all(reply["text"].strip() for reply in answer["replies"])
    assert len(after) == len(before) + 1  # nothing lost, nothing doubled
    assert "\x00" not in (after[-1] or "")


@EXAMPLES
@given(frame=st.one_of(st.text(max_size=500), JSON.map(json.dumps), st.binary(max_size=500)))
async def test_any_frame_on_the_socket_gets_an_error_or_a_reply_and_the_socket_lives(
    fast_bot: RunningBot, frame: str | bytes
) -> None:
    url = f"{fast_bot.url}/ws?visitor=visitor-hypothesis-000001"
    async with fast_bot.http.ws_connect(url) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "history"
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)
        await ws.send_json({"type": "message", "text": "hello"})  # still answered after it
        seen: list[str] = []
        while "done" not in seen:
            message = await ws.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.TEXT, message
            seen.append(json.loads(message.data)["type"])
        assert set(seen) <= {"error", "reply", "done", "busy"}


def updates() -> st.SearchStrategy[Any]:
    """Telegram-shaped updates with odd fields, and plain junk."""
    chat = st.fixed_dictionaries(
        {"id": st.integers(-(10**12), 10**12), "type": st.text(max_size=8)}
    )
    message = st.fixed_dictionaries(
        {"message_id": st.integers(), "date": st.integers(), "chat": chat},
        optional={"text": TEXTS, "from": JSON, "contact": JSON, "sticker": JSON},
    )
    shaped = st.fixed_dictionaries(
        {"update_id": st.integers(0, 2**31)},
        optional={"message": message, "callback_query": JSON, "edited_message": JSON},
    )
    return st.one_of(shaped, JSON)


@EXAMPLES
@given(update=updates())
async def test_any_update_on_the_telegram_webhook_gets_200_or_a_clear_400(
    fast_webhook_bot: RunningBot, bot_api: FakeBotAPI, update: Any
) -> None:
    assert bot_api.webhook is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": bot_api.webhook["secret_token"]}
    bot = fast_webhook_bot
    post = bot.http.post(f"{bot.url}/webhooks/telegram", json=update, headers=headers)
    async with post as response:
        assert response.status in (200, 400), (response.status, await response.text())


@EXAMPLES
@given(
    body=st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"next_action": st.text(max_size=30)}, optional={"tracker": JSON, "domain": JSON}
        ),
    )
)
async def test_any_request_on_the_action_webhook_gets_a_clear_answer(
    fast_bot: RunningBot, body: Any
) -> None:
    headers = {"Authorization": f"Bearer {fast_bot.app[RASA_TOKEN]}"}
    before = await inbound_count(fast_bot)
    post = fast_bot.http.post(f"{fast_bot.url}/webhooks/rasa/actions", json=body, headers=headers)
    async with post as response:
        assert response.status in (200, 400, 404), (response.status, await response.text())
        assert isinstance(await response.json(), dict)
    assert await inbound_count(fast_bot) == before  # an action stores no prospect message
