"""``/healthz``: is the app up, and can it reach its database and Rasa?"""

from aiohttp import web

from bot.dialogue.rasa_client import RasaUnavailable
from bot.storage.engine import ping
from handlers.context import ENGINE, RASA

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    checks = {"app": "ok", "database": "ok", "rasa": "ok"}
    try:
        await ping(request.app[ENGINE])
    except Exception as error:  # any failure means "not healthy", whatever raised it
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        await request.app[RASA].status()
    except RasaUnavailable:
        checks["rasa"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
