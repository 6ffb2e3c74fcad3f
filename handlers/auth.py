"""Bearer tokens for the parts of the app that are not for prospects (ops API, Rasa).

Each is closed until its token is set; tokens are compared in constant time
and only ever read from a header, never from the URL.
"""

import secrets
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from handlers.context import SETTINGS
from handlers.errors import Handler, json_error


def setting(name: str) -> Callable[[web.Request], str | None]:
    """The token in the settings field ``name``, or None while it is unset."""

    def token_of(request: web.Request) -> str | None:
        token = getattr(request.config_dict[SETTINGS], name)
        return token.get_secret_value() if token is not None else None

    return token_of


def bearer_token(token_of: Callable[[web.Request], str | None], closed: str) -> Middleware:
    """A middleware that lets through only ``Authorization: Bearer <token>``."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = token_of(request)
        if token is None:
            return json_error(401, closed)
        given = request.headers.get("Authorization", "").encode()
        if not secrets.compare_digest(given, f"Bearer {token}".encode()):
            return json_error(401, "missing or wrong bearer token")
        return await handler(request)

    return check
