"""The bookings listing (ops) and the calendar link, on the real app."""

from datetime import UTC, datetime

from icalendar import Calendar

from bot.booking import availability, bookings
from bot.storage.models import Lead
from handlers.context import CATALOG, SESSIONS
from tests.conftest import OPS_TOKEN, RunningBot

HEADERS = {"Authorization": f"Bearer {OPS_TOKEN}"}


async def booked(bot: RunningBot, branch_id: str, language: str) -> dict[str, str]:
    profile = bot.app[CATALOG].profile
    branch, product = profile.find_branch(branch_id), profile.find_product("RAV4")
    assert branch is not None and product is not None
    now = datetime.now(UTC)
    async with bot.app[SESSIONS]() as session:
        lead = Lead()
        session.add(lead)
        await session.flush()
        slot = (await availability.nearest_free(session, profile, branch, product, now, now))[0]
        made = await bookings.book(
            session, profile, lead, branch_id=branch.id, product_id=product.id,
            start=slot, now=now, language=language,
        )  # fmt: skip
        await session.commit()
        return bookings.booking_view(made)


async def test_bookings_are_listed_with_filters(bot_without_rasa: RunningBot) -> None:
    bot = bot_without_rasa
    haifa = await booked(bot, "haifa", "en")
    await booked(bot, "tel_aviv", "ro")
    url = f"{bot.url}/api/v1/bookings"

    async with bot.http.get(url, headers=HEADERS, params={"branch": "Haifa"}) as response:
        assert response.status == 200
        assert [b["id"] for b in (await response.json())["bookings"]] == [haifa["id"]]
    day = haifa["starts_at"][:10]
    async with bot.http.get(url, headers=HEADERS, params={"date": day}) as response:
        assert haifa["id"] in [b["id"] for b in (await response.json())["bookings"]]
    async with bot.http.get(url, headers=HEADERS, params={"status": "cancelled"}) as response:
        assert (await response.json())["bookings"] == []
    for params in ({"date": "tomorrow"}, {"branch": "Eilat"}, {"status": "lost"}):
        async with bot.http.get(url, headers=HEADERS, params=params) as response:
            assert response.status == 400, params
    async with bot.http.get(url) as response:
        assert response.status == 401


async def test_the_calendar_link_serves_the_invite(bot_without_rasa: RunningBot) -> None:
    bot = bot_without_rasa
    made = await booked(bot, "haifa", "he")
    async with bot.http.get(f"{bot.url}{made['calendar']}") as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        event = Calendar.from_ical(await response.read()).walk("VEVENT")[0]
    assert str(event["summary"]) == "נסיעת מבחן: RAV4 ב-Carmel Motors"
    assert event.decoded("dtstart") == datetime.fromisoformat(made["starts_at"])
    assert "40 HaHistadrut Blvd" in str(event["location"])
    async with bot.http.get(f"{bot.url}/bookings/{'x' * 43}.ics") as response:
        assert response.status == 404
