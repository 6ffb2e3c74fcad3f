"""A fake Telegram Bot API server for tests that run the real aiogram Bot against it.

Mocking aiogram would only test our assumptions about aiogram. This server speaks the
wire protocol aiogram really uses, so the real Bot, Dispatcher, serialisation and error
mapping all run. What aiogram 3 sends (aiogram/client/session/aiohttp.py and base.py):

* every call is a POST to ``/bot<token>/<method>``; without files the body is
  ``application/x-www-form-urlencoded``, with files ``multipart/form-data`` where the
  parameter says ``attach://<random key>`` and the file is the part named ``<random key>``;
* parameters typed ``str`` are sent as they are, everything else JSON-encoded:
  ``chat_id=42``, ``disable_notification=true``, ``reply_markup={"inline_keyboard": ...}``;
* parameters that are None *or empty* are not sent at all: ``text=""`` arrives as no text.

The server also enforces the limits of the real one that bots trip over in production
(message length, callback data size, answering a callback query twice, "message is not
modified", flood control, polling conflicts), so a test fails where Telegram would.
"""

from __future__ import annotations

import asyncio
import copy
import html
import json
import mimetypes
import re
import time
import typing
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import NoneType, TracebackType
from typing import Any

import aiogram.methods
from aiogram.client.default import Default
from aiogram.types import Update
from aiohttp import web

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# What Telegram sends when a bot never chose: everything but these three.
DEFAULT_ALLOWED_UPDATES = frozenset(Update.model_fields) - {
    "update_id",
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

Json = dict[str, Any]


@dataclass
class Call:
    """One request the fake received, with its parameters decoded as the Bot API reads them.

    ``files`` maps the parameter that referenced an upload (``document``) to its
    (filename, bytes); ``status`` is the HTTP status answered (0 while a long poll is
    still waiting) and ``result`` what ``"result"`` carried on success.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: int = 0
    result: Any = None


class ApiError(Exception):
    """An error answer shaped like Telegram's, which aiogram maps to its exceptions."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> Json:
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _is_plain_str(annotation: Any) -> bool:
    args = typing.get_args(annotation) or (annotation,)
    return {arg for arg in args if arg not in (NoneType, Default)} == {str}


def _bot_api_methods() -> dict[str, tuple[str, frozenset[str]]]:
    """Method name in lower case (Telegram ignores case) -> (its spelling, its str params).

    aiogram's method models are generated from the Bot API specification, so they list
    the methods that exist and tell which parameters are strings: those arrive unencoded
    and must stay strings even when they look like JSON (a text of "42" or "true").
    """
    methods: dict[str, tuple[str, frozenset[str]]] = {}
    for name in aiogram.methods.__all__:
        model = getattr(aiogram.methods, name)
        api_name = getattr(model, "__api_method__", None)
        if isinstance(api_name, str):
            strings = frozenset(
                info.alias or param
                for param, info in model.model_fields.items()
                if _is_plain_str(info.annotation)
            )
            methods[api_name.lower()] = (api_name, strings)
    return methods


METHODS = _bot_api_methods()


def _decode(value: str, keep_string: bool) -> Any:
    if keep_string:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a str | int parameter holding a string: "@channel", a file_id, a URL


async def _read_params(
    request: web.Request, strings: frozenset[str]
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Query string and body (form, multipart or JSON) as params, and the uploaded files."""
    params = {key: _decode(value, key in strings) for key, value in request.query.items()}
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        return {**params, **body}, {}
    uploads: dict[str, tuple[str, bytes]] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            uploads[key] = (value.filename, value.file.read())
        else:
            text = value if isinstance(value, str) else bytes(value).decode()
            params[key] = _decode(text, key in strings)
    files: dict[str, tuple[str, bytes]] = {}
    for key, value in params.items():
        attached = isinstance(value, str) and value.startswith("attach://")
        if attached and (part := value.removeprefix("attach://")) in uploads:
            files[key] = uploads.pop(part)
    files.update(uploads)  # parts sent under the parameter's own name, or nested in JSON media
    return params, files


def _now() -> int:
    return int(time.time())


def _visible_length(text: str, parse_mode: Any) -> int:
    """Telegram counts the limit after entity parsing, so HTML tags do not count."""
    if parse_mode == "HTML":
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return len(text.strip())


def _content(message: Json) -> tuple[Any, ...]:
    return message.get("text"), message.get("caption"), message.get("reply_markup")


Handler = Callable[[Call], Coroutine[Any, Any, Any]]


class FakeBotAPI:
    """A Bot API server on 127.0.0.1 that aiogram talks to like the real one.

    Updates are queued until a getUpdates call confirms them with a higher offset, as
    Telegram does, so a poll cancelled by ``Dispatcher.stop_polling`` loses nothing.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107 - the fake's own, not a secret
        bot_username: str = "journey_test_bot",
    ) -> None:
        self.token = token
        self.bot_user: Json = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Journey Test Bot",
            "username": bot_username,
        }
        self.calls: list[Call] = []
        self.webhook: Json | None = None
        self._updates: list[Json] = []
        self._allowed_updates = DEFAULT_ALLOWED_UPDATES
        self._next_update_id = 1
        self._next_message_id = 1
        self._next_query_id = 1
        self._next_file_id = 1
        self._open_queries: set[str] = set()
        self._messages: dict[tuple[int, int], Json] = {}
        self._chats: dict[int, Json] = {}
        self._files: dict[str, Json] = {}
        self._commands: dict[tuple[str, str], list[Json]] = {}
        self._blocked: set[int] = set()
        self._failures: dict[str, list[int]] = {}
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }

    # --- life cycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (port 0), so parallel runs never collide."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop, first ending waiting long polls (the runner would wait for them)."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Base URL for ``TelegramAPIServer.from_base``."""
        if self._url is None:
            raise RuntimeError("FakeBotAPI.start() has not been awaited")
        return self._url

    # --- inspecting -----------------------------------------------------------------

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        """Successful calls of ``method`` (to ``chat_id``): what the user actually got."""
        return [
            call
            for call in self.calls
            if call.method.lower() == method.lower()
            and call.status == 200
            and (chat_id is None or call.params.get("chat_id") == chat_id)
        ]

    async def wait_for(
        self,
        method: str,
        count: int,
        chat_id: int | None = None,
        timeout: float = 30,  # noqa: ASYNC109 - a bounded wait is the point
    ) -> list[Call]:
        """Wait until ``sent(method, chat_id)`` has ``count`` calls, for asynchronous bots."""
        if not await self._wait_until(lambda: len(self.sent(method, chat_id)) >= count, timeout):
            to = "" if chat_id is None else f" to chat {chat_id}"
            raise AssertionError(
                f"expected {count} successful {method}{to} within {timeout}s, "
                f"got {len(self.sent(method, chat_id))}; calls:\n{self.describe_calls()}"
            )
        return self.sent(method, chat_id)

    def describe_calls(self) -> str:
        """Every call but empty polls, one a line, for assertion messages."""
        return "\n".join(
            f"  {call.status} {call.method} {call.params}"
            + (f" files={ {k: v[0] for k, v in call.files.items()} }" if call.files else "")
            for call in self.calls
            if not (call.method == "getUpdates" and call.result == [])
        )

    # --- feeding updates ------------------------------------------------------------

    def push_update(self, update: Json) -> int:
        """Queue an update for getUpdates and return its update_id (set in ``update`` if missing).

        Like Telegram, an update of a type the last getUpdates/setWebhook excluded with
        ``allowed_updates`` is never created: it is dropped (aiogram asks only for the
        types it has handlers for).
        """
        update.setdefault("update_id", self._next_update_id)
        update_id = int(update["update_id"])
        self._next_update_id = max(self._next_update_id, update_id + 1)
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(f"an update has exactly one field besides update_id: {update}")
        payload = update[kinds[0]]
        if isinstance(payload, dict):
            if kinds[0] == "callback_query":
                self._open_queries.add(str(payload["id"]))
            message = payload.get("message", payload)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                self._chats[message["chat"]["id"]] = copy.deepcopy(message["chat"])
        if kinds[0] in self._allowed_updates:
            self._updates.append(copy.deepcopy(update))
        self._notify()
        return update_id

    def message_update(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        language_code: str | None = "en",
        update_id: int | None = None,
        **extra_message_fields: Any,
    ) -> Json:
        """An Update with a private-chat message from user ``chat_id`` (not queued yet).

        A text starting with "/" gets the bot_command entity Telegram adds.
        """
        message: Json = {
            "message_id": self._new_message_id(),
            "date": _now(),
            "chat": {"id": chat_id, "type": "private", "first_name": "Dana"},
            "from": self._user(chat_id, language_code),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message.update(extra_message_fields)
        update: Json = {"message": message}
        if update_id is not None:
            update = {"update_id": update_id, **update}
        return update

    def group_message_update(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        first_name: str = "Rep",
        reply_to: int | None = None,
        update_id: int | None = None,
    ) -> Json:
        """A message from user ``user_id`` in group ``chat_id``, optionally a reply (the
        swipe-to-reply of Telegram) to the bot's message ``reply_to`` there."""
        message: Json = {
            "message_id": self._new_message_id(),
            "date": _now(),
            "chat": self._chat({"chat_id": chat_id}),
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "text": text,
        }
        if reply_to is not None:
            message["reply_to_message"] = copy.deepcopy(
                self._messages.get((chat_id, reply_to))
                or {"message_id": reply_to, "date": _now(), "chat": message["chat"]}
            )
        update: Json = {"message": message}
        if update_id is not None:
            update = {"update_id": update_id, **update}
        return update

    def callback_update(
        self,
        chat_id: int,
        data: str,
        *,
        language_code: str | None = "en",
        message_id: int = 1,
        user_id: int | None = None,
        first_name: str = "Dana",
    ) -> Json:
        """An Update with a press on an inline button of bot message ``message_id``.

        The message is the one the bot sent with that id to that chat if there is one,
        so ``callback.message.text`` and its keyboard are what the bot really sent.
        """
        message = self._messages.get((chat_id, message_id)) or {
            "message_id": message_id,
            "date": _now(),
            "chat": {"id": chat_id, "type": "private", "first_name": "Dana"},
            "from": self.bot_user,
            "text": "Choose an option",
        }
        query_id = str(4_000_000_000_000_000 + self._next_query_id)
        self._next_query_id += 1
        user = self._user(user_id or chat_id, language_code) | {"first_name": first_name}
        return {
            "callback_query": {
                "id": query_id,
                "from": user,
                "chat_instance": str(-7_000_000_000 - chat_id),
                "data": data,
                "message": copy.deepcopy(message),
            }
        }

    # --- failures -------------------------------------------------------------------

    def fail_next(self, method: str, times: int, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 flood control."""
        self._failures[method.lower()] = [times, retry_after]

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sending to ``chat_id`` now gets 403 Forbidden."""
        self._blocked.add(chat_id)

    # --- the server -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        known = METHODS.get(name.lower())
        method, strings = known or (name, frozenset())
        params, files = await _read_params(request, strings)
        call = Call(method, params, files)
        self.calls.append(call)
        body: Json
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if known is None:
                raise ApiError(404, "Not Found: method not found")
            self._take_failure(method)
            sending = method.startswith(("send", "copy", "forward", "edit"))
            if sending and params.get("chat_id") in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            call.result = await self._handlers.get(method, self._accept)(call)
            call.status = 200
            body = {"ok": True, "result": call.result}
        except ApiError as error:
            call.status, body = error.status, error.body()
        self._notify()
        return web.json_response(body, status=call.status)

    def _take_failure(self, method: str) -> None:
        failure = self._failures.get(method.lower())
        if failure and failure[0] > 0:
            failure[0] -= 1
            retry_after = failure[1]
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def _notify(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, ready: Callable[[], bool], seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            return ready()
        return True

    def _new_message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id - 1

    def _user(self, user_id: int, language_code: str | None) -> Json:
        user: Json = {"id": user_id, "is_bot": False, "first_name": "Dana"}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def _chat(self, params: dict[str, Any]) -> Json:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if isinstance(chat_id, int):
            if chat_id in self._chats:
                return copy.deepcopy(self._chats[chat_id])
            if chat_id > 0:
                return {"id": chat_id, "type": "private", "first_name": "Dana"}
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": "Test group"}
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:]
            return {"id": -1001000000001, "type": "channel", "title": name, "username": name}
        if not chat_id:
            raise bad_request("chat_id is empty")
        raise bad_request("chat not found")

    def _text(self, params: dict[str, Any], key: str, limit: int) -> str:
        text = "" if params.get(key) is None else str(params[key])
        if key == "text" and not text.strip():
            raise bad_request("message text is empty")
        if _visible_length(text, params.get("parse_mode")) > limit:
            raise bad_request(
                "message is too long" if key == "text" else "message caption is too long"
            )
        return text

    def _inline_markup(self, params: dict[str, Any]) -> Json | None:
        """The inline keyboard to echo, checked like Telegram checks it.

        Returned messages carry only inline keyboards: a reply keyboard is not part of
        the Message Telegram answers (and aiogram would reject it there).
        """
        if "reply_markup" not in params:
            return None
        markup = params["reply_markup"]
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup if markup.get("inline_keyboard") else None

    def _store(self, chat: Json, content: Json, markup: Json | None) -> Json:
        """A new message from the bot, remembered for edits and callback queries."""
        message: Json = {
            "message_id": self._new_message_id(),
            "from": self.bot_user,
            "chat": chat,
            "date": _now(),
            **content,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    # --- methods --------------------------------------------------------------------

    async def _accept(self, call: Call) -> Any:
        return True

    async def _get_me(self, call: Call) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: Call) -> Any:
        """Long polling: confirm by offset, then wait up to ``timeout`` for updates.

        A newer poll or a webhook ends a waiting poll with 409, as on Telegram, which is
        how two running copies of a bot show up.
        """
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        params = call.params
        offset = int(params.get("offset", 0))
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        self._poll_generation += 1
        mine = self._poll_generation
        self._notify()
        await self._wait_until(
            lambda: self._closing or self._poll_generation != mine or bool(self._updates),
            float(params.get("timeout", 0)),
        )
        if self._poll_generation != mine and not self._closing:
            raise ApiError(409, WEBHOOK_CONFLICT if self.webhook is not None else POLL_CONFLICT)
        return copy.deepcopy(self._updates[:limit])

    async def _set_webhook(self, call: Call) -> Any:
        params = call.params
        self.webhook = dict(params) if params.get("url") else None  # an empty url removes it
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_ALLOWED_UPDATES
        self._poll_generation += 1
        return True

    async def _delete_webhook(self, call: Call) -> Any:
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, call: Call) -> Any:
        info: Json = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            info["allowed_updates"] = sorted(self._allowed_updates)
            if "ip_address" in self.webhook:
                info["ip_address"] = self.webhook["ip_address"]
        return info

    async def _send_message(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        text = self._text(params, "text", MAX_TEXT)
        return self._store(chat, {"text": text}, self._inline_markup(params))

    async def _send_document(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        content: Json = {}
        if "caption" in params:
            content["caption"] = self._text(params, "caption", MAX_CAPTION)
        markup = self._inline_markup(params)
        reference = params.get("document")
        if "document" in call.files:
            filename, data = call.files["document"]
            if not data:
                raise bad_request("file must be non-empty")
            document: Json = {
                "file_id": f"BQACAgIAAxkBAAIB{self._next_file_id:08d}",
                "file_unique_id": f"AgADB{self._next_file_id:08d}",
                "file_name": filename,
                "file_size": len(data),
            }
            if mime_type := mimetypes.guess_type(filename)[0]:
                document["mime_type"] = mime_type
            self._next_file_id += 1
            self._files[document["file_id"]] = document
        elif isinstance(reference, str) and reference.startswith(("http://", "https://")):
            document = {
                "file_id": f"BQACAgIAAxkBAAIB{self._next_file_id:08d}",
                "file_unique_id": f"AgADB{self._next_file_id:08d}",
                "file_name": reference.rstrip("/").rsplit("/", 1)[-1],
            }
            self._next_file_id += 1
            self._files[document["file_id"]] = document
        elif isinstance(reference, str) and reference in self._files:
            document = self._files[reference]
        elif reference:
            raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise bad_request("there is no document in the request")
        return self._store(chat, {"document": document, **content}, markup)

    async def _answer_callback_query(self, call: Call) -> Any:
        """A query can be answered once, and only if it exists (a pushed update)."""
        query_id = str(call.params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(call.params.get("text", ""))) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        return True

    async def _send_chat_action(self, call: Call) -> Any:
        self._chat(call.params)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _edit_message_text(self, call: Call) -> Any:
        return self._edit(call.params, with_text=True)

    async def _edit_message_reply_markup(self, call: Call) -> Any:
        return self._edit(call.params, with_text=False)

    def _edit(self, params: dict[str, Any], *, with_text: bool) -> Any:
        """Edit a bot message; one the fake never saw is taken to exist (lenient)."""
        text = self._text(params, "text", MAX_TEXT) if with_text else None
        markup = self._inline_markup(params)
        if params.get("inline_message_id"):
            return True
        chat = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        old = self._messages.get((chat["id"], message_id))
        base = old or {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat,
            "date": _now(),
        }
        new = {k: v for k, v in base.items() if k not in ("reply_markup", "edit_date")}
        if text is not None:
            new["text"] = text
        if markup is not None:
            new["reply_markup"] = markup
        if old is not None and _content(old) == _content(new):
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = _now()
        self._messages[(chat["id"], message_id)] = new
        return new

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code", ""))

    async def _set_my_commands(self, call: Call) -> Any:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not BOT_COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
        self._commands[self._commands_key(call.params)] = commands
        return True

    async def _get_my_commands(self, call: Call) -> Any:
        return self._commands.get(self._commands_key(call.params), [])

    async def _delete_my_commands(self, call: Call) -> Any:
        self._commands.pop(self._commands_key(call.params), None)
        return True
