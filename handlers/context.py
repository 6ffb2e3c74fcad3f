"""Typed keys for what the app shares with its handlers (set up in bot/__main__.py).

Sub-apps (the ops API, the action webhook) read them with ``request.config_dict``,
which looks in the sub-app first and then in the app it is mounted on.
"""

from aiogram import Bot, Dispatcher
from aiohttp import web
from limits.aio.storage import Storage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation.language import LanguageChooser
from bot.conversation.service import ConversationService
from bot.dialogue.rasa_client import RasaClient
from bot.dialogue.rasa_process import RasaProcess
from bot.dialogue.registry import ActionRegistry
from bot.followups.runner import Runner
from bot.handoff.feed import Feed
from bot.handoff.service import HandoffService
from bot.settings import Settings
from handlers.telegram.delivery import Delivery
from handlers.web.live import LiveSockets

SETTINGS = web.AppKey("settings", Settings)
BODY_LIMIT = web.AppKey("body_limit", int)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
RASA_TOKEN = web.AppKey("rasa_token", str)
RASA = web.AppKey("rasa", RasaClient)
REDIS = web.AppKey("redis", Redis)  # the production mode: what replicas share
RATE_LIMITS = web.AppKey("rate_limits", Storage)  # limits' counters: memory or Redis
RASA_PROCESSES = web.AppKey("rasa_processes", list[RasaProcess])  # managed ones
SERVICE = web.AppKey("conversation_service", ConversationService)
ACTIONS = web.AppKey("actions", ActionRegistry)
LANGUAGES = web.AppKey("languages", LanguageChooser)
CATALOG = web.AppKey("catalog", Catalog)
CLOCK = web.AppKey("clock", Clock)
FOLLOWUPS = web.AppKey("followups", Runner)
HANDOFFS = web.AppKey("handoffs", HandoffService)
INBOX = web.AppKey("inbox", Feed)  # handoff changes, for the console's open inboxes
LIVE_SOCKETS = web.AppKey("live_sockets", LiveSockets)
TELEGRAM_BOT = web.AppKey("telegram_bot", Bot)
TELEGRAM_DISPATCHER = web.AppKey("telegram_dispatcher", Dispatcher)
TELEGRAM_DELIVERY = web.AppKey("telegram_delivery", Delivery)
