"""Booking test drives and demos: book, reschedule, cancel, list.

A booking claims one unit of the slot (a car, a demo host) by inserting its
row; the partial unique index on (branch, product, start, unit) among
confirmed bookings decides races in the database, so concurrent prospects can
never double-book, whatever the number of app replicas. There is no
check-then-insert: a failed insert is the "slot taken" answer.
"""

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking import availability
from bot.content.profile import Branch, Profile
from bot.crm import touchpoints
from bot.storage.models import Booking, Conversation, Lead


class SlotTaken(Exception):
    """Every unit of the slot is booked."""


class SlotClosed(Exception):
    """No slot starts then: closed, a holiday, off the grid or too soon."""


async def book(
    session: AsyncSession,
    profile: Profile,
    lead: Lead,
    *,
    branch_id: str,
    product_id: str,
    start: datetime,
    now: datetime,
    language: str,
    conversation: Conversation | None = None,
    event: str | None = "booked",
) -> Booking:
    """Book the slot or raise SlotClosed / SlotTaken; the caller commits.

    ``event`` is the action recorded on the lead's timeline (None: the caller records it).
    The lead's own confirmed booking of that very slot is returned as it is: a
    retried message must not take a second car or demo host.
    """
    branch, product = profile.find_branch(branch_id), profile.find_product(product_id)
    if branch is None or product is None:
        raise SlotClosed(f"no branch {branch_id!r} or product {product_id!r}")
    if not availability.is_slot(profile, branch, start, now):
        raise SlotClosed(f"no {branch.id} slot at {start.isoformat()}")
    already = await _held_by(session, lead, branch.id, product.id, start)
    if already is not None:
        return already
    for unit in range(product.capacity):
        booking = Booking(
            lead_id=lead.id,
            conversation_id=conversation.id if conversation else None,
            kind=profile.booking,
            product_id=product.id,
            branch_id=branch.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=profile.slot_minutes),
            unit=unit,
            token=secrets.token_urlsafe(32),
            language=language,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(booking)
        except IntegrityError:
            continue  # that unit is taken: try the next car or host
        if event:
            _record(session, lead, booking, event, conversation, at=now)
        return booking
    raise SlotTaken(f"{product.id} at {branch.id} {start.isoformat()} is full")


async def reschedule(
    session: AsyncSession,
    profile: Profile,
    lead: Lead,
    booking: Booking,
    start: datetime,
    now: datetime,
    conversation: Conversation | None = None,
) -> Booking:
    """Move a booking: the new slot is claimed before the old one is let go."""
    async with session.begin_nested():
        booking.status = "rescheduled"
        await session.flush()
        moved = await book(
            session, profile, lead, branch_id=booking.branch_id, product_id=booking.product_id,
            start=start, now=now, language=booking.language, conversation=conversation,
            event=None,
        )  # fmt: skip
    _record(session, lead, moved, "rescheduled", conversation, previous=booking, at=now)
    return moved


def cancel(
    session: AsyncSession,
    lead: Lead,
    booking: Booking,
    conversation: Conversation | None = None,
    *,
    at: datetime,
) -> None:
    booking.status = "cancelled"
    booking.updated_at = at
    _record(session, lead, booking, "cancelled", conversation, at=at)


ATTENDANCE = ("attended", "no_show")


class NotYet(Exception):
    """Whether someone came can only be said once the booking has started."""


def mark_attendance(
    session: AsyncSession, lead: Lead, booking: Booking, attendance: str, by: str, *, at: datetime
) -> None:
    """The team says whether the prospect came: the funnel counts the no-shows."""
    if attendance not in ATTENDANCE:
        raise ValueError(f"attendance is one of {ATTENDANCE}")
    if booking.status != "confirmed" or booking.starts_at > at:
        when = f"{booking.starts_at:%Y-%m-%d %H:%M}"
        raise NotYet(f"booking {booking.id} is {booking.status}, at {when} UTC")
    booking.attendance = attendance
    booking.updated_at = at
    _record(session, lead, booking, attendance, None, at=at, by=by)


async def _held_by(
    session: AsyncSession, lead: Lead, branch_id: str, product_id: str, start: datetime
) -> Booking | None:
    query = select(Booking).where(
        Booking.lead_id == lead.id,
        Booking.branch_id == branch_id,
        Booking.product_id == product_id,
        Booking.starts_at == start,
        Booking.status == "confirmed",
    )
    return await session.scalar(query)


async def upcoming(session: AsyncSession, lead_id: int, now: datetime) -> Booking | None:
    """The lead's next confirmed booking, the one "move it" or "cancel it" means."""
    query = (
        select(Booking)
        .where(Booking.lead_id == lead_id, Booking.status == "confirmed", Booking.starts_at > now)
        .order_by(Booking.starts_at)
        .limit(1)
    )
    return await session.scalar(query)


async def by_token(session: AsyncSession, token: str) -> Booking | None:
    """The booking behind a calendar link; the unguessable token is the only key."""
    return await session.scalar(select(Booking).where(Booking.token == token))


async def listing(
    session: AsyncSession,
    profile: Profile,
    *,
    day: date | None = None,
    branch_id: str | None = None,
    status: str | None = None,
) -> list[Booking]:
    """Bookings, oldest first; ``day`` is each branch's own local day, so a Bucharest
    demo at 00:30 local time is on the day Bucharest calls it, not Tel Aviv's."""
    query = select(Booking).order_by(Booking.starts_at, Booking.id)
    branches = [b for b in profile.branches if branch_id is None or b.id == branch_id]
    if day is not None:
        query = query.where(or_(*(_local_day(branch, day) for branch in branches), false()))
    if branch_id:
        query = query.where(Booking.branch_id == branch_id)
    if status:
        query = query.where(Booking.status == status)
    return list(await session.scalars(query))


def _local_day(branch: Branch, day: date) -> ColumnElement[bool]:
    zone = ZoneInfo(branch.timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)  # 23 or 25 h at DST
    return and_(Booking.branch_id == branch.id, Booking.starts_at >= start, Booking.starts_at < end)


def booking_view(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "lead_id": booking.lead_id,
        "kind": booking.kind,
        "product_id": booking.product_id,
        "branch_id": booking.branch_id,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "status": booking.status,
        "attendance": booking.attendance,
        "language": booking.language,
        "calendar": f"/bookings/{booking.token}.ics",
    }


def _record(
    session: AsyncSession,
    lead: Lead,
    booking: Booking,
    action: str,
    conversation: Conversation | None,
    previous: Booking | None = None,
    *,
    at: datetime,
    **more: str,
) -> None:
    data = {"action": action, **booking_view(booking), **more}
    data.pop("calendar")
    if previous is not None:
        data["previous_starts_at"] = previous.starts_at.isoformat()
    touchpoints.record_event(session, lead, "booking", data, conversation=conversation, at=at)
