"""Availability and bookings on a real database, including a race for the last slots."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import availability, bookings, texts
from bot.content.catalog import Catalog
from bot.content.profile import Profile
from bot.storage.models import Booking, Lead

ISRAEL = ZoneInfo("Asia/Jerusalem")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 10:00 in Israel
THURSDAY = date(2026, 11, 26)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ISRAEL)


async def new_lead(session: AsyncSession) -> Lead:
    lead = Lead()
    session.add(lead)
    await session.flush()
    return lead


def test_slots_follow_opening_hours_and_holidays(dealer: Profile) -> None:
    haifa = dealer.find_branch("Haifa")
    assert haifa is not None
    starts = availability.slot_starts(dealer, haifa, THURSDAY)  # 09:00-18:00, one hour each
    assert starts[0] == at(THURSDAY, 9) and starts[-1] == at(THURSDAY, 17)
    assert len(starts) == 9
    assert availability.slot_starts(dealer, haifa, date(2026, 11, 27)) == []  # Friday: closed
    tel_aviv = dealer.find_branch("tel_aviv")
    assert tel_aviv is not None
    assert availability.slot_starts(dealer, tel_aviv, date(2026, 12, 25)) == []  # holiday
    assert availability.is_slot(dealer, haifa, at(THURSDAY, 10), NOW)
    assert not availability.is_slot(dealer, haifa, at(THURSDAY, 9, 30), NOW)  # off the grid
    assert not availability.is_slot(dealer, haifa, NOW + timedelta(minutes=30), NOW)


async def test_book_reschedule_cancel_and_the_timeline(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        lead = await new_lead(session)
        made = await bookings.book(
            session, dealer, lead, branch_id="haifa", product_id="tucson",
            start=at(THURSDAY, 11), now=NOW, language="he",
        )  # fmt: skip
        moved = await bookings.reschedule(session, dealer, lead, made, at(THURSDAY, 15), NOW)
        assert (made.status, moved.status) == ("rescheduled", "confirmed")
        assert await bookings.upcoming(session, lead.id, NOW) is moved
        bookings.cancel(session, lead, moved, at=NOW)
        await session.commit()
        assert await bookings.upcoming(session, lead.id, NOW) is None

    async with sessions() as session:
        rows = await bookings.listing(session, dealer, branch_id="haifa")
        assert [(b.starts_at, b.status) for b in rows] == [
            (at(THURSDAY, 11), "rescheduled"),
            (at(THURSDAY, 15), "cancelled"),
        ]


async def test_a_full_slot_and_a_closed_time_are_refused(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        first, second = await new_lead(session), await new_lead(session)
        await bookings.book(
            session, dealer, first, branch_id="haifa", product_id="tucson",
            start=at(THURSDAY, 9), now=NOW, language="en",
        )  # fmt: skip
        with pytest.raises(bookings.SlotTaken):
            await bookings.book(
                session, dealer, second, branch_id="haifa", product_id="tucson",
                start=at(THURSDAY, 9), now=NOW, language="en",
            )  # fmt: skip
        with pytest.raises(bookings.SlotClosed):
            await bookings.book(
                session, dealer, second, branch_id="haifa", product_id="tucson",
                start=at(date(2026, 11, 27), 10), now=NOW, language="en",
            )  # fmt: skip
        # the Corolla has two cars: two prospects, one slot
        for lead in (first, second):
            await bookings.book(
                session, dealer, lead, branch_id="haifa", product_id="corolla",
                start=at(THURSDAY, 9), now=NOW, language="en",
            )  # fmt: skip
        await session.commit()


async def test_twenty_prospects_race_for_three_free_slots(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    haifa = dealer.find_branch("haifa")
    tucson = dealer.find_product("Tucson")
    assert haifa is not None and tucson is not None
    starts = availability.slot_starts(dealer, haifa, THURSDAY)
    free, full = starts[:3], starts[3:]
    async with sessions() as session:  # the rest of Thursday is already booked
        for start in full:
            await bookings.book(
                session, dealer, await new_lead(session), branch_id="haifa",
                product_id="tucson", start=start, now=NOW, language="en",
            )  # fmt: skip
        await session.commit()

    async def prospect(number: int) -> tuple[datetime, list[datetime] | None]:
        """Book one of the three free slots; if it is gone, get the nearest alternatives."""
        wanted = free[number % 3]
        async with sessions() as session:
            lead = await new_lead(session)
            try:
                await bookings.book(
                    session, dealer, lead, branch_id="haifa", product_id="tucson",
                    start=wanted, now=NOW, language="en",
                )  # fmt: skip
                await session.commit()
                return wanted, None
            except bookings.SlotTaken:
                await session.rollback()
                offer = await availability.nearest_free(session, dealer, haifa, tucson, wanted, NOW)
                return wanted, offer

    outcomes = await asyncio.gather(*(prospect(n) for n in range(20)))

    booked = sorted(wanted for wanted, offer in outcomes if offer is None)
    offered = [(wanted, offer) for wanted, offer in outcomes if offer is not None]
    assert (booked, len(offered)) == (free, 17)  # each free slot went to exactly one prospect
    async with sessions() as session:
        thursday = await session.scalar(
            select(func.count()).where(
                Booking.starts_at >= at(THURSDAY, 0), Booking.starts_at < at(THURSDAY, 23)
            )
        )
        assert thursday == len(starts)  # one per slot, never two
    for wanted, offer in offered:
        # Free when offered: another of the three, if its winner had not committed yet,
        # or the nearest on the next open days.
        assert len(offer) == 3 and wanted not in offer
        assert all(availability.is_slot(dealer, haifa, slot, NOW) for slot in offer)


def overseas(dealer: Profile) -> Profile:
    """The dealer with its Haifa showroom moved to New York: seven hours behind Tel Aviv."""
    branches = [
        b.model_copy(update={"timezone": "America/New_York"}) if b.id == "haifa" else b
        for b in dealer.branches
    ]
    return dealer.model_copy(update={"branches": branches})


async def test_the_bookings_of_a_day_are_each_branchs_own_local_day(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    profile = overseas(dealer)
    new_york = ZoneInfo("America/New_York")
    last_slot = datetime(2026, 11, 26, 17, tzinfo=new_york)  # Thursday 17:00 there
    assert last_slot.astimezone(ISRAEL).date() == date(2026, 11, 27)  # Friday in Tel Aviv
    async with sessions() as session:
        lead = await new_lead(session)
        await bookings.book(
            session, profile, lead, branch_id="haifa", product_id="rav4",
            start=last_slot, now=NOW, language="en",
        )  # fmt: skip
        await bookings.book(
            session, profile, lead, branch_id="tel_aviv", product_id="rav4",
            start=at(THURSDAY, 10), now=NOW, language="en",
        )  # fmt: skip
        await session.commit()
        thursday = await bookings.listing(session, profile, day=THURSDAY)
        friday = await bookings.listing(session, profile, day=date(2026, 11, 27))
        haifa_thursday = await bookings.listing(session, profile, day=THURSDAY, branch_id="haifa")
    assert [(b.branch_id, b.starts_at) for b in thursday] == [
        ("tel_aviv", at(THURSDAY, 10)), ("haifa", last_slot)
    ]  # fmt: skip
    assert friday == []
    assert [b.branch_id for b in haifa_thursday] == ["haifa"]


async def test_the_invite_is_named_after_the_local_time_at_the_branch(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    catalog = Catalog.load(dealer, "en")
    async with sessions() as session:
        lead = await new_lead(session)
        made = await bookings.book(
            session, dealer, lead, branch_id="haifa", product_id="rav4",
            start=at(THURSDAY, 11), now=NOW, language="en",
        )  # fmt: skip
    assert texts.calendar_link(made, catalog, "en")["filename"] == "test-drive-20261126-1100.ics"


async def test_booking_the_same_slot_again_for_the_same_lead_takes_no_second_unit(
    dealer: Profile, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A retried message must not take the second RAV4 (two cars): the lead's own booking
    comes back."""
    async with sessions() as session:
        lead = await new_lead(session)
        first = await bookings.book(
            session, dealer, lead, branch_id="tel_aviv", product_id="rav4",
            start=at(THURSDAY, 11), now=NOW, language="en",
        )  # fmt: skip
        again = await bookings.book(
            session, dealer, lead, branch_id="tel_aviv", product_id="rav4",
            start=at(THURSDAY, 11), now=NOW, language="en",
        )  # fmt: skip
        count = await session.scalar(select(func.count()).select_from(Booking))
    assert again is first and count == 1
