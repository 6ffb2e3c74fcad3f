"""When follow-ups are due: a reminder before a booking, the NPS question after it, a nudge.

Follow-ups are rows in the ``followups`` table, so a restart loses none; the
runner (bot.followups.runner) sends the due ones. ``key`` makes scheduling the
same follow-up twice a no-op. The times are here, in one place.
"""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Booking, FollowUp

REMINDER_BEFORE = timedelta(hours=24)
LATE_REMINDER_BEFORE = timedelta(hours=2)  # for bookings made less than a day ahead
NPS_AFTER = timedelta(hours=3)  # after the appointment ends
NUDGE_AFTER = timedelta(hours=2)
NUDGE_AT_MOST_EVERY = timedelta(days=7)


def schedule_booking(session: AsyncSession, booking: Booking, now: datetime) -> None:
    """A reminder before the booking and the NPS question after it (caller commits)."""
    reminder = booking.starts_at - REMINDER_BEFORE
    if reminder < now:
        reminder = booking.starts_at - LATE_REMINDER_BEFORE
    if reminder >= now:
        _add(session, booking.lead_id, "reminder", f"reminder:{booking.id}", reminder, now, booking)
    nps_at = booking.ends_at + NPS_AFTER
    _add(session, booking.lead_id, "nps", f"nps:{booking.id}", nps_at, now, booking)


async def cancel_for_booking(session: AsyncSession, booking_id: int) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.booking_id == booking_id, FollowUp.status == "pending")
        .values(status="cancelled")
    )


async def nudge_later(session: AsyncSession, lead_id: int, now: datetime) -> None:
    """(Re)arm the nudge for a booking in progress; at most one a week per lead."""
    recent = await session.scalar(
        select(FollowUp.id).where(
            FollowUp.lead_id == lead_id,
            FollowUp.kind == "nudge",
            FollowUp.status == "sent",
            FollowUp.sent_at >= now - NUDGE_AT_MOST_EVERY,
        )
    )
    if recent is not None:
        return
    pending = await session.scalar(
        select(FollowUp).where(
            FollowUp.lead_id == lead_id, FollowUp.kind == "nudge", FollowUp.status == "pending"
        )
    )
    if pending is not None:
        pending.due_at = now + NUDGE_AFTER
    else:
        key = f"nudge:{lead_id}:{int(now.timestamp())}"
        _add(session, lead_id, "nudge", key, now + NUDGE_AFTER, now, None)


async def drop_nudge(session: AsyncSession, lead_id: int) -> None:
    await session.execute(
        update(FollowUp)
        .where(FollowUp.lead_id == lead_id, FollowUp.kind == "nudge", FollowUp.status == "pending")
        .values(status="cancelled")
    )


def _add(
    session: AsyncSession,
    lead_id: int,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    booking: Booking | None,
) -> None:
    session.add(
        FollowUp(
            lead_id=lead_id,
            booking_id=booking.id if booking else None,
            kind=kind,
            key=key,
            due_at=due_at,
            created_at=now,
        )
    )
