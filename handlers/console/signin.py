"""Signing in and out, the start page, and the console's stylesheet and script."""

from pathlib import Path

import aiohttp_session
from aiohttp import web

from bot.staff import audit, users
from handlers.client_address import client_address
from handlers.console import access
from handlers.console.page import render
from handlers.context import CLOCK, SESSIONS

routes = web.RouteTableDef()
ASSETS = {name: Path(__file__).parent / "static" / name for name in ("console.css", "inbox.js")}


@routes.get("/static/{name}")
@access.requires(None)
async def asset(request: web.Request) -> web.StreamResponse:
    """Files, not inline code: the pages' Content-Security-Policy allows no inline script
    or style."""
    path = ASSETS.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "max-age=300"})


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
        address = client_address(request)
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


async def _login_again(request: web.Request, error: str, status: int) -> web.Response:
    return await render(request, "login.html", {"error": error, "next": _next(request)}, status)


def _next(request: web.Request) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    wanted = request.query.get("next", "")
    home = str(request.app.router["home"].url_for())
    ok = wanted.startswith("/console/") and not wanted.startswith("//") and "\\" not in wanted
    return wanted if ok else home
