"""Errors in one place: JSON bodies for API clients, the body limit, request parsing."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.context import BODY_LIMIT

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


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a body over the route's limit from its Content-Length, before reading it.

    The limit is the innermost app's ``BODY_LIMIT`` (64 KiB for the public
    routes; Rasa's action webhook carries whole conversations and has more); a
    chunked body without a length is cut off at the same limit while read.
    """
    limit = next(app[BODY_LIMIT] for app in reversed(request.match_info.apps) if BODY_LIMIT in app)
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body over {limit} bytes")
    if limit != request.client_max_size:
        request = request.clone(client_max_size=limit)
    return await handler(request)


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """Parse and validate a JSON body, or answer 400 saying exactly what is wrong.

    Invalid UTF-8, binary and malformed JSON all end here as one clear 400.
    """
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as error:
        raise ApiError(413, f"request body over {request.client_max_size} bytes") from error
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        raise ApiError(400, "invalid request body", details=details) from error
