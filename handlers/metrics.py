"""``GET /metrics``: Prometheus's text format, behind ``Bearer $BOT_API_TOKEN``.

A sub-app of its own so that its rule is its own: closed (401) until the ops
token is set, like the ops API (Prometheus sends it with ``authorization:``
in its scrape config). The figures are what ``bot/metrics.py`` counts.
"""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from handlers.auth import bearer_token, setting

routes = web.RouteTableDef()


def create_app() -> web.Application:
    closed = "metrics are disabled: set BOT_API_TOKEN to enable them"
    app = web.Application(middlewares=[bearer_token(setting("bot_api_token"), closed)])
    app.add_routes(routes)
    return app


@routes.get("")
async def scrape(_: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
