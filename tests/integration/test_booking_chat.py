"""Booking by chat against the real Rasa server: book, reschedule, cancel in five languages,
step by step with buttons, 20 prospects racing for 3 slots, and the follow-ups on a clock.

The app's clock is a ManualClock on a Monday 08:00 in Israel (tests/conftest.py), so
"tomorrow" is a Tuesday with both showrooms open, whenever the suite runs.
"""

import asyncio
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.booking import availability, bookings, texts
from bot.clock import ManualClock
from bot.content.catalog import Catalog
from bot.storage.models import Booking, Lead
from handlers.context import CATALOG, CLOCK, FOLLOWUPS, SESSIONS
from tests.conftest import OPS_TOKEN, RunningBot

pytestmark = pytest.mark.integration
ISRAEL = ZoneInfo("Asia/Jerusalem")

# language: (one-message booking, product, branch, hour tomorrow,
#            move it to the day after tomorrow at 15:00, cancel it, yes)
SCRIPTS = {
    "en": (
        "book a test drive of the RAV4 tomorrow at 11 at Tel Aviv, I'm Dana, 052-555-1234",
        "rav4", "tel_aviv", 11,
        "can you move my test drive to the day after tomorrow at 3pm?",
        "please cancel my test drive",
        "yes",
    ),
    "he": (
        "אני רוצה לקבוע נסיעת מבחן בקורולה מחר ב-12 בתל אביב, קוראים לי דנה, 052-555-1234",
        "corolla", "tel_aviv", 12,
        "אפשר להזיז את נסיעת המבחן למחרתיים ב-15?",
        "אני רוצה לבטל את נסיעת המבחן",
        "כן",
    ),
    "ar": (
        "بدي احجز تجربة قيادة اوكتافيا بكرة الساعة 11 في حيفا، اسمي دانا، 052-555-1234",
        "octavia", "haifa", 11,
        "ممكن تأجيل تجربة القيادة لبعد بكرة الساعة 3؟",
        "بدي الغي تجربة القيادة",
        "نعم",
    ),
    "fa": (
        "می‌خواهم تست درایو اسپورتیج را فردا ساعت ۱۲ در حیفا رزرو کنم، اسمم دانا است، ۰۵۲-۵۵۵-۱۲۳۴",
        "sportage", "haifa", 12,
        "میشه تست درایو من را به پس فردا ساعت ۱۵ تغییر بدید؟",
        "می‌خواهم تست درایو را لغو کنم",
        "بله",
    ),
    "ro": (
        "vreau un test drive cu ID.4 mâine la ora 11 la Tel Aviv, mă numesc Dana, 0721 555 123",
        "id4", "tel_aviv", 11,
        "poți muta test drive-ul meu poimâine la ora 15?",
        "vreau să anulez test drive-ul",
        "da",
    ),
}  # fmt: skip


def day_at(bot: RunningBot, days: int, hour: int) -> datetime:
    today = bot.app[CLOCK].now().astimezone(ISRAEL).date()
    return datetime.combine(today + timedelta(days=days), time(hour), ISRAEL)


async def said(bot: RunningBot, key: str, language: str, booking_id: int, **extra: str) -> str:
    """What the bot should say about this booking, rendered from the catalog."""
    catalog: Catalog = bot.app[CATALOG]
    async with bot.app[SESSIONS]() as session:
        row = await session.get(Booking, booking_id)
        assert row is not None
    return catalog.render(key, language, **texts.params(catalog, row, language), **extra)


