"""The widget's WebSocket: messages in, replies out, each confirmed by the other side.

Frames from the widget::

    {"type": "message", "id": "<client message id>", "text": "...", "page": ..., "utm_source": ...,
     "greeted": "<language of the greeting the widget showed, on a new visitor's first message>"}
    {"type": "ack", "ids": [<reply id>, ...]}

Frames to the widget::

    {"type": "history", "messages": [{"id", "author", "text", "buttons", "attachment",
                                      "at"}, ...], "rep": <the rep's name while one has it>}
    {"type": "reply", "id": <reply id>, "text": ..., "buttons": [...], "attachment": ...,
     "author": <a rep's name, on a person's messages>}
    {"type": "done", "id": "<client message id>", "lead_id": ..., "language": ...}
    {"type": "error", "error": "..."}

``history`` comes first on every connect: the conversation so far, what the
prospect wrote and what reached them (at most the last 50). The client message id is
the message's idempotency key: a widget that lost
its connection sends its unanswered messages again, and each is answered
once. A reply is ``delivered`` when the widget acknowledged it; until then it
is sent again on every connect (the widget ignores an id it has shown).
"""

import json
import re
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from bot.conversation import outbox
from bot.conversation.messages import InboundMessage, OutboundMessage, TurnResult
from bot.crm import leads
from bot.handoff import records
from bot.storage.models import Conversation, Touchpoint
from handlers.client_address import client_address
from handlers.context import LIVE_SOCKETS, SERVICE, SESSIONS, SETTINGS

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
# The visitor id is the widget's random UUID kept in localStorage; it is the
# visitor's only credential, so anything that does not look like one is refused.
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_ACKS = 100
HISTORY = 50  # messages of the conversation so far sent on connect


def history_item(touchpoint: Touchpoint) -> dict[str, Any]:
    """One message of the ``history`` frame: who said it, when, and what the widget shows."""
    said = {"text": touchpoint.text or "", "buttons": []}
    if touchpoint.direction == "out":
        said = outbox.message_of(touchpoint).as_dict()
    author = "prospect" if touchpoint.direction == "in" else said.get("author", "bot")
    return {"id": touchpoint.id, **said, "author": author, "at": touchpoint.created_at.isoformat()}


def reply_frame(reply_id: int, reply: OutboundMessage) -> dict[str, Any]:
    return {"type": "reply", "id": reply_id, **reply.as_dict()}


@routes.get("/ws")
async def websocket(request: web.Request) -> web.WebSocketResponse:
    """One connection per open widget; its frames are handled one at a time, in order."""
    visitor = request.query.get("visitor", "")
    if not VISITOR_ID.match(visitor):
        raise web.HTTPBadRequest(reason="'visitor' must be 16-64 letters, digits, '-' or '_'")
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=settings.max_request_bytes)
    await ws.prepare(request)
    live = request.app[LIVE_SOCKETS]
    live.add(visitor, ws)
    try:
        await _send_waiting(request, ws, visitor)
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await _on_frame(request, ws, visitor, frame.data)
            elif frame.type == WSMsgType.BINARY:
                await ws.send_json({"type": "error", "error": "binary messages are not supported"})
    finally:
        live.discard(visitor, ws)
    return ws


async def _send_waiting(request: web.Request, ws: web.WebSocketResponse, visitor: str) -> None:
    """The conversation so far (one ``history`` frame, with the rep who has it now), then
    every reply the widget has not acknowledged: answers that arrived after it closed,
    a reminder or the NPS question sent while the visitor was away."""
    async with request.app[SESSIONS]() as session:
        conversation = await leads.find_conversation(session, "web", visitor)
        if conversation is None:
            await ws.send_json({"type": "history", "messages": [], "rep": None})
            return
        seen = await outbox.history(session, conversation.id, HISTORY)
        waiting = await outbox.waiting(session, conversation.id)
        handoff = await records.open_for(session, conversation.id)
    rep = handoff.rep if handoff and handoff.status == "claimed" else None
    messages = [history_item(t) for t in seen]
    await ws.send_json({"type": "history", "messages": messages, "rep": rep})
    for touchpoint in waiting:
        await ws.send_json(reply_frame(touchpoint.id, outbox.message_of(touchpoint)))


async def _on_frame(
    request: web.Request, ws: web.WebSocketResponse, visitor: str, data: str
) -> None:
    try:
        frame = json.loads(data)
        if not isinstance(frame, dict):
            raise TypeError("a frame is a JSON object")
    except (ValueError, TypeError):
        await ws.send_json({"type": "error", "error": 'send {"type": "message", "text": "..."}'})
        return
    if frame.get("type") == "ack":
        await _acknowledged(request, visitor, frame.get("ids"))
    else:
        await _message(request, ws, visitor, frame)


async def _acknowledged(request: web.Request, visitor: str, ids: object) -> None:
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        return
    async with request.app[SESSIONS]() as session:
        conversation = await leads.find_conversation(session, "web", visitor)
        if conversation is None:
            return
        await outbox.mark_delivered(session, list(ids)[:MAX_ACKS], conversation.id)
        await session.commit()


async def _message(
    request: web.Request, ws: web.WebSocketResponse, visitor: str, frame: dict[str, Any]
) -> None:
    text, message_id = frame.get("text"), frame.get("id")
    if not isinstance(text, str) or not (message_id is None or (
        isinstance(message_id, str) and MESSAGE_ID.match(message_id)
    )):  # fmt: skip
        await ws.send_json({"type": "error", "error": 'send {"type": "message", "text": "..."}'})
        return
    message = InboundMessage(
        channel="web",
        sender=visitor,
        text=text,
        language_hint=frame.get("language") or request.query.get("lang"),
        metadata={
            "page": str(frame.get("page") or "")[:500],
            "source": frame.get("utm_source"),
            "greeted": str(frame.get("greeted") or "")[:10],
        },  # the widget's greeting
        idempotency_key=f"web:{message_id}" if message_id else None,
        on_busy=lambda: _busy(request.app, visitor, message_id),
        origin=client_address(request),
    )
    result = await request.app[SERVICE].handle(message)
    await deliver_turn(request.app, visitor, result, message_id)


async def _busy(app: web.Application, visitor: str, message_id: str | None) -> None:
    """The turn waits its turn for Rasa: the widget says one moment."""
    await app[LIVE_SOCKETS].push(visitor, [{"type": "busy", "id": message_id}])


async def deliver_turn(
    app: web.Application, visitor: str, result: TurnResult, message_id: str | None
) -> None:
    """Push the replies to every open widget of the visitor, then say the turn is done."""
    frames = [reply_frame(i, reply) for i, reply in result.undelivered()]
    done = {"type": "done", "id": message_id, "lead_id": result.lead_id,
            "language": result.language}  # fmt: skip
    await app[LIVE_SOCKETS].push(visitor, [*frames, done])


def followup_sender(app: web.Application) -> outbox.Sender:
    """The sender of follow-ups and reps' words for the web: pushed to the open widgets
    ("sent"; their ack makes it delivered), or "queued" for the next visit."""

    async def send(
        conversation: Conversation, message: OutboundMessage, reply_id: int
    ) -> outbox.Delivery:
        frames = [reply_frame(reply_id, message)]
        reached = await app[LIVE_SOCKETS].push(conversation.external_id, frames)
        return "sent" if reached else "queued"

    return send
