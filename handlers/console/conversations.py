"""Conversations: the list with its filters and search, its downloads, and each
transcript."""

from aiohttp import web
from sqlalchemy import select

from bot.conversation.language import SUPPORTED_LANGUAGES
from bot.crm import conversations, journey
from bot.staff import audit
from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint
from handlers.console import access, downloads
from handlers.console.page import render
from handlers.context import CLOCK, SESSIONS

routes = web.RouteTableDef()
DOWNLOAD_AT_MOST = 10_000


@routes.get("/conversations", name="conversations")
async def conversations_page(request: web.Request) -> web.Response:
    """Every conversation, newest first, by the filters and words in the query string."""
    filters = conversations.Filters.of(dict(request.query))
    async with request.config_dict[SESSIONS]() as session:
        rows = await conversations.search(session, filters, request.config_dict[CLOCK].now())
    context = {"rows": rows, "filters": filters, "outcomes": conversations.OUTCOMES,
               "stages": journey.STAGES, "languages": SUPPORTED_LANGUAGES,
               "query": request.query_string, "erased": _erased(request)}  # fmt: skip
    return await render(request, "conversations.html", context)


@routes.get("/conversations.{format}", name="conversations_download")
@access.requires("ops")
async def conversations_download(request: web.Request) -> web.Response:
    """The list as it is filtered, one row per conversation with its outcome, first
    response time and satisfaction; audited, as it carries what prospects said."""
    format = downloads.format_of(request)
    filters = conversations.Filters.of(dict(request.query))
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        rows = await conversations.search(session, filters, now, limit=DOWNLOAD_AT_MOST)
        audit.record(session, request[access.USER].name, "list_exported", now, "conversations",
                     format=format, query=request.query_string, rows=len(rows))  # fmt: skip
        await session.commit()
    return downloads.table([row.record() for row in rows], "conversations", format)


@routes.get("/conversations/{conversation_id:\\d+}", name="transcript")
async def transcript_page(request: web.Request) -> web.Response:
    """One conversation as it happened: who said what, when, how the bot understood it,
    and the stage changes, bookings and handoffs between."""
    conversation_id = int(request.match_info["conversation_id"])
    async with request.config_dict[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise web.HTTPNotFound(text=f"no conversation {conversation_id}")
        lead = await session.get(Lead, conversation.lead_id)
        said = await session.scalars(
            select(Touchpoint)
            .where(Touchpoint.conversation_id == conversation_id)
            .order_by(Touchpoint.created_at, Touchpoint.id)
        )
        found = await session.scalars(
            select(Booking).where(Booking.lead_id == conversation.lead_id)
        )
        handed = await session.scalars(
            select(Handoff).where(Handoff.conversation_id == conversation_id)
        )
        context = {"conversation": conversation, "lead": lead, "touchpoints": list(said),
                   "bookings": list(found), "handoffs": list(handed)}  # fmt: skip
    return await render(request, "transcript.html", context)


def _erased(request: web.Request) -> str | None:
    """The lead just erased (the erase form comes back here), to say it is done."""
    erased = request.query.get("erased", "")
    return erased if erased.isdigit() and len(erased) < 12 else None
