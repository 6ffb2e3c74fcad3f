"""The REST API: chat for any client, the ops API behind a token, and health."""

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.messages import InboundMessage, TurnResult
from bot.crm import journey, leads
from bot.dialogue.rasa_client import RasaUnavailable
from bot.storage.engine import ping, while_unreachable
from bot.storage.models import Lead
from handlers.context import ENGINE, LANGUAGES, RASA, SERVICE, SESSIONS, SETTINGS
from handlers.errors import ApiError, ops_only, read_body

routes = web.RouteTableDef()


class ChatRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    text: str
    language: str | None = Field(default=None, max_length=35)
    source: str | None = Field(default=None, max_length=64, description="acquisition source code")


class ParseRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    language: str | None = Field(default=None, max_length=35)


def turn_view(result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": result.conversation_id,
        "lead_id": result.lead_id,
        "language": result.language,
        "stage": result.stage,
        "replies": [reply.as_dict() for reply in result.replies],
    }


async def lead_or_404(session: AsyncSession, request: web.Request) -> Lead:
    lead_id = int(request.match_info["lead_id"])
    lead = await leads.get_lead(session, lead_id)
    if lead is None:
        raise ApiError(404, f"no lead {lead_id}")
    return lead


@routes.post("/api/v1/chat")
async def chat(request: web.Request) -> web.Response:
    body = await read_body(request, ChatRequest)
    message = InboundMessage(
        channel="api",
        sender=body.sender,
        text=body.text,
        language_hint=body.language,
        metadata={"source": body.source} if body.source else {},
    )
    service = request.app[SERVICE]
    result = await while_unreachable(lambda: service.handle(message))  # a database restart
    return web.json_response(turn_view(result))


@routes.get("/api/v1/leads/{lead_id:\\d+}")
@ops_only
async def get_lead(request: web.Request) -> web.Response:
    async with request.app[SESSIONS]() as session:
        lead = await lead_or_404(session, request)
        return web.json_response(
            leads.lead_view(lead, await leads.timeline(session, lead.id), datetime.now(UTC))
        )


@routes.post("/api/v1/leads/{lead_id:\\d+}/purchase")
@ops_only
async def mark_purchase(request: web.Request) -> web.Response:
    """A rep records that the lead bought; the lead moves to the retention stage."""
    async with request.app[SESSIONS]() as session:
        lead = await lead_or_404(session, request)
        journey.mark_purchase(session, lead, by="ops API")
        await session.commit()
        return web.json_response(
            leads.lead_view(lead, await leads.timeline(session, lead.id), datetime.now(UTC))
        )


@routes.post("/api/v1/nlu/parse")
@ops_only
async def nlu_parse(request: web.Request) -> web.Response:
    """What the bot understands of a text: the same language choice and model as the chat."""
    body = await read_body(request, ParseRequest)
    default = request.app[SETTINGS].default_language
    language = request.app[LANGUAGES].choose(body.text, body.language, None, default)
    try:
        parsed = await request.app[RASA].parse(body.text)
    except RasaUnavailable as error:
        raise ApiError(503, "the language model is not available", detail=str(error)) from error
    intent = parsed.get("intent") or {}
    return web.json_response(
        {
            "text": body.text,
            "language": language,
            "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
            "entities": parsed.get("entities") or [],
        }
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    checks = {"app": "ok", "database": "ok", "rasa": "ok"}
    try:
        await ping(request.app[ENGINE])
    except Exception as error:  # any failure means "not healthy", whatever raised it
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        await request.app[RASA].status()
    except RasaUnavailable:
        checks["rasa"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
