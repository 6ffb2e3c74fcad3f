"""When a product can be booked at a branch: opening hours, holidays, slots, capacity.

Slots start at opening time and every ``slot_minutes`` after, as long as the
whole slot ends by closing time. A slot is free while it holds fewer
confirmed bookings than the product has units (cars, demo hosts).
"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.profile import DAYS, Branch, Product, Profile
from bot.storage.models import Booking

MIN_NOTICE = timedelta(hours=1)  # no booking for a slot that starts sooner than this
SEARCH_DAYS = 14


def opening(branch: Branch, day: date) -> tuple[time, time] | None:
    """Opening and closing time on ``day``, or None when the branch is closed."""
    hours = branch.hours.get(DAYS[day.weekday()])
    if not hours or day.isoformat() in branch.holidays:
        return None
    start, end = hours.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def slot_starts(profile: Profile, branch: Branch, day: date) -> list[datetime]:
    """Every slot's start on ``day``, aware, in the branch's time zone."""
    hours = opening(branch, day)
    if hours is None:
        return []
    zone, length = ZoneInfo(branch.timezone), timedelta(minutes=profile.slot_minutes)
    start = datetime.combine(day, hours[0], tzinfo=zone)
    close = datetime.combine(day, hours[1], tzinfo=zone)
    starts = []
    while start + length <= close:
        starts.append(start)
        start += length
    return starts


def is_slot(profile: Profile, branch: Branch, start: datetime, now: datetime) -> bool:
    """Does a slot start exactly then, with enough notice?"""
    local = start.astimezone(ZoneInfo(branch.timezone))
    return start >= now + MIN_NOTICE and local in slot_starts(profile, branch, local.date())


async def taken(session: AsyncSession, branch: Branch, product: Product, start: datetime) -> int:
    query = select(func.count()).where(
        Booking.branch_id == branch.id,
        Booking.product_id == product.id,
        Booking.starts_at == start,
        Booking.status == "confirmed",
    )
    return int(await session.scalar(query) or 0)


def _by_distance(profile: Profile, branch: Branch, wanted: datetime) -> Iterator[datetime]:
    """Slot starts from the wanted day on, nearest to the wanted time first, day by day."""
    local = wanted.astimezone(ZoneInfo(branch.timezone))
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        yield from sorted(slot_starts(profile, branch, day), key=lambda s: abs(s - wanted))


async def nearest_free(
    session: AsyncSession,
    profile: Profile,
    branch: Branch,
    product: Product,
    wanted: datetime,
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The free slots closest to what the prospect asked for, soonest day first."""
    found: list[datetime] = []
    for start in _by_distance(profile, branch, max(wanted, now)):
        if start < now + MIN_NOTICE:
            continue
        if await taken(session, branch, product, start) < product.capacity:
            found.append(start)
            if len(found) == count:
                break
    return sorted(found)
