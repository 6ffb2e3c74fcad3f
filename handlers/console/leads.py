"""A lead: one timeline across channels, stage history, score and why, bookings and
handoffs; merging it with the same person's other lead; its export and erasure."""

import json

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking import bookings
from bot.crm import leads, merge, privacy, scoring
from bot.dialogue.rasa_client import RasaUnavailable
from bot.staff import audit
from bot.storage.models import Booking, Conversation, Handoff, Lead
from handlers.console import access
from handlers.console.page import back_to, int_field, render
from handlers.context import CLOCK, RASA, SESSIONS

routes = web.RouteTableDef()


def _lead_id(request: web.Request) -> int:
    return int(request.match_info["lead_id"])


@routes.get("/leads/{lead_id:\\d+}", name="lead")
async def lead_page(request: web.Request) -> web.Response:
    return await _lead_page(request)


async def _lead_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    """The page; a form that could not be done comes back to it with why, in place, so
    the rep sees the lead and not a bare error page."""
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        lead = await _lead_or_404(session, _lead_id(request))
        timeline = await leads.timeline(session, lead.id)
        context = {
            "lead": lead,
            "timeline": timeline,
            "score": scoring.score_lead(lead, scoring.inbound_of(timeline), now),
            "stages": [t for t in timeline if t.kind == "stage_change"],
            "conversations": list(await session.scalars(
                select(Conversation).where(Conversation.lead_id == lead.id))),
            "bookings": list(await session.scalars(
                select(Booking).where(Booking.lead_id == lead.id).order_by(Booking.starts_at))),
            "handoffs": list(await session.scalars(
                select(Handoff).where(Handoff.lead_id == lead.id).order_by(Handoff.created_at))),
            "matches": await merge.matches(session, lead),
            "now": now,
            "error": error,
        }  # fmt: skip
    return await render(request, "lead.html", context, status)


@routes.post("/leads/{lead_id:\\d+}/merge")
async def merge_leads(request: web.Request) -> web.Response:
    """The same person's other lead joins this one (a rep or ops decides, on the proof
    the page showed; checked again here)."""
    other_id = int_field(await request.post(), "other")
    now, actor = request.config_dict[CLOCK].now(), request[access.USER].name
    async with request.config_dict[SESSIONS]() as session:
        keep = await _lead_or_404(session, _lead_id(request))
        other = await _lead_or_404(session, other_id)
        try:
            phone = await merge.merge(session, keep, other, actor, now)
        except merge.NotTheSamePerson as error:
            refused = str(error)
        else:
            audit.record(session, actor, "lead_merged", now, f"lead {keep.id}",
                         merged=other_id, phone=phone)  # fmt: skip
            await session.commit()
            raise back_to(request, "lead", lead_id=str(keep.id))
    return await _lead_page(request, refused, 409)  # its session closed: SQLite has one writer


@routes.post("/leads/{lead_id:\\d+}/bookings/{booking_id:\\d+}/attendance")
async def attendance(request: web.Request) -> web.Response:
    """Whether the prospect came: the funnel's no-shows."""
    came = str((await request.post()).get("attendance", ""))
    now, actor = request.config_dict[CLOCK].now(), request[access.USER].name
    async with request.config_dict[SESSIONS]() as session:
        lead = await _lead_or_404(session, _lead_id(request))
        booking = await session.get(Booking, int(request.match_info["booking_id"]))
        if booking is None or booking.lead_id != lead.id:
            raise web.HTTPNotFound(text="no such booking for this lead")
        try:
            bookings.mark_attendance(session, lead, booking, came, actor, at=now)
        except ValueError as error:
            refused, status = str(error), 400
        except bookings.NotYet as error:
            refused, status = str(error), 409
        else:
            await session.commit()
            raise back_to(request, "lead", lead_id=str(lead.id))
    return await _lead_page(request, refused, status)


@routes.get("/leads/{lead_id:\\d+}/export", name="lead_export")
@access.requires("ops")
async def export(request: web.Request) -> web.Response:
    """Everything about the lead, as JSON (GDPR's right of access); audited."""
    lead_id, now = _lead_id(request), request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        everything = await privacy.export_for(session, lead_id, request[access.USER].name, now)
    if everything is None:
        raise web.HTTPNotFound(text=f"no lead {lead_id}")
    return web.Response(
        text=json.dumps(everything, ensure_ascii=False, indent=1),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="lead-{lead_id}.json"'},
    )


@routes.post("/leads/{lead_id:\\d+}/erase")
@access.requires("ops")
async def erase(request: web.Request) -> web.Response:
    """Forget the lead everywhere (GDPR's right to erasure): the form asks for the lead's
    number typed again, so no click erases by accident."""
    lead_id = _lead_id(request)
    if str((await request.post()).get("confirm", "")).strip() != str(lead_id):
        return await _lead_page(request, "Type the lead's number to confirm the erasure.", 400)
    now, actor = request.config_dict[CLOCK].now(), request[access.USER].name
    try:
        found = await privacy.forget(
            request.config_dict[SESSIONS], request.config_dict[RASA], lead_id, actor, now
        )
    except RasaUnavailable:
        text = "The dialogue server did not answer: nothing was erased. Try again."
        return await _lead_page(request, text, 503)
    if not found:
        raise web.HTTPNotFound(text=f"no lead {lead_id}")
    raise web.HTTPSeeOther(
        request.app.router["conversations"].url_for().with_query(erased=str(lead_id))
    )


async def _lead_or_404(session: AsyncSession, lead_id: int) -> Lead:
    lead = await leads.get_lead(session, lead_id)
    if lead is None:
        raise web.HTTPNotFound(text=f"no lead {lead_id}")
    return lead
