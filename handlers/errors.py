"""Errors in one place: JSON bodies for API clients, the ops token check."""

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.context import SETTINGS

log = structlog.get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Model = TypeVar("Model", bound=BaseModel)


class ApiError(Exception):
    """A client mistake, answered as ``{"error": message, ...extra}`` with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API and webhook clients get JSON errors; an unexpected error is logged, never leaked."""
    try:
        return await handler(request)
    except ApiError as error:
        return json_error(error.status, error.message, **error.extra)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith(("/api/", "/webhooks/")):
            raise
        return json_error(error.status, error.reason)
    except Exception:
        log.exception("http.unhandled", path=request.path)
        return json_error(500, "internal error; it has been logged")


def ops_only(handler: Handler) -> Handler:
    """Mark a route as part of the ops API (Bearer BOT_API_TOKEN)."""
    handler.ops_only = True  # type: ignore[attr-defined]
    return handler


@web.middleware
async def ops_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = request.match_info.route.handler
    if not getattr(route_handler, "ops_only", False):
        return await handler(request)
    token = request.app[SETTINGS].bot_api_token
    if token is None:
        return json_error(401, "the ops API is disabled: set BOT_API_TOKEN to enable it")
    expected = f"Bearer {token.get_secret_value()}"
    given = request.headers.get("Authorization", "")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return json_error(401, "missing or wrong bearer token")
    return await handler(request)


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """Parse and validate a JSON body, or answer 400 saying exactly what is wrong.

    Invalid UTF-8, binary and malformed JSON all end here as one clear 400.
    """
    raw = await request.read()
    limit = request.app[SETTINGS].max_request_bytes
    if len(raw) > limit:
        raise ApiError(413, f"request body over {limit} bytes")
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        raise ApiError(400, "invalid request body", details=details) from error
