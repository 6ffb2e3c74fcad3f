"""The fake Bot API against the real aiogram Bot and Dispatcher: if aiogram accepts its
answers and raises the right exceptions for its errors, tests built on it are honest."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fakes.bot_api import FakeBotAPI

CHAT = 4242


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))
    yield bot
    await bot.session.close()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=d, callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_get_me_is_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "journey_test_bot", True)


async def test_send_message_records_the_keyboard(api: FakeBotAPI, bot: Bot) -> None:
    message = await bot.send_message(CHAT, "42", reply_markup=keyboard("yes", "no"))

    [call] = api.sent("sendMessage", chat_id=CHAT)
    assert call.params["text"] == "42"  # a str parameter stays a string
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "yes", "callback_data": "yes"}, {"text": "no", "callback_data": "no"}]
        ]
    }
    assert message.chat.id == CHAT
    assert message.from_user is not None and message.from_user.username == "journey_test_bot"
    # aiogram models compare their private bot reference too: compare the data
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == keyboard("yes", "no").model_dump()
    second = await bot.send_message(CHAT, "again")
    assert second.message_id > message.message_id


async def test_flood_control_is_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", times=1, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(CHAT, "hello")
    assert raised.value.retry_after == 7
    assert api.sent() == []

    await bot.send_message(CHAT, "hello")
    assert [c.status for c in api.calls if c.method == "sendMessage"] == [429, 200]
    assert len(api.sent()) == 1


async def test_send_document_records_the_upload(api: FakeBotAPI, bot: Bot) -> None:
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"

    message = await bot.send_document(
        CHAT, BufferedInputFile(ics, "booking.ics"), caption="Your test drive"
    )

    [call] = api.sent("sendDocument", chat_id=CHAT)
    assert call.files == {"document": ("booking.ics", ics)}
    assert call.params["caption"] == "Your test drive"
    assert message.document is not None
    assert message.document.file_name == "booking.ics"
    assert message.document.mime_type == "text/calendar"
    again = await bot.send_document(CHAT, message.document.file_id)  # resending by file_id
    assert again.document is not None
    assert again.document.file_id == message.document.file_id


async def test_polling_dispatcher_answers_a_pushed_update(api: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"you said {message.text}")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        await api.wait_for("getMe", 1, timeout=5)
        api.push_update(api.message_update(CHAT, "hi"))
        [reply] = await api.wait_for("sendMessage", 1, chat_id=CHAT, timeout=5)
        assert reply.params["text"] == "you said hi"
    finally:
        await dp.stop_polling()
        await polling
    polls = [call for call in api.calls if call.method == "getUpdates"]
    assert polls[0].params["allowed_updates"] == ["message"]  # aiogram asks for what it handles
    assert polls[-1].params["offset"] == 2  # update 1 confirmed (that poll was cancelled)


async def test_callback_query_answered_once(api: FakeBotAPI, bot: Bot) -> None:
    dp = Dispatcher()
    sent = await bot.send_message(CHAT, "Pick a time", reply_markup=keyboard("slot:11"))

    @dp.callback_query()
    async def pick(query: CallbackQuery) -> None:
        await query.answer("Booked")
        assert isinstance(query.message, Message) and query.message.text == "Pick a time"
        await query.message.edit_reply_markup(reply_markup=None)

    update = api.callback_update(CHAT, "slot:11", message_id=sent.message_id)
    api.push_update(update)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        await api.wait_for("editMessageReplyMarkup", 1, chat_id=CHAT, timeout=5)
    finally:
        await dp.stop_polling()
        await polling
    [answer] = api.sent("answerCallbackQuery")
    assert answer.params["callback_query_id"] == update["callback_query"]["id"]

    async with Bot(
        api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    ) as b:
        with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
            await b.answer_callback_query(update["callback_query"]["id"])
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await b.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id)


async def test_telegram_limits_are_bad_requests(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "  ")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard("x" * 65))
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")  # tags are free
    assert len(api.sent()) == 1


async def test_webhook_blocks_polling(api: FakeBotAPI, bot: Bot) -> None:
    await bot.set_webhook("https://bot.example/tg", secret_token="s3cret")
    assert api.webhook is not None and api.webhook["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://bot.example/tg"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()

    await bot.delete_webhook()
    assert api.webhook is None
    assert await bot.get_updates(timeout=0) == []


async def test_long_poll_returns_when_an_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.1)
    update_id = api.push_update(api.message_update(CHAT, "/start ref_42", language_code="he"))

    [update] = await asyncio.wait_for(poll, 5)
    assert update.update_id == update_id
    assert update.message is not None and update.message.text == "/start ref_42"
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "he"
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    async with Bot(
        "999:wrong", session=AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    ) as stranger:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    assert api.calls[-1].status == 401


async def test_unknown_method_is_not_found(api: FakeBotAPI) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.url}/bot{api.token}/sendTelepathy", data={"chat_id": "1"}) as r:
            assert r.status == 404
            assert await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        # a Bot API method the fake has no logic for is accepted
        async with http.get(f"{api.url}/bot{api.token}/setMyDescription?description=42") as r:
            assert await r.json() == {"ok": True, "result": True}
    assert api.calls[-1].params == {"description": "42"}
