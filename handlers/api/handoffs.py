"""Reps through the ops API (the console uses the same service): the waiting handoffs
with their cards, take one, answer the prospect, hand the conversation back."""

import uuid

from aiohttp import web
from pydantic import BaseModel, Field

from bot.handoff.service import HandoffClosed, HandoffNotFound, TakenByOther
from handlers.context import HANDOFFS
from handlers.errors import ApiError, read_body

routes = web.RouteTableDef()
STATUSES = {"waiting": ("waiting",), "claimed": ("claimed",), "open": ("waiting", "claimed"),
            "closed": ("closed",), "expired": ("expired",)}  # fmt: skip


class RepRequest(BaseModel):
    rep: str = Field(min_length=1, max_length=100)


class RepMessage(RepRequest):
    text: str = Field(min_length=1, max_length=4000)
    message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$")


class ReleaseRequest(BaseModel):
    rep: str | None = Field(default=None, max_length=100)


def _id(request: web.Request) -> int:
    return int(request.match_info["handoff_id"])


@routes.get("/handoffs")
async def list_handoffs(request: web.Request) -> web.Response:
    """``status``: waiting, claimed, open (both; the default), closed, expired."""
    status = request.query.get("status", "open")
    if status not in STATUSES:
        raise ApiError(400, f"status must be one of {sorted(STATUSES)}")
    cards = await request.config_dict[HANDOFFS].listing(STATUSES[status])
    return web.json_response({"handoffs": cards})


@routes.get("/handoffs/{handoff_id:\\d+}")
async def get_handoff(request: web.Request) -> web.Response:
    try:
        return web.json_response(await request.config_dict[HANDOFFS].card(_id(request)))
    except HandoffNotFound as error:
        raise ApiError(404, str(error)) from error


@routes.post("/handoffs/{handoff_id:\\d+}/claim")
async def claim(request: web.Request) -> web.Response:
    body = await read_body(request, RepRequest)
    try:
        result = await request.config_dict[HANDOFFS].claim(_id(request), body.rep, _key(body.rep))
    except HandoffNotFound as error:
        raise ApiError(404, str(error)) from error
    if not result.won and result.card["rep"] != body.rep:
        holder = result.card["rep"]
        raise ApiError(409, f"{holder} has it" if holder else "it is not waiting", rep=holder)
    return web.json_response(result.card)


@routes.post("/handoffs/{handoff_id:\\d+}/messages")
async def send_message(request: web.Request) -> web.Response:
    """The rep's words to the prospect; ``message_id`` makes a retry send them once."""
    body = await read_body(request, RepMessage)
    handoffs = request.config_dict[HANDOFFS]
    key = f"api:{body.message_id or uuid.uuid4().hex}"
    try:
        said = await handoffs.say(_id(request), body.rep, _key(body.rep), body.text, key=key)
    except HandoffNotFound as error:
        raise ApiError(404, str(error)) from error
    except TakenByOther as other:
        raise ApiError(409, f"{other.rep} has it", rep=other.rep) from other
    except HandoffClosed as error:
        raise ApiError(409, str(error)) from error
    return web.json_response(
        {"touchpoint_id": said.touchpoint_id, "delivery": said.delivery, "handoff": said.card}
    )


@routes.post("/handoffs/{handoff_id:\\d+}/release")
async def release(request: web.Request) -> web.Response:
    """Return to bot: Rasa starts afresh and the prospect is asked to rate the help."""
    body = await read_body(request, ReleaseRequest) if request.can_read_body else ReleaseRequest()
    try:
        card = await request.config_dict[HANDOFFS].release(_id(request), by=body.rep or "ops API")
    except HandoffNotFound as error:
        raise ApiError(404, str(error)) from error
    except HandoffClosed as error:
        raise ApiError(409, str(error)) from error
    return web.json_response(card)


def _key(rep: str) -> str:
    return f"api:{rep}"
