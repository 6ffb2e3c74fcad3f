"""The Rasa input channel the app talks to.

Rasa's stock REST channel has two gaps for us: it accepts anyone on the port
(no token) and it returns only the bot's replies, so the app would need a second
round trip to learn the intent and entities it must store on the touchpoint.
This channel keeps the REST contract (sender, message, metadata in; collected
messages out), checks the same token as Rasa's HTTP API (as ``Authorization:
Bearer``, so it never sits in a URL or an access log) and adds the parse of
the user message (intent, entities). Errors are not swallowed
(the stock channel answers an empty list on failure), so the app can tell
"no reply" from "Rasa failed" and answer the prospect politely.
"""

import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


class JourneyInput(InputChannel):
    """Token-protected REST channel answering with replies and the NLU parse."""

    @classmethod
    def name(cls) -> Text:
        return "journey"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "JourneyInput":
        token = (credentials or {}).get("token")
        if not token:
            raise RasaException("the journey channel needs a non-empty 'token' credential")
        return cls(str(token))

    def __init__(self, token: Text) -> None:
        self.token = token

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint("journey_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return response.json({"error": "invalid or missing token"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json(
                    {"error": "'sender' and 'message' must be strings"}, status=400
                )
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded yet"}, status=503)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender,
                input_channel=body.get("input_channel") or self.name(),
                metadata=body.get("metadata"),
            )
            # Parse here and hand the result to Rasa, which then skips its own
            # parse: one NLU run, and the parse is ours to return.
            message.parse_data = await agent.processor.parse_message(message)
            await on_new_message(message)
            return response.json(
                {
                    "messages": collector.messages,
                    "intent": message.parse_data.get("intent") or {},
                    "entities": message.parse_data.get("entities") or [],
                }
            )

        return webhook
