"""Who may use the console, and how they prove it.

Encrypted cookie sessions (aiohttp-session, Fernet); a login with the name and an
argon2-checked password, rate-limited by name and by address (limits' moving
window); a CSRF token in the session that every form posts back; roles per page
(``requires("admin")``), anything else is 403. Logins, failed ones and logouts go
to the audit log.
"""

import base64
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.settings import Settings
from bot.staff import users
from bot.storage.models import StaffUser
from handlers.client_address import client_address
from handlers.context import SESSIONS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER = web.RequestKey("console_user", StaffUser)
LIMITER = web.AppKey("console_limiter", MovingWindowRateLimiter)
PER_NAME, PER_ADDRESS = RateLimitItemPerMinute(5), RateLimitItemPerMinute(20)
SESSION_HOURS = 8


def session_middleware(settings: Settings) -> Any:
    key = settings.console_secret_key
    secret = base64.urlsafe_b64decode(key.get_secret_value()) if key else secrets.token_bytes(32)
    storage = EncryptedCookieStorage(
        secret, cookie_name="journey_console", httponly=True, samesite="Strict",
        secure=settings.base_url.startswith("https://"), max_age=SESSION_HOURS * 3600,
        path="/console",
    )  # fmt: skip
    return aiohttp_session.session_middleware(storage)


def requires(role: str | None) -> Callable[[Handler], Handler]:
    """The least role a page needs (None: anyone, the sign-in page); pages without it
    need a signed-in rep."""

    def mark(handler: Handler) -> Handler:
        handler.role = role  # type: ignore[attr-defined]
        return handler

    return mark


async def csrf_token(request: web.Request) -> str:
    session = await aiohttp_session.get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSRF on every form, then who is signed in, then whether their role may."""
    session = await aiohttp_session.get_session(request)
    if request.method not in ("GET", "HEAD"):
        sent = (await request.post()).get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, session.get("csrf", "")):
            raise web.HTTPForbidden(text="the form has expired: reload the page and try again")
    needed = getattr(handler, "role", "rep")
    if needed is None:
        return _headers(await handler(request))
    user = await _signed_in(request, session)
    if user is None:
        raise web.HTTPFound(request.app.router["login"].url_for().with_query(next=request.path))
    if not users.allows(user.role, needed):
        raise web.HTTPForbidden(text=f"a {user.role} may not open this page")
    request[USER] = user
    return _headers(await handler(request))


async def _signed_in(request: web.Request, session: aiohttp_session.Session) -> StaffUser | None:
    """The session's user as the database has them now: removed users are out at once."""
    name = session.get("user")
    if not isinstance(name, str):
        return None
    async with request.config_dict[SESSIONS]() as db:
        found = await users.find(db, name)
    if found is None:
        session.invalidate()
    return found


async def allowed_to_try(request: web.Request, name: str) -> bool:
    limiter = request.app[LIMITER]
    address = client_address(request) or "?"
    return await limiter.test(PER_NAME, "name", name) and await limiter.test(
        PER_ADDRESS, "address", address
    )


async def failed_try(request: web.Request, name: str) -> None:
    limiter = request.app[LIMITER]
    await limiter.hit(PER_NAME, "name", name)
    await limiter.hit(PER_ADDRESS, "address", client_address(request) or "?")


async def sign_in(request: web.Request, user: StaffUser) -> None:
    """A new session (its id and CSRF token fresh: no fixation), holding the name."""
    session = await aiohttp_session.new_session(request)
    session["user"] = user.name
    session["csrf"] = secrets.token_urlsafe(32)


def new_limiter(storage: Storage) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage)


def _headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
    )
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
