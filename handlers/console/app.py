"""The console, an aiohttp sub-app under ``/console`` with its own rules: encrypted
sessions, CSRF on every form, a role per page (handlers.console.access)."""

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.settings import Settings
from handlers.console import access, conversations, funnel, inbox, leads, signin, staff


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[access.session_middleware(settings), access.guard])
    app[access.LIMITER] = access.new_limiter()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    for module in (signin, staff, conversations, leads, funnel, inbox):
        app.add_routes(module.routes)
    return app
