"""The console's pages so far: sign in and out, the start page, the conversations and
their transcripts, the users (admins)."""

from typing import Any

import aiohttp_jinja2
import aiohttp_session
import jinja2
from aiohttp import web
from sqlalchemy import select

from bot.conversation.language import SUPPORTED_LANGUAGES
from bot.crm import conversations, journey
from bot.settings import Settings
from bot.staff import audit, users
from bot.storage.models import Booking, Conversation, Lead, Touchpoint
from handlers.console import access
from handlers.context import CLOCK, SESSIONS

routes = web.RouteTableDef()


def create_app(settings: Settings) -> web.Application:
    """The console sub-app: its own session, CSRF and role rules, and its templates."""
    app = web.Application(middlewares=[access.session_middleware(settings), access.guard])
    app[access.LIMITER] = access.new_limiter()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.add_routes(routes)
    return app


async def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """A page, with who is signed in and the CSRF token its forms post back."""
    common = {"user": request.get(access.USER), "csrf": await access.csrf_token(request)}
    return aiohttp_jinja2.render_template(template, request, common | context, status=status)


@routes.get("/login", name="login")
@access.requires(None)
async def login_form(request: web.Request) -> web.Response:
    return await render(request, "login.html", {"next": _next(request)})


@routes.post("/login")
@access.requires(None)
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1000]
    now = request.config_dict[CLOCK].now()
    if not await access.allowed_to_try(request, name):
        return await _login_again(request, "Too many attempts: wait a minute and try again.", 429)
    async with request.config_dict[SESSIONS]() as session:
        user = await users.authenticate(session, name, password)
        address = request.remote
        if user is None:
            audit.record(session, name or "?", "login_failed", now, address=address)
        else:
            audit.record(session, user.name, "login", now, address=address)
        await session.commit()
    if user is None:
        await access.failed_try(request, name)
        return await _login_again(request, "Wrong name or password.", 401)
    await access.sign_in(request, user)
    raise web.HTTPSeeOther(_next(request))


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    async with request.config_dict[SESSIONS]() as session:
        audit.record(session, request[access.USER].name, "logout", request.config_dict[CLOCK].now())
        await session.commit()
    (await aiohttp_session.get_session(request)).invalidate()
    raise web.HTTPSeeOther(request.app.router["login"].url_for())


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    return await render(request, "home.html", {})


@routes.get("/conversations", name="conversations")
async def conversations_page(request: web.Request) -> web.Response:
    """Every conversation, newest first, by the filters and words in the query string."""
    filters = conversations.Filters.of(dict(request.query))
    async with request.config_dict[SESSIONS]() as session:
        rows = await conversations.search(session, filters, request.config_dict[CLOCK].now())
    context = {"rows": rows, "filters": filters, "outcomes": conversations.OUTCOMES,
               "stages": journey.STAGES, "languages": SUPPORTED_LANGUAGES}  # fmt: skip
    return await render(request, "conversations.html", context)


@routes.get("/conversations/{conversation_id:\\d+}", name="transcript")
async def transcript_page(request: web.Request) -> web.Response:
    """One conversation as it happened: who said what, when, how the bot understood it,
    and the stage changes, bookings and handoffs between."""
    conversation_id = int(request.match_info["conversation_id"])
    async with request.config_dict[SESSIONS]() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise web.HTTPNotFound(text=f"no conversation {conversation_id}")
        lead = await session.get(Lead, conversation.lead_id)
        said = await session.scalars(
            select(Touchpoint)
            .where(Touchpoint.conversation_id == conversation_id)
            .order_by(Touchpoint.created_at, Touchpoint.id)
        )
        found = await session.scalars(
            select(Booking).where(Booking.lead_id == conversation.lead_id)
        )
        context = {"conversation": conversation, "lead": lead, "touchpoints": list(said),
                   "bookings": list(found)}  # fmt: skip
    return await render(request, "transcript.html", context)


@routes.get("/users", name="users")
@access.requires("admin")
async def users_page(request: web.Request) -> web.Response:
    return await _users(request)


@routes.post("/users")
@access.requires("admin")
async def add_user(request: web.Request) -> web.Response:
    form = await request.post()
    name, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        try:
            await users.add(session, name, role, str(form.get("password", "")), now)
        except users.UserError as error:
            return await _users(request, str(error), 400)
        audit.record(session, request[access.USER].name, "user_added", now, name, role=role)
        await session.commit()
    raise web.HTTPSeeOther(request.app.router["users"].url_for())


@routes.post("/users/remove")
@access.requires("admin")
async def remove_user(request: web.Request) -> web.Response:
    name = str((await request.post()).get("username", ""))
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        if name != request[access.USER].name and await users.remove(session, name):
            audit.record(session, request[access.USER].name, "user_removed", now, name)
        await session.commit()
    raise web.HTTPSeeOther(request.app.router["users"].url_for())


async def _users(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    async with request.config_dict[SESSIONS]() as session:
        everyone = await users.everyone(session)
    context = {"users": everyone, "roles": users.ROLES, "error": error}
    return await render(request, "users.html", context, status)


async def _login_again(request: web.Request, error: str, status: int) -> web.Response:
    return await render(request, "login.html", {"error": error, "next": _next(request)}, status)


def _next(request: web.Request) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    wanted = request.query.get("next", "")
    home = str(request.app.router["home"].url_for())
    ok = wanted.startswith("/console/") and not wanted.startswith("//") and "\\" not in wanted
    return wanted if ok else home
