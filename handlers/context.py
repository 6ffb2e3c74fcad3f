"""Typed keys for what the app shares with its handlers (set up in bot/__main__.py)."""

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.actions import ActionRegistry
from bot.catalog import Catalog
from bot.clock import Clock
from bot.conversation import ConversationService
from bot.followups import Runner
from bot.language import LanguageChooser
from bot.rasa_client import RasaClient
from bot.rasa_process import RasaProcess
from bot.settings import Settings
from handlers.telegram.delivery import Delivery

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
RASA_TOKEN = web.AppKey("rasa_token", str)
RASA = web.AppKey("rasa", RasaClient)
RASA_PROCESS = web.AppKey("rasa_process", RasaProcess)
SERVICE = web.AppKey("conversation_service", ConversationService)
ACTIONS = web.AppKey("actions", ActionRegistry)
LANGUAGES = web.AppKey("languages", LanguageChooser)
CATALOG = web.AppKey("catalog", Catalog)
CLOCK = web.AppKey("clock", Clock)
FOLLOWUPS = web.AppKey("followups", Runner)
TELEGRAM_BOT = web.AppKey("telegram_bot", Bot)
TELEGRAM_DISPATCHER = web.AppKey("telegram_dispatcher", Dispatcher)
TELEGRAM_DELIVERY = web.AppKey("telegram_delivery", Delivery)