async def bookings_of(bot: RunningBot, lead_id: int) -> list[dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    async with bot.http.get(f"{bot.url}/api/v1/bookings", headers=headers) as response:
        assert response.status == 200
        rows = (await response.json())["bookings"]
    return [row for row in rows if row["lead_id"] == lead_id]


@pytest.mark.parametrize("language", SCRIPTS)
async def test_book_reschedule_and_cancel_by_chat(bot: RunningBot, language: str) -> None:
    one_message, product, branch, hour, move, cancel, yes = SCRIPTS[language]
    sender = f"booker-{language}"

    booked = await bot.chat(sender, one_message, language=language)
    lead = await bot.lead(booked["lead_id"])
    assert (lead["phone"] or "").startswith("+") and lead["name"] in {"Dana", "דנה", "دانا"}
    [made] = await bookings_of(bot, booked["lead_id"])
    assert (made["product_id"], made["branch_id"], made["status"]) == (product, branch, "confirmed")
    assert datetime.fromisoformat(made["starts_at"]) == day_at(bot, 1, hour)
    [confirmation] = booked["replies"]
    assert confirmation["text"] == await said(
        bot, "booking.confirmed", language, made["id"], name=lead["name"]
    )
    assert confirmation["attachment"]["url"] == made["calendar"]
    async with bot.http.get(bot.url + made["calendar"]) as response:
        assert response.status == 200 and "BEGIN:VCALENDAR" in await response.text()

    moved = await bot.chat(sender, move)
    rows = await bookings_of(bot, booked["lead_id"])
    assert [(r["status"], datetime.fromisoformat(r["starts_at"])) for r in rows] == [
        ("rescheduled", day_at(bot, 1, hour)),
        ("confirmed", day_at(bot, 2, 15)),
    ], moved
    assert moved["replies"][0]["text"] == await said(
        bot, "booking.rescheduled", language, rows[1]["id"]
    )

    question = await bot.chat(sender, cancel)
    assert question["replies"][0]["text"] == await said(
        bot, "booking.confirm_cancel", language, rows[1]["id"]
    )
    assert [b["payload"] for b in question["replies"][0]["buttons"]] == ["/affirm", "/deny"]
    done = await bot.chat(sender, yes)
    assert done["replies"][0]["text"] == await said(
        bot, "booking.cancelled", language, rows[1]["id"]
    )
    assert [r["status"] for r in await bookings_of(bot, booked["lead_id"])] == [
        "rescheduled",
        "cancelled",
    ]
    timeline = (await bot.lead(booked["lead_id"]))["touchpoints"]
    actions = [t["data"]["action"] for t in timeline if t["kind"] == "booking"]
    assert actions == ["booked", "rescheduled", "cancelled"]


async def test_step_by_step_with_buttons_and_details_known_from_before(bot: RunningBot) -> None:
    sender = "booker-steps"
    hello = await bot.chat(sender, "my name is Noa, noa@example.com", language="en")
    lead = await bot.lead(hello["lead_id"])
    assert (lead["name"], lead["email"]) == ("Noa", "noa@example.com")
    start = await bot.chat(sender, "I'd like to book a test drive")
    [ask_product] = start["replies"]
    assert [b["title"] for b in ask_product["buttons"]][:2] == ["Corolla", "RAV4"]
    ask_branch = await bot.chat(sender, ask_product["buttons"][2]["payload"])  # Tucson
    assert [b["payload"] for b in ask_branch["replies"][-1]["buttons"]] == [
        '/inform{"branch": "tel_aviv"}',
        '/inform{"branch": "haifa"}',
    ]
    ask_when = await bot.chat(sender, "Haifa please")
    slots = ask_when["replies"][-1]["buttons"]
    assert len(slots) == 4 and all(b["payload"].startswith('/inform{"when"') for b in slots)
    picked = json.loads(slots[1]["payload"][len("/inform") :])["when"]
    booked = await bot.chat(sender, slots[1]["payload"])
    [confirmation] = booked["replies"]  # name and email were known: not asked again
    assert confirmation["text"].startswith("You're booked, Noa!"), confirmation
    [row] = await bookings_of(bot, booked["lead_id"])
    assert (row["product_id"], row["branch_id"]) == ("tucson", "haifa")
    assert datetime.fromisoformat(row["starts_at"]) == datetime.fromisoformat(picked)


async def test_a_question_mid_booking_is_answered_and_the_booking_resumes(
    bot: RunningBot,
) -> None:
    sender = "booker-question"
    await bot.chat(sender, "book a test drive of the corolla please", language="en")
    answer = await bot.chat(sender, "how much is the corolla?")
    assert answer["replies"][0]["text"].startswith("The Corolla is"), answer
    resume = answer["replies"][-1]["buttons"][-1]
    assert resume["payload"] == "/book_appointment"
    asked = await bot.chat(sender, resume["payload"])
    assert asked["replies"][-1]["text"].startswith("At which showroom"), asked  # model kept


async def test_twenty_prospects_race_for_three_free_slots(bot: RunningBot) -> None:
    """Every Sportage slot in Tel Aviv on Wednesday is taken but three; 20 ask at once."""
    profile = bot.app[CATALOG].profile
    tel_aviv, sportage = profile.find_branch("tel_aviv"), profile.find_product("sportage")
    assert tel_aviv is not None and sportage is not None
    now = bot.app[CLOCK].now()
    wednesday = day_at(bot, 2, 0).date()
    starts = availability.slot_starts(profile, tel_aviv, wednesday)
    free = [s for s in starts if s.hour in (10, 11, 12)]
    async with bot.app[SESSIONS]() as session:
        for start in starts:
            if start not in free:
                lead = Lead()
                session.add(lead)
                await session.flush()
                await bookings.book(
                    session, profile, lead, branch_id="tel_aviv", product_id="sportage",
                    start=start, now=now, language="en",
                )  # fmt: skip
        await session.commit()
    date = f"{wednesday.day}/{wednesday.month}"

    async def prospect(n: int) -> dict:  # type: ignore[type-arg]
        hour = free[n % 3].hour
        text = (
            f"book a test drive of the Sportage in Tel Aviv on {date} at {hour}:00, "
            f"I'm Racer{n}, 052-555-{1000 + n}"
        )
        return await bot.chat(f"racer-{n}", text, language="en")

    replies = await asyncio.gather(*(prospect(n) for n in range(20)))

    confirmed = [r for r in replies if r["replies"][-1].get("attachment")]
    offered = [r for r in replies if not r["replies"][-1].get("attachment")]
    assert (len(confirmed), len(offered)) == (3, 17)
    async with bot.app[SESSIONS]() as session:
        rows = await bookings.listing(session, profile, branch_id="tel_aviv", status="confirmed")
    wednesday_sportage = [
        r
        for r in rows
        if r.product_id == "sportage" and r.starts_at.astimezone(ISRAEL).date() == wednesday
    ]
    assert len(wednesday_sportage) == len(starts)  # one per slot, never two
    for n, reply in enumerate(replies):
        if reply in confirmed:
            continue
        last = reply["replies"][-1]
        assert last["text"].startswith("Sorry,") and "is already taken" in last["text"]
        times = [datetime.fromisoformat(json.loads(b["payload"][len("/inform") :])["when"])
                 for b in last["buttons"]]  # fmt: skip
        assert len(times) == 4 and free[n % 3] not in times  # never the slot just lost
        # A raced slot whose winner had not committed yet was free when offered; every
        # other Wednesday slot was full all along.
        assert all(t.date() != wednesday or t in free for t in times)


async def test_reminder_and_nps_go_out_on_time_and_the_answer_moves_the_stage(
    bot: RunningBot,
) -> None:
    clock = bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    sender = "booker-followups"
    booked = await bot.chat(
        sender,
        "book a test drive of the RAV4 in Haifa tomorrow at 17:00, I'm Tal, 054-555-7788",
        language="en",
    )
    [row] = await bookings_of(bot, booked["lead_id"])
    starts = datetime.fromisoformat(row["starts_at"])
    runner = bot.app[FOLLOWUPS]
    start_clock = clock.now()
    try:
        clock.set(starts - timedelta(hours=24, minutes=1))
        assert [f.kind for f in await runner.run_due() if f.lead_id == booked["lead_id"]] == []
        clock.set(starts - timedelta(hours=23, minutes=59))
        reminders = [f for f in await runner.run_due() if f.lead_id == booked["lead_id"]]
        assert [f.kind for f in reminders] == ["reminder"]
        clock.set(starts + timedelta(hours=4, minutes=1))  # 1 h drive + 3 h
        nps = [f for f in await runner.run_due() if f.lead_id == booked["lead_id"]]
        assert [f.kind for f in nps] == ["nps"]
        lead = await bot.lead(booked["lead_id"])
        sent = [t for t in lead["touchpoints"] if t["kind"].startswith("followup_")]
        assert [t["kind"] for t in sent] == ["followup_reminder", "followup_nps"]
        assert "RAV4" in sent[0]["text"] and "0 (not at all) to 10" in sent[1]["text"]

        answer = await bot.chat(sender, "10")
        assert answer["stage"] == "advocacy"
        assert answer["replies"][0]["text"].startswith("Thank you, that means a lot")
    finally:
        clock.set(start_clock)
