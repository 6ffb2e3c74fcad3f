"""Rasa's custom-action webhook, a sub-app: its own token and body limit, over bot.dialogue.

Rasa posts the whole tracker and domain with every call, which passes the
public 64 KiB in a long conversation, so this sub-app has its own limit. Rasa
sends our token as ``Authorization: Bearer`` (endpoints.yml), never in the URL.
Status codes follow rasa_sdk's endpoint: 400 rejected, 404 unknown action.
"""

from aiohttp import web

from bot.dialogue.actions import ActionRejected, UnknownAction
from handlers.auth import bearer_token
from handlers.context import ACTIONS, BODY_LIMIT, RASA_TOKEN
from handlers.errors import ApiError

routes = web.RouteTableDef()


def create_app(body_limit: int) -> web.Application:
    token = bearer_token(lambda request: request.config_dict[RASA_TOKEN], "no Rasa token yet")
    app = web.Application(middlewares=[token])
    app[BODY_LIMIT] = body_limit
    app.add_routes(routes)
    return app


@routes.post("/actions")
async def run_action(request: web.Request) -> web.Response:
    try:
        payload = await request.json()
    except ValueError as error:
        raise ApiError(400, "body must be JSON") from error
    if not isinstance(payload, dict):
        raise ApiError(400, "body must be a JSON object")
    name = payload.get("next_action")
    try:
        return web.json_response(await request.config_dict[ACTIONS].run(payload))
    except UnknownAction as error:
        raise ApiError(404, f"no custom action {error}", action_name=name) from error
    except ActionRejected as error:
        raise ApiError(400, str(error), action_name=name) from error
