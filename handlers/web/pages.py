"""The public pages: the demo chat page, the widget script, a booking's calendar invite."""

from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.booking import bookings, texts
from bot.booking.calendar import invite
from bot.conversation.language import RIGHT_TO_LEFT, normalise
from bot.conversation.wording import Wording
from handlers.context import CATALOG, CLOCK, SESSIONS, SETTINGS

routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).resolve().parent / "static"
WIDGET_TEXTS = ("open", "title", "placeholder", "send", "close", "assistant", "with_rep",
                "reconnecting", "typing", "busy")  # fmt: skip
NEW = "awareness"  # the stage of a visitor the widget greets


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


@routes.get("/widget/config")
async def widget_config(request: web.Request) -> web.Response:
    """The widget's own words in the visitor's language (the page's or the browser's),
    the direction to lay it out in, whose chat it is, and the greeting it shows a new
    visitor (stored only once they answer it: bot.conversation.service). Public, and for any site
    that embeds the widget, hence the open CORS header; it holds no secret."""
    catalog = request.app[CATALOG]
    language = normalise(request.query.get("language")) or catalog.default_language
    wording = Wording(catalog)
    greeting = wording.with_next_step(wording.say("greet", language, NEW), NEW, language)
    words = {name: catalog.render(f"widget.{name}", language, rep="{rep}") for name in WIDGET_TEXTS}
    return web.json_response(
        {"language": language, "dir": "rtl" if language in RIGHT_TO_LEFT else "ltr",
         "business": catalog.profile.name, "texts": words, "greeting": greeting.as_dict()},
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300"},
    )  # fmt: skip


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
