"""The web chat: a demo page, the embeddable widget script and its WebSocket.

Open sockets are kept per visitor so the follow-up runner can push a reminder
to an open widget; messages sent while the visitor was away wait in the
conversation (status "queued") and are shown when the widget connects again.
"""

import json
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import structlog
from aiohttp import WSMsgType, web

from bot.conversation.messages import InboundMessage, OutboundMessage
from bot.crm import leads, touchpoints
from bot.storage.engine import while_unreachable
from bot.storage.models import Conversation
from handlers.api import turn_view
from handlers.context import CATALOG, SERVICE, SESSIONS, SETTINGS

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The visitor id is the widget's random UUID kept in localStorage; it is the
# visitor's only credential, so anything that does not look like one is refused.
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
Sockets = defaultdict[str, set[web.WebSocketResponse]]
SOCKETS = web.AppKey("web_sockets", Sockets)


def deliver(app: web.Application) -> Callable[[Conversation, OutboundMessage], Awaitable[bool]]:
    """The web channel's sender for follow-ups: push to the visitor's open widgets, if any."""
    sockets: Sockets = defaultdict(set)
    app[SOCKETS] = sockets

    async def send(conversation: Conversation, message: OutboundMessage) -> bool:
        sockets = [ws for ws in app[SOCKETS].get(conversation.external_id, ()) if not ws.closed]
        for ws in sockets:
            await ws.send_json({"type": "reply", **message.as_dict()})
        return bool(sockets)

    return send


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
    sockets = request.app[SOCKETS][visitor] if SOCKETS in request.app else set()
    sockets.add(ws)
    try:
        await _send_queued(request, ws, visitor)
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await _answer(request, ws, visitor, frame.data, language_hint)
            elif frame.type == WSMsgType.BINARY:
                await ws.send_json({"type": "error", "error": "binary messages are not supported"})
    finally:
        sockets.discard(ws)
    return ws


async def _send_queued(request: web.Request, ws: web.WebSocketResponse, visitor: str) -> None:
    """What the bot sent while the visitor was away (a reminder, the NPS question)."""
    async with request.app[SESSIONS]() as session:
        conversation = await leads.find_conversation(session, "web", visitor)
        if conversation is None:
            return
        for waiting in await touchpoints.queued(session, conversation.id):
            reply = waiting.data.get("reply") or {"text": waiting.text, "buttons": []}
            await ws.send_json({"type": "reply", **reply})
            waiting.status = "done"
        await session.commit()


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
    service = request.app[SERVICE]
    result = await while_unreachable(lambda: service.handle(message))  # a database restart
    view = turn_view(result)
    for reply in view["replies"]:
        await ws.send_json({"type": "reply", **reply})
    await ws.send_json({"type": "done", "lead_id": view["lead_id"], "language": view["language"]})
