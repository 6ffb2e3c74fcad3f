"""The web chat: a demo page, the embeddable widget script and its WebSocket."""

import json
import re
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import WSMsgType, web

from bot.messages import InboundMessage
from handlers.api import turn_view
from handlers.context import CATALOG, SERVICE, SETTINGS

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The visitor id is the widget's random UUID kept in localStorage; it is the
# visitor's only credential, so anything that does not look like one is refused.
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


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


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """One connection per open widget; its messages are handled one at a time, in order."""
    visitor = request.query.get("visitor", "")
    if not VISITOR_ID.match(visitor):
        raise web.HTTPBadRequest(reason="'visitor' must be 16-64 letters, digits, '-' or '_'")
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=settings.max_request_bytes)
    await ws.prepare(request)
    language_hint = request.query.get("lang")
    async for frame in ws:
        if frame.type == WSMsgType.TEXT:
            await _answer(request, ws, visitor, frame.data, language_hint)
        elif frame.type == WSMsgType.BINARY:
            await ws.send_json({"type": "error", "error": "binary messages are not supported"})
    return ws


async def _answer(
    request: web.Request, ws: web.WebSocketResponse, visitor: str, data: str, hint: str | None
) -> None:
    try:
        frame = json.loads(data)
        text = frame["text"]
        if not isinstance(text, str):
            raise TypeError("text must be a string")
    except (ValueError, KeyError, TypeError):
        await ws.send_json({"type": "error", "error": 'send {"text": "..."} as JSON'})
        return
    message = InboundMessage(
        channel="web",
        sender=visitor,
        text=text,
        language_hint=frame.get("language") or hint,
        metadata={"page": str(frame.get("page") or "")[:500], "source": frame.get("utm_source")},
    )
    result = await request.app[SERVICE].handle(message)
    view = turn_view(result)
    for reply in view["replies"]:
        await ws.send_json({"type": "reply", **reply})
    await ws.send_json({"type": "done", "lead_id": view["lead_id"], "language": view["language"]})
