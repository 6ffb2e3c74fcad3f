"""The reps' inbox: handoffs waiting, mine, all, each with its card and age; take one,
answer the prospect, hand back to the bot, from the page. Open inboxes redraw when
any handoff changes (server-sent events from bot.handoff.feed)."""

import asyncio
import json
import uuid
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from bot.handoff.service import HandoffClosed, HandoffNotFound, TakenByOther
from bot.staff import audit
from handlers.console import access, downloads
from handlers.console.page import render
from handlers.context import CLOCK, HANDOFFS, INBOX, SESSIONS

routes = web.RouteTableDef()
TABS = {"waiting": ("waiting",), "mine": ("claimed",), "all": ("waiting", "claimed", "closed",
        "expired")}  # fmt: skip
ALL_AT_MOST = 100
KEEPALIVE_SECONDS = 15.0


def _rep(request: web.Request) -> tuple[str, str]:
    """The rep as the handoff records them: their console name."""
    name = request[access.USER].name
    return name, f"console:{name}"


@routes.get("/handoffs", name="inbox")
async def inbox_page(request: web.Request) -> web.Response:
    return await _inbox(request)


@routes.get("/handoffs.{format}")
@access.requires("ops")
async def inbox_download(request: web.Request) -> web.Response:
    format = downloads.format_of(request)
    cards = await request.config_dict[HANDOFFS].listing(TABS["all"], newest_first=True)
    async with request.config_dict[SESSIONS]() as session:
        audit.record(session, request[access.USER].name, "list_exported",
                     request.config_dict[CLOCK].now(), "handoffs", format=format,
                     rows=len(cards))  # fmt: skip
        await session.commit()
    return downloads.table([_row(card) for card in cards], "handoffs", format)


@routes.get("/handoffs/events")
async def events(request: web.Request) -> web.StreamResponse:
    """A change to any handoff, as a server-sent event: the page fetches its list again."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})  # fmt: skip
    await response.prepare(request)
    with request.config_dict[INBOX].subscribe() as changes:
        try:
            await response.write(b"retry: 2000\n: listening\n\n")
            while True:
                try:
                    change = await asyncio.wait_for(changes.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if change is None:  # the app is stopping
                    break
                data = json.dumps({"kind": change.kind, "id": change.card["id"],
                                   "status": change.card["status"]})  # fmt: skip
                await response.write(f"event: handoff\ndata: {data}\n\n".encode())
        except ConnectionResetError:  # the page was closed
            pass
    return response


@routes.post("/handoffs/{handoff_id:\\d+}/claim")
async def claim(request: web.Request) -> web.Response:
    name, key = _rep(request)
    try:
        taken = await request.config_dict[HANDOFFS].claim(_id(request), name, key)
    except HandoffNotFound as error:
        raise web.HTTPNotFound(text=str(error)) from error
    if not taken.won and taken.card["rep"] != name:
        holder = taken.card["rep"]
        notice = f"{holder} has taken it" if holder else "It is no longer waiting."
        return await _inbox(request, notice, 409)
    raise _back(request, "mine")


@routes.post("/handoffs/{handoff_id:\\d+}/messages")
async def reply(request: web.Request) -> web.Response:
    """The rep's words to the prospect; the form's own id sends a double submit once."""
    form = await request.post()
    text = str(form.get("text", "")).strip()[:4000]
    message_id = str(form.get("message_id", "")) or uuid.uuid4().hex
    if not text:
        return await _inbox(request, "Write something to send.", 400)
    name, key = _rep(request)
    handoffs = request.config_dict[HANDOFFS]
    said = handoffs.say(_id(request), name, key, text, key=f"console:{message_id[:64]}")
    return await _as_holder(request, said)


@routes.post("/handoffs/{handoff_id:\\d+}/release")
async def release(request: web.Request) -> web.Response:
    """Return to bot: Rasa starts afresh and the prospect is asked to rate the help."""
    name, key = _rep(request)
    released = request.config_dict[HANDOFFS].release(_id(request), by=name, rep_key=key)
    return await _as_holder(request, released)


async def _as_holder(request: web.Request, action: Awaitable[object]) -> web.Response:
    """What the rep holding a handoff does (answer, hand back); anyone else is told who
    has it, and a closed one that it is closed."""
    try:
        await action
    except HandoffNotFound as error:
        raise web.HTTPNotFound(text=str(error)) from error
    except TakenByOther as other:
        return await _inbox(request, f"{other.rep} has it.", 409)
    except HandoffClosed as error:
        return await _inbox(request, str(error), 409)
    raise _back(request, "mine")


async def _inbox(
    request: web.Request, notice: str | None = None, status: int = 200
) -> web.Response:
    tab = request.query.get("tab", "waiting")
    tab = tab if tab in TABS else "waiting"
    name, key = _rep(request)
    handoffs = request.config_dict[HANDOFFS]
    cards = await handoffs.listing(TABS[tab], rep_key=key if tab == "mine" else None,
                                   newest_first=tab == "all", limit=ALL_AT_MOST)  # fmt: skip
    waiting = await handoffs.count(TABS["waiting"]) if tab != "waiting" else len(cards)
    template = "inbox_list.html" if request.query.get("part") == "list" else "inbox.html"
    context = {"cards": cards, "tab": tab, "tabs": list(TABS), "me": name, "notice": notice,
               "waiting": waiting, "message_id": uuid.uuid4().hex}  # fmt: skip
    return await render(request, template, context, status)


def _id(request: web.Request) -> int:
    return int(request.match_info["handoff_id"])


def _back(request: web.Request, tab: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(request.app.router["inbox"].url_for().with_query(tab=tab))


def _row(card: dict[str, Any]) -> dict[str, Any]:
    lead = card["lead"]
    return {
        "handoff_id": card["id"], "status": card["status"], "reason": card["reason"],
        "rep": card["rep"], "channel": card["channel"], "conversation_id": card["conversation_id"],
        "lead_id": lead["id"], "language": lead["language"], "stage": lead["stage"],
        "source": lead["source"], "created_at": card["created_at"],
        "time_to_claim_seconds": card["time_to_claim_seconds"],
        "time_to_first_reply_seconds": card["time_to_first_reply_seconds"],
        "satisfaction": card["satisfaction"],
    }  # fmt: skip
