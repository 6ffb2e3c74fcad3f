"""The Telegram channel: the real aiogram Bot and Dispatcher inside the real app, against
the fake Bot API server (tests/fakes/bot_api.py), in polling and webhook mode.

Rasa is down here, so every text gets the polite "a person will follow up": these
tests are about the channel (order, duplicates, 429s, throttling, content types,
secrets); tests/integration/test_telegram.py has the whole story with the real Rasa.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.types import Update
from sqlalchemy import select

from bot.clock import ManualClock
from bot.content.catalog import Catalog
from bot.conversation.messages import Button, OutboundMessage
from bot.crm import leads, touchpoints
from bot.storage.models import Lead, Touchpoint
from handlers.context import CATALOG, CLOCK, SESSIONS, TELEGRAM_BOT, TELEGRAM_DELIVERY
from handlers.telegram.delivery import inline_keyboard, split_text, utf16_len
from tests.conftest import (
    PostgresServer,
    RunningBot,
    free_port,
    monday_morning,
    on_fake,
    serve,
    telegram_of,
    without_rasa,
)
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.rasa import FakeRasa


def said(bot: RunningBot, key: str, language: str = "en") -> str:
    catalog: Catalog = bot.app[CATALOG]
    return catalog.render(key, language)


async def timeline(bot: RunningBot, chat_id: int) -> tuple[Lead, list[Touchpoint]]:
    async with bot.app[SESSIONS]() as session:
        conversation = await leads.find_conversation(session, "telegram", str(chat_id))
        assert conversation is not None, f"no conversation for chat {chat_id}"
        lead = await session.get(Lead, conversation.lead_id)
        assert lead is not None
        return lead, await leads.timeline(session, lead.id)


async def inbound_of(bot: RunningBot, chat_id: int, count: int) -> list[Touchpoint]:
    """The chat's inbound touchpoints, once ``count`` are stored (some get no reply)."""
    inbound: list[Touchpoint] = []
    for _ in range(100):
        async with bot.app[SESSIONS]() as session:
            conversation = await leads.find_conversation(session, "telegram", str(chat_id))
            if conversation is not None:
                touchpoints = await leads.timeline(session, conversation.lead_id)
                inbound = [t for t in touchpoints if t.direction == "in"]
        if len(inbound) >= count:
            return inbound
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(inbound)} inbound touchpoints, expected {count}")


def texts(calls: list) -> list[str]:  # type: ignore[type-arg]
    return [call.params["text"] for call in calls]


