"""Rasa's custom-action webhook, served by the app (thin HTTP layer over bot.actions)."""

import secrets

from aiohttp import web

from bot.dialogue.actions import ActionRejected, UnknownAction
from handlers.context import ACTIONS, RASA_TOKEN
from handlers.errors import ApiError

routes = web.RouteTableDef()


@routes.post("/webhooks/rasa/actions")
async def run_action(request: web.Request) -> web.Response:
    if not secrets.compare_digest(
        request.query.get("token", "").encode(), request.app[RASA_TOKEN].encode()
    ):
        raise ApiError(401, "missing or wrong token")
    try:
        payload = await request.json()
    except ValueError as error:
        raise ApiError(400, "body must be JSON") from error
    if not isinstance(payload, dict):
        raise ApiError(400, "body must be a JSON object")
    name = payload.get("next_action")
    try:
        return web.json_response(await request.app[ACTIONS].run(payload))
    except UnknownAction as error:
        raise ApiError(404, f"no custom action {error}", action_name=name) from error
    except ActionRejected as error:
        raise ApiError(400, str(error), action_name=name) from error
