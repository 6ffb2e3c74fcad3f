"""Anything a prospect sends that is not text (stickers, voice, photos, files, locations).

Included after the other prospect routers, so it only sees what they did not
take. The message is stored as a touchpoint of its kind and answered with a
clear "I can only read text"; a caption is kept as its text.
"""

from aiogram import F, Router
from aiogram.enums import ChatType, ContentType
from aiogram.types import Message, Update

from handlers.telegram.prospects import inbound
from handlers.telegram.turns import Turns


async def unsupported(message: Message, event_update: Update, turns: Turns) -> None:
    content = ContentType(message.content_type).value  # "sticker", not the enum's repr
    caption = message.caption or ""
    stored = inbound(event_update, message.chat.id, message.from_user, caption, content=content)
    await turns.take(message.chat.id, stored)


def create_router() -> Router:
    router = Router(name="unsupported")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(unsupported)
    return router