async def test_start_with_a_source_code_stores_the_source_and_answers(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot_api.push_update(bot_api.message_update(101, "/start src_instagram", language_code="he"))

    [reply] = await bot_api.wait_for("sendMessage", 1, chat_id=101)

    assert reply.params["text"] == said(telegram_bot, "rasa_unavailable", "he")  # Rasa is down
    lead, touchpoints = await timeline(telegram_bot, 101)
    assert (lead.source, lead.language) == ("instagram", "he")
    inbound = [t for t in touchpoints if t.direction == "in"]
    assert [(t.text, t.data["metadata"]["command"]) for t in inbound] == [
        ("/greet", "/start src_instagram")
    ]


async def test_a_duplicate_update_is_answered_once(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    first = bot_api.message_update(102, "hello there", update_id=5000)
    bot_api.push_update(first)
    await bot_api.wait_for("sendMessage", 1, chat_id=102)

    bot_api.push_update(first | {"update_id": 5000})  # Telegram delivers it again
    bot_api.push_update(bot_api.message_update(102, "are you there?"))
    await bot_api.wait_for("sendMessage", 2, chat_id=102)

    _lead, touchpoints = await timeline(telegram_bot, 102)
    assert [t.text for t in touchpoints if t.direction == "in"] == ["hello there", "are you there?"]
    assert len(bot_api.sent("sendMessage", chat_id=102)) == 2


async def test_a_duplicate_update_after_a_restart_is_not_processed_again(
    tmp_path: Path, bot_api: FakeBotAPI
) -> None:
    settings = without_rasa(tmp_path, **telegram_of(bot_api))
    update = bot_api.message_update(103, "first message", update_id=6000)
    async for _running in serve(settings):
        bot_api.push_update(update)
        await bot_api.wait_for("sendMessage", 1, chat_id=103)

    async for running in serve(settings):  # the same database, a new process
        bot_api.push_update(update | {"update_id": 6000})
        bot_api.push_update(bot_api.message_update(103, "second message"))
        await bot_api.wait_for("sendMessage", 2, chat_id=103)
        _lead, touchpoints = await timeline(running, 103)
        inbound = [t.text for t in touchpoints if t.direction == "in"]
        assert inbound == ["first message", "second message"]


async def test_a_chats_messages_are_handled_in_the_order_they_were_sent(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    for n in range(8):  # one getUpdates batch: aiogram handles them as concurrent tasks
        bot_api.push_update(bot_api.message_update(104, f"message {n}"))
        bot_api.push_update(bot_api.message_update(204, f"other chat {n}"))

    await bot_api.wait_for("sendMessage", 8, chat_id=104)

    _lead, touchpoints = await timeline(telegram_bot, 104)
    inbound = [t.text for t in touchpoints if t.direction == "in"]
    assert inbound == [f"message {n}" for n in range(8)]


async def test_a_429_burst_loses_no_reply(telegram_bot: RunningBot, bot_api: FakeBotAPI) -> None:
    bot_api.fail_next("sendMessage", times=3, retry_after=1)
    for n in range(3):
        bot_api.push_update(bot_api.message_update(105, f"question {n}"))

    replies = await bot_api.wait_for("sendMessage", 3, chat_id=105, timeout=60)

    refused = [c for c in bot_api.calls if c.method == "sendMessage" and c.status == 429]
    assert len(refused) == 3
    assert texts(replies) == [said(telegram_bot, "rasa_unavailable")] * 3
    _lead, touchpoints = await timeline(telegram_bot, 105)
    assert [t.text for t in touchpoints if t.direction == "in"] == [
        f"question {n}" for n in range(3)
    ]


async def test_a_flooding_chat_gets_one_notice_and_every_message_is_kept(
    tmp_path: Path, bot_api: FakeBotAPI
) -> None:
    settings = without_rasa(tmp_path, telegram_throttle_messages=3, **telegram_of(bot_api))
    async for running in serve(settings):
        for n in range(7):
            bot_api.push_update(bot_api.message_update(106, f"spam {n}"))
        bot_api.push_update(bot_api.message_update(206, "a calm prospect"))
        await bot_api.wait_for("sendMessage", 1, chat_id=206)
        replies = await bot_api.wait_for("sendMessage", 4, chat_id=106)

        assert texts(replies) == [said(running, "rasa_unavailable")] * 3 + [
            said(running, "throttled")
        ]
        inbound = await inbound_of(running, 106, count=7)
        assert [(t.text, t.status) for t in inbound[3:]] == [
            (f"spam {n}", "throttled") for n in range(3, 7)
        ]
        assert len(bot_api.sent("sendMessage", chat_id=106)) == 4  # no second notice


async def test_stickers_voice_and_photos_get_a_clear_reply_and_are_logged(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    sticker = {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
    voice = {"file_id": "v1", "file_unique_id": "u2", "duration": 3}
    photo = [{"file_id": "p1", "file_unique_id": "u3", "width": 90, "height": 90}]
    bot_api.push_update(bot_api.message_update(107, sticker=sticker))
    bot_api.push_update(bot_api.message_update(107, voice=voice))
    bot_api.push_update(bot_api.message_update(107, photo=photo, caption="my old car"))

    replies = await bot_api.wait_for("sendMessage", 3, chat_id=107)

    assert texts(replies) == [said(telegram_bot, "unsupported_content")] * 3
    _lead, touchpoints = await timeline(telegram_bot, 107)
    inbound = [(t.kind, t.text, t.status) for t in touchpoints if t.direction == "in"]
    assert inbound == [
        ("sticker", "", "rejected"),
        ("voice", "", "rejected"),
        ("photo", "my old car", "rejected"),
    ]


async def test_a_shared_contact_fills_the_phone_and_name(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    contact = {"phone_number": "972525551234", "first_name": "Dana", "last_name": "Levi",
               "user_id": 108}  # fmt: skip
    bot_api.push_update(bot_api.message_update(108, contact=contact))

    await bot_api.wait_for("sendMessage", 1, chat_id=108)

    lead, touchpoints = await timeline(telegram_bot, 108)
    assert (lead.phone, lead.name) == ("+972525551234", "Dana Levi")
    assert [t.data for t in touchpoints if t.kind == "contact"] == [
        {"phone": "+972525551234", "name": "Dana Levi", "how": "shared"}
    ]


async def test_a_pressed_button_is_answered_and_sends_its_payload(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot_api.push_update(bot_api.callback_update(109, '/inform{"branch": "haifa"}'))

    await bot_api.wait_for("sendMessage", 1, chat_id=109)

    assert len(bot_api.sent("answerCallbackQuery")) >= 1
    _lead, touchpoints = await timeline(telegram_bot, 109)
    assert [t.text for t in touchpoints if t.direction == "in"] == ['/inform{"branch": "haifa"}']


async def test_group_chats_are_not_prospects(telegram_bot: RunningBot, bot_api: FakeBotAPI) -> None:
    group = bot_api.message_update(-1001, "hi all")
    group["message"]["chat"] = {"id": -1001, "type": "supergroup", "title": "Sales team"}
    bot_api.push_update(group)
    bot_api.push_update(bot_api.message_update(110, "hello"))

    await bot_api.wait_for("sendMessage", 1, chat_id=110)

    assert bot_api.sent("sendMessage", chat_id=-1001) == []
    async with telegram_bot.app[SESSIONS]() as session:
        found = await leads.find_conversation(session, "telegram", "-1001")
    assert found is None


async def test_long_replies_are_split_and_buttons_go_on_the_last_piece(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    text = ("A sentence about our cars. " * 400).strip()  # ~10,800 characters
    reply = OutboundMessage(text, (Button("Book", "/book_appointment"),))

    await telegram_bot.app[TELEGRAM_DELIVERY].send(111, [reply], "en")

    pieces = bot_api.sent("sendMessage", chat_id=111)
    assert len(pieces) == 3
    assert " ".join(texts(pieces)) == text
    assert [("reply_markup" in p.params) for p in pieces] == [False, False, True]


def test_split_text_respects_telegrams_limit_in_utf16() -> None:
    text = "🚗" * 3000 + " " + "שלום " * 500  # emoji count twice in UTF-16

    pieces = split_text(text)

    assert all(utf16_len(p) <= 4096 for p in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert split_text("short") == ["short"]


def test_inline_keyboard_rows_and_callback_data_limit() -> None:
    numbers = inline_keyboard([Button(str(n), f"nps:{n}") for n in range(11)])
    assert [len(row) for row in numbers.inline_keyboard] == [6, 5]
    long_payload = '/inform{"when": "2026-12-02T11:00:00+02:00", "extra": "x' + "x" * 40 + '"}'
    [[key]] = inline_keyboard(
        [Button("Wed 2.12, 11:00 — a long title", long_payload)]
    ).inline_keyboard
    assert key.callback_data is not None and len(key.callback_data.encode()) <= 64


@pytest.fixture
async def webhook_bot(tmp_path: Path, bot_api: FakeBotAPI) -> AsyncIterator[RunningBot]:
    settings = without_rasa(tmp_path, **telegram_of(bot_api))
    url = f"{settings.base_url}/webhooks/telegram"
    async for running in serve(settings.model_copy(update={"telegram_webhook_url": url})):
        yield running


async def test_webhook_mode_checks_the_secret_and_answers_updates(
    webhook_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    await bot_api.wait_for("setWebhook", 1)  # the app registers it in the background
    assert bot_api.webhook is not None
    assert bot_api.webhook["url"] == f"{webhook_bot.url}/webhooks/telegram"
    secret = bot_api.webhook["secret_token"]
    update = bot_api.message_update(112, "hi from the webhook", update_id=7000)
    post = webhook_bot.http.post

    async with post(f"{webhook_bot.url}/webhooks/telegram", json=update) as response:
        assert response.status == 401  # no secret
    headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
    async with post(f"{webhook_bot.url}/webhooks/telegram", json=update, headers=headers) as wrong:
        assert wrong.status == 401
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    for body in (b"not json", b'{"update_id": "x", "message": 5}'):
        async with post(f"{webhook_bot.url}/webhooks/telegram", data=body, headers=headers) as bad:
            assert bad.status == 400
            assert (await bad.json())["error"] == "not a Telegram update"
    for _ in range(2):  # Telegram retries: the second delivery is a duplicate
        async with post(f"{webhook_bot.url}/webhooks/telegram", json=update, headers=headers) as ok:
            assert ok.status == 200

    [reply] = await bot_api.wait_for("sendMessage", 1, chat_id=112)
    assert reply.params["text"] == said(webhook_bot, "rasa_unavailable")
    _lead, touchpoints = await timeline(webhook_bot, 112)
    assert [t.text for t in touchpoints if t.direction == "in"] == ["hi from the webhook"]
    assert not [c for c in bot_api.calls if c.method == "getUpdates"]  # no polling
    assert Update.model_validate(update).update_id == 7000


async def test_the_bot_sends_plain_text_so_html_is_shown_as_typed(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot = telegram_bot.app[TELEGRAM_BOT]
    await telegram_bot.app[TELEGRAM_DELIVERY].send(113, [OutboundMessage("<b>Dana</b>")], "en")

    [sent] = bot_api.sent("sendMessage", chat_id=113)
    assert sent.params["text"] == "<b>Dana</b>" and "parse_mode" not in sent.params
    assert bot.default.parse_mode is None


async def test_touchpoints_of_telegram_are_on_the_telegram_channel(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot_api.push_update(bot_api.message_update(114, "hello"))
    await bot_api.wait_for("sendMessage", 1, chat_id=114)
    async with telegram_bot.app[SESSIONS]() as session:
        channels = set(await session.scalars(select(Touchpoint.channel)))
    assert channels == {"telegram"}


async def test_a_reply_that_cannot_be_delivered_is_marked_failed_on_the_timeline(
    telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot_api.block(115)  # the prospect blocked the bot: Telegram answers 403
    bot_api.push_update(bot_api.message_update(115, "hello?"))

    await inbound_of(telegram_bot, 115, count=1)
    for _ in range(100):
        _lead, touchpoints = await timeline(telegram_bot, 115)
        outbound = [t for t in touchpoints if t.direction == "out"]
        if outbound and outbound[0].status == "failed":
            break
        await asyncio.sleep(0.1)
    [reply] = outbound
    assert reply.status == "failed" and "blocked" in reply.data["error"]
    assert [t.text for t in touchpoints if t.direction == "in"] == ["hello?"]


async def test_the_web_chat_serves_while_telegram_is_unreachable(tmp_path: Path) -> None:
    dead_api = f"http://127.0.0.1:{free_port()}"
    settings = without_rasa(tmp_path, telegram_bot_token="123:dead", telegram_api_url=dead_api)
    async for running in serve(settings):
        reply = await running.chat("web-visitor-while-telegram-down", "hello")
        assert reply["replies"][0]["text"] == said(running, "rasa_unavailable")


@pytest.mark.postgres
async def test_an_update_sent_while_the_database_restarts_is_answered_once_it_is_back(
    tmp_path: Path, bot_api: FakeBotAPI
) -> None:
    server = PostgresServer()  # its own server: this test stops it
    try:
        settings = without_rasa(
            tmp_path, database_url=f"{server.url}/postgres", **telegram_of(bot_api)
        )
        async for running in serve(settings):
            bot_api.push_update(bot_api.message_update(120, "before the restart"))
            await bot_api.wait_for("sendMessage", 1, chat_id=120)

            server.stop()
            bot_api.push_update(bot_api.message_update(120, "during the restart"))
            await asyncio.sleep(3)  # polled and confirmed to Telegram; the app waits
            assert len(bot_api.sent("sendMessage", chat_id=120)) == 1
            server.start()

            replies = await bot_api.wait_for("sendMessage", 2, chat_id=120, timeout=60)
            assert texts(replies) == [said(running, "rasa_unavailable")] * 2
            _lead, touchpoints = await timeline(running, 120)
            inbound = [t.text for t in touchpoints if t.direction == "in"]
            assert inbound == ["before the restart", "during the restart"]
    finally:
        server.remove()


async def deliver(bot: RunningBot, bot_api: FakeBotAPI, update: dict[str, object]) -> int:
    """Post an update as Telegram does; the status Telegram gets."""
    assert bot_api.webhook is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": bot_api.webhook["secret_token"]}
    url = f"{bot.url}/webhooks/telegram"
    async with bot.http.post(url, json=update, headers=headers) as response:
        return response.status


async def test_in_webhook_mode_telegram_gets_its_200_once_the_update_is_stored_and_answered(
    fast_webhook_bot: RunningBot, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> None:
    """Answering 200 first (aiogram's default) would let a crash lose a confirmed update."""
    fake_rasa.delay = 0.5
    update = bot_api.message_update(130, "how much is it?", update_id=8000)

    assert await deliver(fast_webhook_bot, bot_api, update) == 200

    inbound = await inbound_of(fast_webhook_bot, 130, count=1)  # already there, not awaited
    assert [(t.text, t.status, t.intent) for t in inbound] == [
        ("how much is it?", "done", "ask_price")
    ]
    assert len(bot_api.sent("sendMessage", chat_id=130)) == 1


async def test_an_update_whose_turn_died_midway_is_answered_when_it_comes_again(
    fast_webhook_bot: RunningBot, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> None:
    """The app stored the message and died before answering (Telegram got no 200, so it
    delivers the update again): it is answered now, stored once, Rasa asked once."""
    bot = fast_webhook_bot
    now = bot.app[CLOCK].now()
    async with bot.app[SESSIONS]() as session:
        conversation = await leads.conversation_for(session, "telegram", "131", now)
        await session.flush()
        touchpoints.record(
            session, conversation, direction="in", author="prospect", text="how much is it?",
            language="en", stage="awareness", status="received", idempotency_key="tg:8100",
            at=now,
        )  # fmt: skip
        await session.commit()

    update = bot_api.message_update(131, "how much is it?", update_id=8100)
    assert await deliver(bot, bot_api, update) == 200
    assert await deliver(bot, bot_api, update) == 200  # and once more: nothing new

    assert len(fake_rasa.calls) == 1
    assert len(bot_api.sent("sendMessage", chat_id=131)) == 1
    inbound = await inbound_of(bot, 131, count=1)
    assert [(t.status, t.intent) for t in inbound] == [("done", "ask_price")]


async def test_a_redelivered_update_sends_what_was_never_sent_and_nothing_twice(
    fast_webhook_bot: RunningBot, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> None:
    """The turn was answered and stored, and the app died before sendMessage."""
    bot = fast_webhook_bot
    now = bot.app[CLOCK].now()
    reply = OutboundMessage("Our cars start at ₪139,900.", (Button("Compare", "/compare"),))
    async with bot.app[SESSIONS]() as session:
        conversation = await leads.conversation_for(session, "telegram", "132", now)
        await session.flush()
        inbound = touchpoints.record(
            session, conversation, direction="in", author="prospect", text="how much?",
            language="en", stage="awareness", status="done", idempotency_key="tg:8200", at=now,
        )  # fmt: skip
        await session.flush()
        touchpoints.record(
            session, conversation, direction="out", author="bot", text=reply.text,
            status="queued", data={"reply": reply.stored()}, reply_to_id=inbound.id, at=now,
        )  # fmt: skip
        await session.commit()

    update = bot_api.message_update(132, "how much?", update_id=8200)
    for _ in range(3):
        assert await deliver(bot, bot_api, update) == 200

    assert fake_rasa.calls == []
    [sent] = bot_api.sent("sendMessage", chat_id=132)
    assert sent.params["text"] == reply.text
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/compare"
    _lead, stored = await timeline(bot, 132)
    assert [t.status for t in stored if t.direction == "out"] == ["delivered"]


async def test_a_telegram_chat_with_the_fake_rasa_gets_words_buttons_and_stage(
    fast_telegram_bot: RunningBot, bot_api: FakeBotAPI
) -> None:
    bot_api.push_update(bot_api.message_update(133, "/start src_facebook"))
    [hello] = await bot_api.wait_for("sendMessage", 1, chat_id=133)
    bot_api.push_update(bot_api.message_update(133, "how much is it?"))
    [_, price] = await bot_api.wait_for("sendMessage", 2, chat_id=133)

    assert "virtual assistant" in hello.params["text"]
    [[learn]] = hello.params["reply_markup"]["inline_keyboard"]
    assert learn["callback_data"] == "/ask_product_info"
    assert "₪" in price.params["text"]
    [[compare]] = price.params["reply_markup"]["inline_keyboard"]
    assert compare["callback_data"] == "/compare_products"
    lead, _stored = await timeline(fast_telegram_bot, 133)
    assert (lead.stage, lead.source) == ("consideration", "facebook")
    for _ in range(50):  # confirmed right after Telegram's answer
        _lead, stored = await timeline(fast_telegram_bot, 133)
        if {t.status for t in stored if t.direction == "out"} == {"delivered"}:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the replies were not marked delivered")


async def test_a_turn_still_running_at_shutdown_is_answered_before_the_bot_stops(
    tmp_path: Path, fake_rasa: FakeRasa, bot_api: FakeBotAPI
) -> None:
    """aiogram's stop_polling does not wait for the updates it is handling: the turn
    must finish on the bot's own session and Rasa's, not on ones closed under it."""
    fake_rasa.delay = 1.5
    settings = on_fake(fake_rasa, tmp_path, followup_interval_seconds=3600, **telegram_of(bot_api))
    async for app in serve(settings, ManualClock(monday_morning())):
        rasa_calls = len(fake_rasa.calls)
        bot_api.push_update(bot_api.message_update(141, "how much is it?"))
        for _ in range(100):
            if len(fake_rasa.calls) > rasa_calls:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the turn never reached Rasa")
        sorry = said(app, "rasa_unavailable")
    # the app has stopped, with the turn in the middle of its Rasa call when it began to
    [answer] = bot_api.sent(chat_id=141)
    assert "₪" in answer.params["text"]
    assert answer.params["text"] != sorry
