"""The time the bot runs on: the system clock in production, a hand-set one in tests.

Bookings, availability and follow-ups ask this clock for "now", so tests can
book "tomorrow at 11" on a known weekday and move time forward to see
reminders and the NPS question go out, without sleeping.
"""

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta
