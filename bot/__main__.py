"""Entry point: ``python -m bot`` wires settings, storage, Rasa and the channels into one app.

This is the only module of ``bot`` that knows aiohttp's web server; the core
services are built here and handed to the adapters in ``handlers/``.
"""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
import structlog
from aiohttp import web

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.content.profile import load_profile
from bot.conversation.language import LanguageChooser
from bot.conversation.service import ConversationService
from bot.conversation.throttle import Throttle
from bot.dialogue.actions import Services
from bot.dialogue.rasa_client import RasaClient
from bot.dialogue.rasa_process import RasaProcess
from bot.dialogue.registry import default_registry
from bot.followups.followups import Runner, Sender
from bot.logs import configure_logging
from bot.settings import Settings
from bot.storage.engine import create_engine, migrate, session_factory
from handlers import api, bookings, rasa_actions, telegram
from handlers import web as web_chat
from handlers.context import (
    ACTIONS,
    CATALOG,
    CLOCK,
    ENGINE,
    FOLLOWUPS,
    LANGUAGES,
    RASA,
    RASA_PROCESS,
    RASA_TOKEN,
    SERVICE,
    SESSIONS,
    SETTINGS,
    TELEGRAM_BOT,
    TELEGRAM_DELIVERY,
    TELEGRAM_DISPATCHER,
)
from handlers.errors import json_errors, ops_auth
from handlers.telegram.delivery import Delivery
from handlers.telegram.turns import Turns

log = structlog.get_logger(__name__)


async def storage(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    await migrate(engine)
    app[ENGINE] = engine
    app[SESSIONS] = session_factory(engine)
    yield
    await engine.dispose()


async def rasa(app: web.Application) -> AsyncIterator[None]:
    """Start Rasa (unless RASA_URL names a running one) and the services that use it."""
    settings = app[SETTINGS]
    secret = settings.rasa_token
    token = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
    process: RasaProcess | None = None
    if settings.rasa_managed:
        process = RasaProcess(
            venv=settings.rasa_venv,
            project_dir=settings.rasa_project_dir,
            model=settings.rasa_model,
            port=settings.rasa_port,
            token=token,
            action_endpoint_url=f"http://127.0.0.1:{settings.port}/webhooks/rasa/actions",
            start_timeout=settings.rasa_start_timeout_seconds,
            restart_delay=settings.rasa_restart_delay_seconds,
            credentials=settings.rasa_credentials,
        )
        app[RASA_PROCESS] = process
    client = RasaClient(
        process.url if process else str(settings.rasa_url), token, settings.rasa_timeout_seconds
    )
    app[RASA_TOKEN] = token
    app[RASA] = client
    app[CATALOG] = Catalog.load(load_profile(settings.business_profile), settings.default_language)
    app[ACTIONS] = default_registry(app[SESSIONS], Services(app[CATALOG], app[CLOCK]))
    app[LANGUAGES] = await asyncio.to_thread(LanguageChooser)  # loads models: ~1.5 s
    app[SERVICE] = ConversationService(
        app[SESSIONS],
        client,
        app[CATALOG],
        app[LANGUAGES],
        clock=app[CLOCK],
        default_language=settings.default_language,
        max_message_chars=settings.max_message_chars,
    )
    if process is not None:
        await process.start()
    yield
    await client.close()
    if process is not None:
        await process.stop()


async def telegram_channel(app: web.Application) -> AsyncIterator[None]:
    """Give the dispatcher its services, then poll Telegram or register our webhook
    (in the background: Telegram being unreachable must not keep the web chat down)."""
    settings, bot, dispatcher = app[SETTINGS], app[TELEGRAM_BOT], app[TELEGRAM_DISPATCHER]
    delivery = Delivery(bot, app[SESSIONS], app[CATALOG], app[CLOCK])
    app[TELEGRAM_DELIVERY] = delivery
    throttle = Throttle(settings.telegram_throttle_messages, settings.telegram_throttle_seconds)
    dispatcher["sessions"] = app[SESSIONS]
    dispatcher["turns"] = Turns(app[SERVICE], delivery, throttle)
    running = asyncio.create_task(telegram.connect(settings, bot, dispatcher))
    yield
    await telegram.disconnect(dispatcher, running)
    await bot.session.close()


async def followup_runner(app: web.Application) -> AsyncIterator[None]:
    """Send due reminders, NPS questions and nudges every few seconds, in the background."""
    senders: dict[str, Sender] = {"web": web_chat.deliver(app)}
    if TELEGRAM_DELIVERY in app:
        senders["telegram"] = app[TELEGRAM_DELIVERY].followup
    runner = Runner(app[SESSIONS], app[CATALOG], app[CLOCK], senders=senders)
    app[FOLLOWUPS] = runner
    interval = app[SETTINGS].followup_interval_seconds

    async def loop() -> None:
        while True:
            try:
                await runner.run_due()
            except Exception:  # a bad row or a database restart must not stop the loop
                log.exception("followups.run_failed")
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """The whole app; tests pass a ManualClock to move time for bookings and follow-ups."""
    app = web.Application(
        client_max_size=settings.max_action_request_bytes,  # read_body keeps the public limit
        middlewares=[json_errors, ops_auth],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app.cleanup_ctx.extend([storage, rasa])
    if settings.telegram_bot_token is not None:
        # Built here, not at start-up: the webhook route must exist before the app starts.
        bot = telegram.create_bot(settings)
        dispatcher = telegram.create_dispatcher()
        app[TELEGRAM_BOT], app[TELEGRAM_DISPATCHER] = bot, dispatcher
        if settings.telegram_webhook_url:
            handler = telegram.WebhookHandler(
                dispatcher, bot, secret_token=settings.telegram_secret
            )
            handler.register(app, path=telegram.WEBHOOK_PATH)
        app.cleanup_ctx.append(telegram_channel)
    app.cleanup_ctx.append(followup_runner)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.add_routes(api.routes)
    app.add_routes(bookings.routes)
    app.add_routes(rasa_actions.routes)
    app.add_routes(web_chat.routes)
    return app


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: log.info("serving", web_chat=f"{settings.base_url}/"),
    )


if __name__ == "__main__":
    main()
