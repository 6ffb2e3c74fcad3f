"""Rendering a console page: the template with who is signed in and the CSRF token."""

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from handlers.console import access


async def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """A page, with who is signed in and the CSRF token its forms post back."""
    common = {"user": request.get(access.USER), "csrf": await access.csrf_token(request)}
    return aiohttp_jinja2.render_template(template, request, common | context, status=status)


def back_to(request: web.Request, name: str, **parts: str) -> web.HTTPSeeOther:
    """After a form: to a page of the console (post, redirect, get)."""
    return web.HTTPSeeOther(request.app.router[name].url_for(**parts))


def int_field(form: Any, name: str) -> int:
    """A number from a form; anything else is a bad request, not a 500."""
    try:
        return int(str(form.get(name, "")))
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"{name} must be a number") from error
