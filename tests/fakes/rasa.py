"""A small stand-in for the Rasa server, speaking our journey channel's real protocol.

It answers ``POST /webhooks/journey/webhook`` (``Authorization: Bearer``,
``{"sender", "message", "metadata"}`` in, ``{"messages", "intent",
"entities"}`` out), ``/model/parse`` and ``/status`` (``?token=``, as Rasa's
own API), and, like Rasa, runs custom actions by posting the tracker to the
app's action webhook and passing on the responses. The language model is a
table: an exact text, a keyword, or Rasa's ``/intent{"entity": ...}`` payload
syntax; the dialogue policy is ``stories/rules.yml``'s one-intent rules,
read from the responses of ``domain.yml``. That is all the fast tests need to
cover every channel's success path without training a model; the
integration tests keep the real Rasa.

Tests can make it slow (``delay``), fail (``fail_next``), look at what it was
sent (``calls``) and run a check while a turn is inside Rasa (``during_turn``).
"""

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from bot.settings import PROJECT_DIR

PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.DOTALL)
# What the fake understands without being told: enough for the common paths.
KEYWORDS = {
    "hello": "greet", "hi": "greet", "shalom": "greet", "שלום": "greet", "مرحبا": "greet",
    "سلام": "greet", "salut": "greet", "bye": "goodbye", "thanks": "thank", "thank": "thank",
    "price": "ask_price", "cost": "ask_price", "how much": "ask_price",
    "compare": "compare_products",
    "book": "book_appointment", "test drive": "book_appointment", "warranty": "ask_warranty",
    "broken": "report_problem", "person": "request_human", "human": "request_human",
    "terrible": "complaint", "awful": "complaint",
    "where": "ask_location_hours", "open": "ask_location_hours", "offer": "ask_promotions",
    "reviews": "ask_reviews", "loan": "ask_financing", "yes": "affirm", "no": "deny",
}  # fmt: skip
# Custom actions that Rasa's rules run for these intents (stories/rules.yml).
CUSTOM_ACTIONS = {
    "greet": "action_greet",
    "inform": "action_inform",
    "affirm": "action_affirm",
    "deny": "action_deny",
    "cancel_booking": "action_cancel_booking",
}


@dataclass
class Call:
    sender: str
    text: str
    metadata: dict[str, Any]


