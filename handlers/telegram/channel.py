"""The Telegram channel (aiogram 3): prospects get the same bot as on the web.

Routers, one per feature, are assembled here. A middleware keeps each chat's
updates in order; each update is handled once because its update id is the
stored message's idempotency key. Bot API calls Telegram asks us to repeat
(429) are retried by the session's request middleware. Long polling by
default; with ``TELEGRAM_WEBHOOK_URL`` Telegram posts to ``/webhooks/telegram``
on the app, the secret-token header is checked, and Telegram gets its 200
only once the update is stored and answered (so a crash before that makes
Telegram deliver it again, and it is answered once).
"""

import asyncio
import contextlib
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.settings import Settings
from handlers.telegram import prospects, reps, unsupported
from handlers.telegram.middlewares import InFlight, OneChatAtATime
from handlers.telegram.retry import RetryAfter

log = structlog.get_logger(__name__)
WEBHOOK_PATH = "/webhooks/telegram"
LONGEST_RECONNECT_WAIT = 60.0


def create_bot(settings: Settings) -> Bot:
    assert settings.telegram_bot_token is not None
    url = settings.telegram_api_url
    session = AiohttpSession(api=TelegramAPIServer.from_base(url) if url else PRODUCTION)
    session.middleware(RetryAfter())
    return Bot(settings.telegram_bot_token.get_secret_value(), session=session)


def create_dispatcher(reps_chat_id: int | None = None, redis: Redis | None = None) -> Dispatcher:
    """Handlers get ``turns`` (and, for the reps' group, ``handoffs`` and ``desk``) by
    name, set on the dispatcher once the services exist (bot/__main__.py). With Redis
    (several replicas behind one webhook) aiogram keeps its storage there and isolates
    each chat's updates across replicas."""
    shared = {} if redis is None else {
        "storage": RedisStorage(redis), "events_isolation": RedisEventIsolation(redis)
    }  # fmt: skip
    dispatcher = Dispatcher(name="journey-bot", **shared)  # type: ignore[arg-type]
    dispatcher["in_flight"] = in_flight = InFlight()
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(OneChatAtATime())
    dispatcher.include_routers(
        prospects.create_router(),
        unsupported.create_router(),  # after prospects: only what they did not take
        reps.create_router(reps_chat_id),
    )
    return dispatcher


class WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering once the update is handled (not in the
    background), with a clear 400 for a body that is not an update."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), self.bot
        ):
            return web.json_response({"error": "wrong or missing secret token"}, status=401)
        try:
            body: Any = await request.json()
            update = Update.model_validate(body, context={"bot": self.bot})
        except (ValueError, ValidationError) as error:
            return web.json_response(
                {"error": "not a Telegram update", "details": str(error)[:500]}, status=400
            )
        try:
            update.event_type  # noqa: B018  (raises for an update of no type we know)
        except UpdateTypeLookupError:
            # A kind of update newer than our aiogram: taken, or Telegram retries it forever.
            log.warning("telegram.unknown_update_type", update_id=update.update_id)
            return web.json_response({"ignored": "no event type this bot handles"})
        return await super().handle(request)


async def connect(settings: Settings, bot: Bot, dispatcher: Dispatcher) -> None:
    """Register the webhook, or drop it and poll; retried until Telegram answers."""
    wait = 1.0
    while True:
        try:
            if settings.telegram_webhook_url:
                await bot.set_webhook(
                    settings.telegram_webhook_url,
                    secret_token=settings.telegram_secret,
                    allowed_updates=dispatcher.resolve_used_update_types(),
                )
                log.info("telegram.webhook", url=settings.telegram_webhook_url)
                return
            await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
            break
        except TelegramAPIError as error:
            log.error("telegram.unreachable", error=str(error), retry_in=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_RECONNECT_WAIT)
    log.info("telegram.polling")
    await dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)


async def disconnect(
    dispatcher: Dispatcher, running: asyncio.Task[None], grace_seconds: float = 30.0
) -> None:
    """Stop the way aiogram expects: cancelling start_polling's task would leave its
    inner polling task running. Before polling has started, cancelling is fine. Then
    the updates still being handled finish (their answers go out) before the caller
    closes the bot's session."""
    try:
        await dispatcher.stop_polling()
    except RuntimeError:  # "Polling is not started": still connecting, or webhook mode
        running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    in_flight: InFlight = dispatcher["in_flight"]
    unfinished = await in_flight.finished(within=grace_seconds)
    if unfinished:
        log.warning("telegram.updates_unfinished_at_shutdown", count=unfinished)
