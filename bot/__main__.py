"""Entry point: ``python -m bot`` wires settings, storage, Rasa and the channels into one app.

This is the only module of ``bot`` that knows aiohttp's web server; the core
services are built here and handed to the adapters in ``handlers/``. The app
owns every resource's life (``cleanup_ctx``); the parts with rules of their
own are sub-apps: the ops API (its token) and Rasa's action webhook (its
token, its body limit).
"""

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp_jinja2
import jinja2
import structlog
from aiohttp import web
from redis.asyncio import Redis

from bot import metrics as counters
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.content.profile import load_profile
from bot.conversation.language import LanguageChooser
from bot.conversation.locks import SharedLocks
from bot.conversation.outbox import Sender
from bot.conversation.service import ConversationService
from bot.conversation.steps import default_steps
from bot.conversation.throttle import Throttle, storage_at
from bot.conversation.wording import Wording
from bot.dialogue.actions import Services
from bot.dialogue.rasa_client import RasaClient
from bot.dialogue.rasa_process import RasaProcess
from bot.dialogue.registry import default_registry
from bot.followups.runner import Runner
from bot.handoff.desk import Desks
from bot.handoff.feed import Feed
from bot.handoff.service import HandoffService, Timing
from bot.handoff.triggers import Triggers
from bot.logs import configure_logging
from bot.settings import Settings
from bot.staff import command
from bot.storage.bus import Bus
from bot.storage.engine import create_engine, migrate, session_factory
from handlers import health, metrics, rasa_actions
from handlers.api import chat, ops
from handlers.console import app as console
from handlers.context import (
    ACTIONS,
    BODY_LIMIT,
    CATALOG,
    CLOCK,
    ENGINE,
    FOLLOWUPS,
    HANDOFFS,
    INBOX,
    LANGUAGES,
    LIVE_SOCKETS,
    RASA,
    RASA_PROCESSES,
    RASA_TOKEN,
    RATE_LIMITS,
    REDIS,
    SERVICE,
    SESSIONS,
    SETTINGS,
    TELEGRAM_BOT,
    TELEGRAM_DELIVERY,
    TELEGRAM_DISPATCHER,
)
from handlers.errors import body_limit, json_errors
from handlers.telegram import channel as telegram
from handlers.telegram.delivery import Delivery
from handlers.telegram.desk import TelegramDesk
from handlers.telegram.turns import Turns
from handlers.web import pages, socket
from handlers.web.live import LiveSockets

log = structlog.get_logger(__name__)
ACTIONS_PATH = "/webhooks/rasa"


async def storage(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url)
    await migrate(engine)
    app[ENGINE] = engine
    app[SESSIONS] = session_factory(engine)
    yield
    await engine.dispose()


async def replicas(app: web.Application) -> AsyncIterator[None]:
    """The production mode (REDIS_URL): hear the other replicas' pushes to widgets and
    inboxes, and close the Redis connections at the end."""
    if REDIS not in app:
        yield
        return
    bus = Bus(app[REDIS])
    app[LIVE_SOCKETS].bus = app[INBOX].bus = bus
    topics = {"live": app[LIVE_SOCKETS].heard, "inbox": app[INBOX].heard}
    ready = {topic: asyncio.Event() for topic in topics}
    listening = [asyncio.create_task(bus.listen(t, heard, ready[t])) for t, heard in topics.items()]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready.values())), 30)
    yield
    for task in listening:
        task.cancel()
    await asyncio.gather(*listening, return_exceptions=True)
    await app[REDIS].aclose()


