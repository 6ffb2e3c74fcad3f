"""The team's accounts, for admins: add a user with a role, remove one."""

from aiohttp import web

from bot.staff import audit, users
from handlers.console import access
from handlers.console.page import back_to, render
from handlers.context import CLOCK, SESSIONS

routes = web.RouteTableDef()


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
    raise back_to(request, "users")


@routes.post("/users/remove")
@access.requires("admin")
async def remove_user(request: web.Request) -> web.Response:
    name = str((await request.post()).get("username", ""))
    now = request.config_dict[CLOCK].now()
    async with request.config_dict[SESSIONS]() as session:
        if name != request[access.USER].name and await users.remove(session, name):
            audit.record(session, request[access.USER].name, "user_removed", now, name)
        await session.commit()
    raise back_to(request, "users")


async def _users(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    async with request.config_dict[SESSIONS]() as session:
        everyone = await users.everyone(session)
    context = {"users": everyone, "roles": users.ROLES, "error": error}
    return await render(request, "users.html", context, status)
