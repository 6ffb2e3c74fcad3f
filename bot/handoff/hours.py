"""When the team is there: the business's opening hours, across its branches' time zones.

A handoff promises a reply "within a few minutes" only while some branch is
open; otherwise the prospect is told honestly when the team is back, and
offered a call-back instead of the wait (so is one nobody took in time).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.booking.availability import opening
from bot.content.catalog import Catalog
from bot.content.profile import Branch, Profile
from bot.conversation.messages import Button

LOOK_AHEAD_DAYS = 14


def call_back(catalog: Catalog, language: str) -> Button:
    """The button that books a call-back through the booking form."""
    return Button(catalog.render("handoff.callback", language), "/book_appointment")


def open_now(profile: Profile, now: datetime) -> bool:
    return any(_open_at(branch, now) for branch in profile.branches)


def next_opening(profile: Profile, now: datetime) -> tuple[datetime, Branch] | None:
    """The soonest moment a branch opens after ``now``, with that branch."""
    found: list[tuple[datetime, Branch]] = []
    for branch in profile.branches:
        zone = ZoneInfo(branch.timezone)
        today = now.astimezone(zone).date()
        for offset in range(LOOK_AHEAD_DAYS):
            day = today + timedelta(days=offset)
            hours = opening(branch, day)
            if hours is not None and (start := datetime.combine(day, hours[0], zone)) > now:
                found.append((start, branch))
                break
    return min(found, key=lambda pair: pair[0]) if found else None


def _open_at(branch: Branch, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(branch.timezone))
    hours = opening(branch, local.date())
    return hours is not None and hours[0] <= local.time() < hours[1]
