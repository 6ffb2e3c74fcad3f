"""Calendar invites (.ics) for bookings, so the visit lands in the prospect's calendar."""

from datetime import datetime

from icalendar import Calendar, Event

from bot.content.catalog import Catalog
from bot.storage.models import Booking


def invite(booking: Booking, catalog: Catalog, now: datetime) -> bytes:
    """An iCalendar file with one event, titled in the booking's language."""
    profile = catalog.profile
    branch = profile.find_branch(booking.branch_id)
    product = profile.product(booking.product_id)
    calendar = Calendar()
    calendar.add("prodid", "-//journey-bot//bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if booking.status != "confirmed" else "PUBLISH")
    event = Event()
    event.add("uid", f"{booking.token}@journey-bot")
    event.add("dtstamp", now)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", catalog.render("booking_title", booking.language, product=product.name))
    if branch is not None:
        event.add("location", f"{profile.name}, {branch.address}")
        event.add("description", f"{branch.name}: {branch.phone}")
    event.add("status", "CONFIRMED" if booking.status == "confirmed" else "CANCELLED")
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