async def rasa(app: web.Application) -> AsyncIterator[None]:
    """Start Rasa (unless RASA_URL names a running one) and the services that use it."""
    settings = app[SETTINGS]
    secret = settings.rasa_token
    token = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
    processes = _rasa_processes(settings, token) if settings.rasa_managed else []
    app[RASA_PROCESSES] = processes
    client = RasaClient(
        settings.rasa_urls, token, settings.rasa_timeout_seconds,
        in_flight=settings.rasa_in_flight, busy_after=settings.rasa_busy_notice_seconds,
        trackers=settings.rasa_trackers,
    )  # fmt: skip
    app[RASA_TOKEN] = token
    app[RASA] = client
    counters.watch_queue(lambda: client.waiting, lambda: client.busy)
    await _services(app, client)
    try:
        await asyncio.gather(*(process.start() for process in processes))
        yield
    finally:
        await client.close()
        await asyncio.gather(*(process.stop() for process in processes))


def _rasa_processes(settings: Settings, token: str) -> list[RasaProcess]:
    """RASA_WORKERS Rasa servers on consecutive ports, each with its tracker store and,
    when there are several, its share of the cores."""
    settings.rasa_tracker_dir.mkdir(parents=True, exist_ok=True)
    workers = len(settings.rasa_trackers)
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else 0
    return [
        RasaProcess(
            venv=settings.rasa_venv,
            project_dir=settings.rasa_project_dir,
            model=settings.rasa_model,
            port=settings.rasa_port + n,
            token=token,
            action_endpoint_url=f"http://127.0.0.1:{settings.port}{ACTIONS_PATH}/actions",
            start_timeout=settings.rasa_start_timeout_seconds,
            restart_delay=settings.rasa_restart_delay_seconds,
            credentials=settings.rasa_credentials,
            tracker_url=tracker,
            threads=threads,
        )
        for n, tracker in enumerate(settings.rasa_trackers)
    ]


async def _services(app: web.Application, client: RasaClient) -> None:
    """The conversation service and the custom actions, on the business's catalog."""
    settings = app[SETTINGS]
    app[CATALOG] = Catalog.load(load_profile(settings.business_profile), settings.default_language)
    app[ACTIONS] = default_registry(app[SESSIONS], Services(app[CATALOG], app[CLOCK]))
    app[LANGUAGES] = await asyncio.to_thread(LanguageChooser)  # loads models: ~1.5 s
    counts = app[RATE_LIMITS]
    throttles = {
        "telegram": Throttle("telegram", settings.telegram_throttle_messages,
                             settings.telegram_throttle_seconds, counts),
        "web": Throttle("web", settings.web_throttle_messages, settings.web_throttle_seconds,
                        counts),
    }  # fmt: skip
    by_address = Throttle(
        "address", settings.address_throttle_messages, settings.address_throttle_seconds, counts
    )
    wording = Wording(app[CATALOG])
    handoffs = HandoffService(
        app[SESSIONS], wording, client, app[CLOCK], base_url=settings.base_url,
        timing=Timing(timedelta(minutes=settings.handoff_escalate_minutes),
                      timedelta(minutes=settings.handoff_give_up_minutes)),
        senders={"web": socket.followup_sender(app)}, desk=app[INBOX],
    )  # fmt: skip
    app[HANDOFFS] = handoffs
    app[SERVICE] = ConversationService(
        app[SESSIONS],
        client,
        wording,
        app[LANGUAGES],
        clock=app[CLOCK],
        default_language=settings.default_language,
        steps=default_steps(settings.max_message_chars, throttles, handoffs, by_address),
        triggers=Triggers(handoffs),
        locks=SharedLocks(app[REDIS]) if REDIS in app else None,
    )


async def telegram_channel(app: web.Application) -> AsyncIterator[None]:
    """Give the dispatcher its services, then poll Telegram or register our webhook
    (in the background: Telegram being unreachable must not keep the web chat down)."""
    settings, bot, dispatcher = app[SETTINGS], app[TELEGRAM_BOT], app[TELEGRAM_DISPATCHER]
    delivery = Delivery(bot, app[SESSIONS], app[CATALOG], app[CLOCK])
    app[TELEGRAM_DELIVERY] = delivery
    dispatcher["turns"] = Turns(app[SERVICE], delivery)
    handoffs = app[HANDOFFS]
    handoffs.senders["telegram"] = delivery.followup
    if settings.telegram_reps_chat_id is not None:
        desk = TelegramDesk(
            bot, app[SESSIONS], app[CATALOG], settings.telegram_reps_chat_id,
            settings.default_language,
        )  # fmt: skip
        dispatcher["desk"] = desk
        handoffs.desk = Desks(app[INBOX], desk)
        dispatcher["handoffs"] = handoffs
    running = asyncio.create_task(telegram.connect(settings, bot, dispatcher))
    yield
    await telegram.disconnect(dispatcher, running)
    await bot.session.close()


