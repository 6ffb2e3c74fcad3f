"""Bookings over HTTP: the ops listing and the calendar invite link."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.booking import bookings
from bot.booking.calendar import invite
from handlers.context import CATALOG, SESSIONS
from handlers.errors import ApiError, ops_only

routes = web.RouteTableDef()
STATUSES = {"confirmed", "cancelled", "rescheduled"}


@routes.get("/api/v1/bookings")
@ops_only
async def list_bookings(request: web.Request) -> web.Response:
    """Filters: ``date`` (YYYY-MM-DD, the branch's local day), ``branch``, ``status``."""
    profile = request.app[CATALOG].profile
    branch_id, status = request.query.get("branch"), request.query.get("status")
    branch = profile.find_branch(branch_id) if branch_id else profile.branches[0]
    if branch is None:
        raise ApiError(400, f"no branch {branch_id!r}", branches=[b.id for b in profile.branches])
    if status and status not in STATUSES:
        raise ApiError(400, f"status must be one of {sorted(STATUSES)}")
    day_from = day_to = None
    if "date" in request.query:
        try:
            day = date.fromisoformat(request.query["date"])
        except ValueError as error:
            raise ApiError(400, "date must be YYYY-MM-DD") from error
        day_from = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(branch.timezone))
        day_to = day_from + timedelta(days=1)
    async with request.app[SESSIONS]() as session:
        found = await bookings.listing(
            session, day_from=day_from, day_to=day_to,
            branch_id=branch.id if branch_id else None, status=status,
        )  # fmt: skip
        return web.json_response({"bookings": [bookings.booking_view(b) for b in found]})


@routes.get("/bookings/{token:[A-Za-z0-9_-]{20,64}}.ics")
async def calendar_invite(request: web.Request) -> web.Response:
    """The invite behind the link in the confirmation; the token is the only key."""
    token = request.match_info["token"]
    async with request.app[SESSIONS]() as session:
        found = await bookings.by_token(session, token)
    if found is None:
        raise web.HTTPNotFound(text="no such booking")
    return web.Response(
        body=invite(found, request.app[CATALOG], datetime.now(UTC)),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="booking.ics"'},
    )
