"""The console, an aiohttp sub-app under ``/console`` with its own rules: encrypted
sessions, CSRF on every form, a role per page (handlers.console.access)."""

import aiohttp_jinja2
import jinja2
from aiohttp import web
from limits.aio.storage import Storage

from bot.conversation.language import RIGHT_TO_LEFT
from bot.settings import Settings
from bot.storage.models import Touchpoint
from handlers.console import access, conversations, funnel, inbox, leads, signin, staff


def direction(message: Touchpoint) -> str:
    """A message's ``dir``. The bot's own words are in the language they were written
    in: right to left in Hebrew, Arabic or Persian, so "Amir من Carmel Motors معك" is
    not laid out left to right for starting with a Latin name. What prospects and reps
    type may be in any language: the browser's guess from the first letters."""
    if message.author == "bot" and message.language in RIGHT_TO_LEFT:
        return "rtl"
    return "auto"


def create_app(settings: Settings, rate_limits: Storage) -> web.Application:
    app = web.Application(middlewares=[access.session_middleware(settings), access.guard])
    app[access.LIMITER] = access.new_limiter(rate_limits)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        filters={"direction": direction},
    )
    for module in (signin, staff, conversations, leads, funnel, inbox):
        app.add_routes(module.routes)
    return app
