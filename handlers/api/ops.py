"""The ops API, a sub-app under ``/api/v1`` with its own rule: ``Bearer $BOT_API_TOKEN``.

Closed (401) until BOT_API_TOKEN is set. Leads with their timeline and score,
their export and erasure, a purchase marked by a rep, the conversations as the
console searches them, the bookings and whether people came, and what the model
makes of a text.
"""

from datetime import date

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking import bookings
from bot.crm import conversations, journey, leads, privacy
from bot.dialogue.rasa_client import RasaUnavailable
from bot.storage.models import Booking, Lead
from handlers.api import handoffs
from handlers.auth import bearer_token, setting
from handlers.context import BODY_LIMIT, CATALOG, CLOCK, LANGUAGES, RASA, SESSIONS, SETTINGS
from handlers.errors import ApiError, read_body

routes = web.RouteTableDef()
BOOKING_STATUSES = {"confirmed", "cancelled", "rescheduled"}


API_ACTOR = "ops API"  # who the audit log says did it


class AttendanceRequest(BaseModel):
    attendance: str = Field(pattern="^(attended|no_show)$")


class ParseRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    language: str | None = Field(default=None, max_length=35)


def create_app(body_limit: int) -> web.Application:
    closed = "the ops API is disabled: set BOT_API_TOKEN to enable it"
    app = web.Application(middlewares=[bearer_token(setting("bot_api_token"), closed)])
    app[BODY_LIMIT] = body_limit
    app.add_routes(routes)
    app.add_routes(handoffs.routes)
    return app


async def _lead_or_404(session: AsyncSession, request: web.Request) -> Lead:
    lead_id = int(request.match_info["lead_id"])
    lead = await leads.get_lead(session, lead_id)
    if lead is None:
        raise ApiError(404, f"no lead {lead_id}")
    return lead


async def _lead_response(session: AsyncSession, request: web.Request, lead: Lead) -> web.Response:
    timeline = await leads.timeline(session, lead.id)
    now = request.config_dict[CLOCK].now()
    return web.json_response(leads.lead_view(lead, timeline, now))


@routes.get("/leads/{lead_id:\\d+}")
async def get_lead(request: web.Request) -> web.Response:
    async with request.config_dict[SESSIONS]() as session:
        lead = await _lead_or_404(session, request)
        return await _lead_response(session, request, lead)


@routes.get("/leads/{lead_id:\\d+}/export")
async def export_lead(request: web.Request) -> web.Response:
    """Everything about the lead (GDPR's right of access); audited."""
    lead_id, now = int(request.match_info["lead_id"]), request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        everything = await privacy.export_for(session, lead_id, API_ACTOR, now)
    if everything is None:
        raise ApiError(404, f"no lead {lead_id}")
    return web.json_response(everything)


@routes.delete("/leads/{lead_id:\\d+}")
async def erase_lead(request: web.Request) -> web.Response:
    """Erase the lead everywhere: Rasa's trackers, then this database; audited."""
    lead_id, now = int(request.match_info["lead_id"]), request.config_dict[CLOCK].now()
    sessions, rasa = request.config_dict[SESSIONS], request.config_dict[RASA]
    try:
        found = await privacy.forget(sessions, rasa, lead_id, API_ACTOR, now)
    except RasaUnavailable as error:
        raise ApiError(503, "Rasa did not answer: nothing was erased, try again") from error
    if not found:
        raise ApiError(404, f"no lead {lead_id}")
    return web.json_response({"erased": lead_id})


@routes.get("/conversations")
async def search_conversations(request: web.Request) -> web.Response:
    """As the console's list: ``q`` (words), channel, language, stage, outcome, source,
    rep, since, until (YYYY-MM-DD), ``limit`` (at most 1000)."""
    filters = conversations.Filters.of(dict(request.query))
    try:
        limit = min(1000, max(1, int(request.query.get("limit", conversations.PAGE))))
    except ValueError as error:
        raise ApiError(400, "limit must be a number") from error
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        rows = await conversations.search(session, filters, now, limit=limit)
    return web.json_response({"conversations": [row.record() for row in rows]})


@routes.post("/leads/{lead_id:\\d+}/purchase")
async def mark_purchase(request: web.Request) -> web.Response:
    """A rep records that the lead bought; the lead moves to the retention stage."""
    async with request.config_dict[SESSIONS]() as session:
        lead = await _lead_or_404(session, request)
        journey.mark_purchase(session, lead, by="ops API", at=request.config_dict[CLOCK].now())
        await session.commit()
        return await _lead_response(session, request, lead)


@routes.get("/bookings")
async def list_bookings(request: web.Request) -> web.Response:
    """Filters: ``date`` (YYYY-MM-DD, each branch's local day), ``branch``, ``status``."""
    profile = request.config_dict[CATALOG].profile
    branch_id, status = request.query.get("branch"), request.query.get("status")
    branch = profile.find_branch(branch_id) if branch_id else None
    if branch_id and branch is None:
        raise ApiError(400, f"no branch {branch_id!r}", branches=[b.id for b in profile.branches])
    if status and status not in BOOKING_STATUSES:
        raise ApiError(400, f"status must be one of {sorted(BOOKING_STATUSES)}")
    day = None
    if "date" in request.query:
        try:
            day = date.fromisoformat(request.query["date"])
        except ValueError as error:
            raise ApiError(400, "date must be YYYY-MM-DD") from error
    async with request.config_dict[SESSIONS]() as session:
        found = await bookings.listing(
            session, profile, day=day, branch_id=branch.id if branch else None, status=status
        )
        return web.json_response({"bookings": [bookings.booking_view(b) for b in found]})


@routes.post("/bookings/{booking_id:\\d+}/attendance")
async def booking_attendance(request: web.Request) -> web.Response:
    """Whether the prospect came (``attended`` or ``no_show``), once the time has passed."""
    body = await read_body(request, AttendanceRequest)
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        booking = await session.get(Booking, int(request.match_info["booking_id"]))
        lead = await session.get(Lead, booking.lead_id) if booking else None
        if booking is None or lead is None:
            raise ApiError(404, f"no booking {request.match_info['booking_id']}")
        try:
            bookings.mark_attendance(session, lead, booking, body.attendance, API_ACTOR, at=now)
        except bookings.NotYet as error:
            raise ApiError(409, str(error)) from error
        await session.commit()
        return web.json_response(bookings.booking_view(booking))


@routes.post("/nlu/parse")
async def nlu_parse(request: web.Request) -> web.Response:
    """What the bot understands of a text: the same language choice and model as the chat."""
    body = await read_body(request, ParseRequest)
    default = request.config_dict[SETTINGS].default_language
    language = request.config_dict[LANGUAGES].choose(body.text, body.language, None, default)
    try:
        parsed = await request.config_dict[RASA].parse(body.text)
    except RasaUnavailable as error:
        raise ApiError(503, "the language model is not available", detail=str(error)) from error
    intent = parsed.get("intent") or {}
    return web.json_response(
        {
            "text": body.text,
            "language": language,
            "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
            "entities": parsed.get("entities") or [],
        }
    )