async def close_sockets(app: web.Application) -> None:
    """Open widgets are told the server goes away, so each reconnects to a running app;
    open inboxes end their event streams (the browser reconnects them)."""
    app[INBOX].close()
    await app[LIVE_SOCKETS].close_all()


async def followup_runner(app: web.Application) -> AsyncIterator[None]:
    """Send due reminders, NPS questions and nudges every few seconds, in the background."""
    senders: dict[str, Sender] = {"web": socket.followup_sender(app)}
    if TELEGRAM_DELIVERY in app:
        senders["telegram"] = app[TELEGRAM_DELIVERY].followup
    runner = Runner(
        app[SESSIONS], app[CATALOG], app[CLOCK], senders=senders,
        handoff_timer=app[HANDOFFS].on_timer,
    )  # fmt: skip
    app[FOLLOWUPS] = runner
    interval = app[SETTINGS].followup_interval_seconds

    async def loop() -> None:
        while True:
            try:
                await runner.run_due()
            except Exception:  # a database restart must not stop the loop
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
        client_max_size=settings.max_request_bytes, middlewares=[json_errors, body_limit]
    )
    app[SETTINGS] = settings
    app[BODY_LIMIT] = settings.max_request_bytes
    app[CLOCK] = clock or Clock()
    app[RATE_LIMITS] = storage_at(settings.rate_limit_storage_url)
    if settings.redis_url is not None:  # connects on first use
        app[REDIS] = Redis.from_url(settings.redis_url.get_secret_value())
    app[LIVE_SOCKETS] = LiveSockets()
    app[INBOX] = Feed()
    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.extend([storage, replicas, rasa])
    if settings.telegram_bot_token is not None:
        _add_telegram(app, settings)
    app.cleanup_ctx.append(followup_runner)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("handlers.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    for routes in (health.routes, pages.routes, socket.routes):
        app.add_routes(routes)
    app.add_subapp("/api/v1/chat", chat.create_app(settings.max_request_bytes))
    app.add_subapp("/metrics", metrics.create_app())
    counters.count_rows()
    app.add_subapp("/api/v1", ops.create_app(settings.max_request_bytes))
    app.add_subapp(ACTIONS_PATH, rasa_actions.create_app(settings.max_action_request_bytes))
    app.add_subapp("/console", console.create_app(settings, app[RATE_LIMITS]))
    return app


def _add_telegram(app: web.Application, settings: Settings) -> None:
    """Built here, not at start-up: the webhook route must exist before the app starts."""
    bot = telegram.create_bot(settings)
    dispatcher = telegram.create_dispatcher(settings.telegram_reps_chat_id, app.get(REDIS))
    app[TELEGRAM_BOT], app[TELEGRAM_DISPATCHER] = bot, dispatcher
    if settings.telegram_webhook_url:
        handler = telegram.WebhookHandler(dispatcher, bot, secret_token=settings.telegram_secret)
        handler.register(app, path=telegram.WEBHOOK_PATH)
    app.cleanup_ctx.append(telegram_channel)


def main() -> None:
    """``python -m bot`` runs the bot; ``python -m bot users ...`` manages the console's users."""
    settings = Settings()
    if sys.argv[1:2] == ["users"]:
        sys.exit(asyncio.run(command.run(sys.argv[2:], settings)))
    configure_logging(settings.log_level, settings.log_json)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: log.info("serving", web_chat=f"{settings.base_url}/"),
    )


if __name__ == "__main__":
    main()