@dataclass
class FakeRasa:
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    action_url: str | None = None  # the app's action webhook; None: utterances only
    delay: float = 0.0
    fail_next: int = 0
    intents: dict[str, str] = field(default_factory=dict)  # exact text -> intent
    calls: list[Call] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)  # conversations restarted by the app
    replaced: list[str] = field(default_factory=list)  # trackers replaced (erased) by the app
    during_turn: Callable[[Call], Awaitable[None]] | None = None
    url: str = ""
    _slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    _events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _port: int = 0
    _http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "FakeRasa":
        self._http = aiohttp.ClientSession()
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._http is not None
        await self._http.close()
        await self.stop()

    async def start(self) -> None:
        """Listen (again, on the same port after ``stop``: Rasa back after a crash)."""
        app = web.Application()
        app.router.add_post("/webhooks/journey/webhook", self._webhook)
        app.router.add_post("/model/parse", self._parse)
        app.router.add_get("/status", self._status)
        app.router.add_post("/conversations/{sender}/tracker/events", self._events_api)
        app.router.add_put("/conversations/{sender}/tracker/events", self._replace_events)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self._port}"

    async def stop(self) -> None:
        """Stop answering, as a killed Rasa does: connections refused."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the language model -------------------------------------------------------------

    def understand(self, text: str) -> dict[str, Any]:
        """Rasa's parse of a text: intent with confidence, entities."""
        entities: list[dict[str, Any]] = []
        payload = PAYLOAD.match(text.strip())
        if payload:
            intent = payload.group(1)
            values = json.loads(payload.group(2)) if payload.group(2) else {}
            entities = [{"entity": k, "value": v} for k, v in values.items()]
        elif text in self.intents:
            intent = self.intents[text]
        else:
            folded = text.casefold()
            intent = next(
                (i for word, i in KEYWORDS.items() if re.search(rf"(?<!\w){word}(?!\w)", folded)),
                "nlu_fallback",
            )
        confidence = 1.0 if intent != "nlu_fallback" else 0.3
        return {"text": text, "intent": {"name": intent, "confidence": confidence},
                "entities": entities}  # fmt: skip

    # -- the HTTP endpoints -------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "invalid or missing token"}, status=401)
        body = await request.json()
        call = Call(body["sender"], body["message"], body.get("metadata") or {})
        self.calls.append(call)
        if self.during_turn is not None:
            await self.during_turn(call)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.json_response({"error": "boom"}, status=500)
        parse = self.understand(call.text)
        messages = await self._predict(call, parse)
        return web.json_response(
            {"messages": messages, "intent": parse["intent"], "entities": parse["entities"]}
        )

    async def _parse(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response(self.understand((await request.json())["text"]))

    async def _events_api(self, request: web.Request) -> web.Response:
        """Rasa's tracker events API; a ``restart`` event forgets the conversation."""
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        sender, body = request.match_info["sender"], await request.json()
        events = body if isinstance(body, list) else [body]
        if any(e.get("event") == "restart" for e in events):
            self._slots.pop(sender, None)
            self._events.pop(sender, None)
            self.resets.append(sender)
        return web.json_response({"sender_id": sender, "events": []})

    async def _replace_events(self, request: web.Request) -> web.Response:
        """Rasa's PUT: the tracker becomes the events given (none: forgotten)."""
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        sender, body = request.match_info["sender"], await request.json()
        self._slots.pop(sender, None)
        self._events[sender] = list(body)
        self.replaced.append(sender)
        return web.json_response({"sender_id": sender, "events": body})

    async def _status(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"model_file": "fake.tar.gz"})

    # -- the dialogue policy ------------------------------------------------------------

    async def _predict(self, call: Call, parse: dict[str, Any]) -> list[dict[str, Any]]:
        intent = parse["intent"]["name"]
        events = self._events.setdefault(call.sender, [])
        events.append({"event": "user", "text": call.text, "parse_data": parse})
        action = CUSTOM_ACTIONS.get(intent)
        if action is not None and self.action_url is not None:
            return await self._run_action(action, call, parse)
        response = _responses().get(f"utter_{intent}") or _responses()["utter_default"]
        events.append({"event": "action", "name": f"utter_{intent}"})
        return [{"recipient_id": call.sender, "custom": response[0]["custom"]}]

    async def _run_action(
        self, action: str, call: Call, parse: dict[str, Any]
    ) -> list[dict[str, Any]]:
        assert self._http is not None and self.action_url is not None
        slots = self._slots.setdefault(call.sender, {})
        tracker = {
            "sender_id": call.sender,
            "slots": dict(slots),
            "latest_message": parse | {"metadata": call.metadata},
            "events": list(self._events[call.sender]),
        }
        body = {"next_action": action, "sender_id": call.sender, "tracker": tracker, "domain": {}}
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self._http.post(self.action_url, json=body, headers=headers) as response:
            if response.status != 200:  # as Rasa: a failed action says nothing
                return []
            result = await response.json()
        for event in result.get("events", []):
            if event.get("event") == "slot":
                slots[event["name"]] = event["value"]
        self._events[call.sender].append({"event": "action", "name": action})
        return [{"recipient_id": call.sender, **r} for r in result.get("responses", [])]


_DOMAIN: dict[str, Any] = {}


def _responses() -> dict[str, Any]:
    if not _DOMAIN:
        domain = yaml.safe_load(Path(PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
        _DOMAIN.update(domain["responses"])
    return _DOMAIN
