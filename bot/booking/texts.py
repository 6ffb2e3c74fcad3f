"""A booking in words: its time in the branch's zone and the prospect's language, its facts.

Times read "Tue 24.11, 11:00": the day name from the catalog, then day.month
and the 24-hour clock, which every one of our five languages reads the same way.
"""

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.catalog import Catalog
from bot.content.profile import DAYS, Branch
from bot.storage.models import Booking


def format_when(catalog: Catalog, moment: datetime, timezone: str, language: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    day = catalog.text(f"day.{DAYS[local.weekday()]}", language)
    return f"{day} {local.day}.{local.month}, {local:%H:%M}"


def format_day(catalog: Catalog, moment: datetime, timezone: str, language: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{catalog.text(f'day.{DAYS[local.weekday()]}', language)} {local.day}.{local.month}"


def slot_button(catalog: Catalog, start: datetime, branch: Branch, language: str) -> dict[str, str]:
    """A free slot as a button; the payload is Rasa's intent-with-entity syntax, no NLU needed."""
    return {
        "title": format_when(catalog, start, branch.timezone, language),
        "payload": "/inform" + json.dumps({"when": start.isoformat()}),
    }


def params(catalog: Catalog, booking: Booking, language: str) -> dict[str, Any]:
    """The placeholders a booking's messages use: product, branch, address, when."""
    profile = catalog.profile
    branch = profile.find_branch(booking.branch_id)
    product = profile.find_product(booking.product_id)
    timezone = branch.timezone if branch else "UTC"
    return {
        "product": product.name if product else booking.product_id,
        "branch": branch.name if branch else booking.branch_id,
        "address": branch.address if branch else "",
        "when": format_when(catalog, booking.starts_at, timezone, language),
    }


def calendar_link(booking: Booking, catalog: Catalog, language: str) -> dict[str, str]:
    """The .ics invite as an attachment: a download link on the web, a document on Telegram.

    The file is named after the visit's local day and time at the branch, as the
    prospect will look for it ("test-drive-20261208-1100.ics" for 11:00 in Tel Aviv).
    """
    kind = booking.kind.replace("_", "-")
    return {
        "kind": "calendar",
        "title": catalog.text("booking.calendar", language),
        "url": f"/bookings/{booking.token}.ics",
        "filename": f"{kind}-{local_start(catalog, booking):%Y%m%d-%H%M}.ics",
    }


def local_start(catalog: Catalog, booking: Booking) -> datetime:
    branch = catalog.profile.find_branch(booking.branch_id)
    return booking.starts_at.astimezone(ZoneInfo(branch.timezone if branch else "UTC"))
