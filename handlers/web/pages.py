"""The public pages: the demo chat page, the widget script, a booking's calendar invite."""

from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.booking import bookings, texts
from bot.booking.calendar import invite
from handlers.context import CATALOG, CLOCK, SESSIONS, SETTINGS

routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).resolve().parent / "static"


@routes.get("/")
@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return {
        "base_url": request.app[SETTINGS].base_url,
        "business": request.app[CATALOG].profile.name,
    }


@routes.get("/widget.js")
async def widget(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        STATIC_DIR / "widget.js",
        headers={"Content-Type": "application/javascript", "Cache-Control": "no-cache"},
    )


@routes.get("/bookings/{token:[A-Za-z0-9_-]{20,64}}.ics")
async def calendar_invite(request: web.Request) -> web.Response:
    """The invite behind the link in the confirmation; the token is the only key."""
    token = request.match_info["token"]
    async with request.app[SESSIONS]() as session:
        found = await bookings.by_token(session, token)
    if found is None:
        raise web.HTTPNotFound(text="no such booking")
    catalog = request.app[CATALOG]
    filename = texts.calendar_link(found, catalog, found.language)["filename"]
    return web.Response(
        body=invite(found, catalog, request.app[CLOCK].now()),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
