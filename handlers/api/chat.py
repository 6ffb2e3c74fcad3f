"""``POST /api/v1/chat``: the chat for a business's own servers; the replies come back
in the response.

A sub-app with its own rule, ``Authorization: Bearer $CHAT_API_TOKEN``, closed (401)
until the token is set: whoever calls it speaks for any sender it names, so it is
not for browsers (the widget has its WebSocket and its own visitor id).
"""

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from bot.conversation.messages import InboundMessage, TurnResult
from handlers.auth import bearer_token, setting
from handlers.context import BODY_LIMIT, SERVICE
from handlers.errors import read_body

routes = web.RouteTableDef()


class ChatRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    text: str
    language: str | None = Field(default=None, max_length=35)
    source: str | None = Field(default=None, max_length=64, description="acquisition source code")
    message_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="the client's id for this message: a retry with it is answered once",
    )


def turn_view(result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": result.conversation_id,
        "lead_id": result.lead_id,
        "language": result.language,
        "stage": result.stage,
        "replies": [reply.as_dict() for reply in result.replies],
    }


def create_app(body_limit: int) -> web.Application:
    closed = "the chat API is disabled: set CHAT_API_TOKEN to enable it"
    app = web.Application(middlewares=[bearer_token(setting("chat_api_token"), closed)])
    app[BODY_LIMIT] = body_limit
    app.add_routes(routes)
    return app


@routes.post("")
async def chat(request: web.Request) -> web.Response:
    body = await read_body(request, ChatRequest)
    message = InboundMessage(
        channel="api",
        sender=body.sender,
        text=body.text,
        language_hint=body.language,
        metadata={"source": body.source} if body.source else {},
        idempotency_key=f"api:{body.message_id}" if body.message_id else None,
        replies_in_response=True,
    )
    result = await request.config_dict[SERVICE].handle(message)
    return web.json_response(turn_view(result))
