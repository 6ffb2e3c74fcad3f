"""Typed keys for what the app shares with its handlers (set up in bot/__main__.py)."""

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.conversation.language import LanguageChooser
from bot.conversation.service import ConversationService
from bot.dialogue.rasa_client import RasaClient
from bot.dialogue.rasa_process import RasaProcess
from bot.dialogue.registry import ActionRegistry
from bot.followups.followups import Runner
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
