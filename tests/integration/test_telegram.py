"""A prospect over Telegram, against the real Rasa server: the real aiogram Bot and
Dispatcher inside the app poll the fake Bot API server (tests/fakes/bot_api.py).

From /start with a source code, through a price question, to a complete booking with
its .ics document and the reminder the day before: step by step with the inline
buttons and a shared contact in English, in one message in Hebrew (right to left).
"""

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.booking import texts
from bot.clock import ManualClock
from bot.content.catalog import Catalog
from bot.storage.models import Booking
from handlers.context import CATALOG, CLOCK, FOLLOWUPS, SESSIONS
from tests.conftest import RunningBot
from tests.fakes.bot_api import Call, FakeBotAPI
from tests.fakes.telegram_people import Prospect, buttons

pytestmark = pytest.mark.integration


def catalog(bot: RunningBot) -> Catalog:
    return bot.app[CATALOG]


async def reminder_goes_out(bot: RunningBot, api: FakeBotAPI, chat_id: int, lead_id: int) -> Call:
    """Move the clock to just before the booking's latest reminder time (2 h before it)
    and run the follow-ups: its reminder, and only that, goes out to the chat."""
    clock = bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    [booking] = [
        b for b in (await bookings(bot)) if b["lead_id"] == lead_id and b["status"] == "confirmed"
    ]
    start_clock = clock.now()
    try:
        clock.set(datetime.fromisoformat(booking["starts_at"]) - timedelta(hours=1, minutes=59))
        before = len(api.sent("sendMessage", chat_id))
        sent = [f for f in await bot.app[FOLLOWUPS].run_due() if f.lead_id == lead_id]
        assert [f.kind for f in sent] == ["reminder"]
        [reminder] = (await api.wait_for("sendMessage", before + 1, chat_id=chat_id))[before:]
        return reminder
    finally:
        clock.set(start_clock)


async def bookings(bot: RunningBot) -> list[dict[str, Any]]:
    headers = {"Authorization": "Bearer test-ops-token"}
    async with bot.http.get(f"{bot.url}/api/v1/bookings", headers=headers) as response:
        assert response.status == 200
        return (await response.json())["bookings"]  # type: ignore[no-any-return]


async def test_from_start_to_a_booked_test_drive_in_english_with_buttons(
    bot: RunningBot, live_bot_api: FakeBotAPI
) -> None:
    dana = Prospect(live_bot_api, 900_001, "en")
    say = catalog(bot).render

    [hello] = await dana.says("/start src_instagram")
    assert hello.params["text"].startswith("Hi! I'm the virtual assistant of Carmel Motors")

    price = await dana.says("how much is the RAV4?")
    assert "RAV4" in price[0].params["text"] and "₪" in price[0].params["text"]

    [ask_product] = await dana.says("I'd like to book a test drive")
    assert ask_product.params["text"] == say("booking.ask_product", "en")
    assert buttons(ask_product)[:2] == ["Corolla", "RAV4"]
    [ask_branch] = await dana.presses(ask_product, "RAV4")
    assert buttons(ask_branch) == ["Tel Aviv", "Haifa"]
    [ask_when] = await dana.presses(ask_branch, "Haifa")
    slots = buttons(ask_when)
    assert len(slots) == 4
    [ask_name] = await dana.presses(ask_when, slots[-1])  # hours ahead: a reminder is due
    assert ask_name.params["text"] == say("booking.ask_name", "en")
    [ask_contact] = await dana.says("Dana")
    share = ask_contact.params["reply_markup"]["keyboard"][0][0]
    assert share == {"text": say("telegram.share_contact", "en"), "request_contact": True}

    contact = {"phone_number": "972525551234", "first_name": "Dana", "user_id": 900_001}
    [confirmation] = await dana.says(None, contact=contact)
    assert confirmation.params["text"].startswith("You're booked, Dana! Test drive of the RAV4")
    assert confirmation.params["reply_markup"] == {"remove_keyboard": True}  # no more "share"
    [document] = await live_bot_api.wait_for("sendDocument", 1, chat_id=900_001)
    filename, data = document.files["document"]
    assert filename.endswith(".ics") and b"BEGIN:VCALENDAR" in data and b"RAV4" in data

    lead_id = next(b["lead_id"] for b in await bookings(bot) if b["product_id"] == "rav4"
                   and b["branch_id"] == "haifa")  # fmt: skip
    lead = await bot.lead(lead_id)
    assert (lead["source"], lead["phone"], lead["name"]) == ("instagram", "+972525551234", "Dana")
    assert lead["stage"] == "decision"
    assert {t["channel"] for t in lead["touchpoints"]} == {"telegram"}

    reminder = await reminder_goes_out(bot, live_bot_api, 900_001, lead_id)
    assert reminder.params["text"].startswith("A reminder: your test drive of the RAV4")


async def test_a_one_message_booking_in_hebrew(bot: RunningBot, live_bot_api: FakeBotAPI) -> None:
    noa = Prospect(live_bot_api, 900_002, "he")

    [hello] = await noa.says("/start src_facebook")
    assert hello.params["text"] == catalog(bot).render("greet", "he")

    [price] = await noa.says("כמה עולה הקורולה?")
    assert "Corolla" in price.params["text"] or "קורולה" in price.params["text"]

    [confirmation] = await noa.says(
        "אני רוצה לקבוע נסיעת מבחן בקורולה מחר ב-12 בתל אביב, קוראים לי נועה, 052-555-9876"
    )
    [document] = await live_bot_api.wait_for("sendDocument", 1, chat_id=900_002)
    [row] = [b for b in await bookings(bot) if b["product_id"] == "corolla"
             and b["branch_id"] == "tel_aviv" and b["status"] == "confirmed"]  # fmt: skip
    lead = await bot.lead(row["lead_id"])
    assert confirmation.params["text"].startswith(f"קבענו, {lead['name']}!"), confirmation.params
    assert document.files["document"][0].endswith(".ics")
    assert (lead["source"], lead["language"], lead["phone"]) == (
        "facebook",
        "he",
        "+972525559876",
    )

    reminder = await reminder_goes_out(bot, live_bot_api, 900_002, row["lead_id"])
    assert reminder.params["text"] == catalog(bot).render(
        "followup.reminder", "he", **(await _booking_params(bot, row))
    )


async def _booking_params(bot: RunningBot, row: dict[str, Any]) -> dict[str, str]:
    async with bot.app[SESSIONS]() as session:
        booking = await session.get(Booking, row["id"])
        assert booking is not None
    return texts.params(catalog(bot), booking, "he")
