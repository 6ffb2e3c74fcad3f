"""The journey funnel for ops: stages, drop-off by channel, language and source, speed
to lead, bookings and no-shows, NPS and satisfaction; each chart as CSV."""

import dataclasses
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.conversation.language import SUPPORTED_LANGUAGES
from bot.crm import conversations, funnel
from bot.staff import audit
from handlers.console import access, downloads
from handlers.console.page import render
from handlers.context import CLOCK, SESSIONS

routes = web.RouteTableDef()
DEFAULT_DAYS = 30


@routes.get("/funnel", name="funnel")
@access.requires("ops")
async def funnel_page(request: web.Request) -> web.Response:
    filters = _filters(request)
    async with request.config_dict[SESSIONS]() as session:
        report = await funnel.report(session, filters, request.config_dict[CLOCK].now())
    context = {"report": report, "filters": filters, "languages": SUPPORTED_LANGUAGES,
               "query": _query(filters), "tables": list(report.tables())}  # fmt: skip
    return await render(request, "funnel.html", context)


@routes.get("/funnel/{table}.{format}", name="funnel_download")
@access.requires("ops")
async def funnel_download(request: web.Request) -> web.Response:
    filters, format = _filters(request), downloads.format_of(request)
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        tables = (await funnel.report(session, filters, now)).tables()
        name = request.match_info["table"]
        if name not in tables:
            raise web.HTTPNotFound(text=f"no chart {name!r}; there are {', '.join(tables)}")
        audit.record(session, request[access.USER].name, "list_exported", now, f"funnel {name}",
                     format=format, query=_query(filters))  # fmt: skip
        await session.commit()
    return downloads.table(tables[name], f"funnel-{name}", format)


def _filters(request: web.Request) -> conversations.Filters:
    """The page's range; opened without one, the last 30 days (an empty field: no limit)."""
    filters = conversations.Filters.of(dict(request.query))
    if "since" not in request.query and "until" not in request.query:
        today = request.config_dict[CLOCK].now().date()
        filters = dataclasses.replace(filters, since=today - timedelta(days=DEFAULT_DAYS - 1))
    return filters


def _query(filters: conversations.Filters) -> str:
    """The filters as a query string, so a download has the page's."""
    parts = {k: v for k, v in dataclasses.asdict(filters).items()
             if k in ("since", "until", "channel", "language", "source")}  # fmt: skip
    return urlencode({k: str(v or "") for k, v in parts.items()})
