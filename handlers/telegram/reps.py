"""The sales reps' group chat: the place for the human handoff (rep inbox, replies
through the bot, taking the conversation back).

Until the handoff lands, the bot stays silent in groups: a group is never a
prospect, so its messages must not start a lead or reach Rasa.
"""

import structlog
from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message

log = structlog.get_logger(__name__)


async def group_message(message: Message) -> None:
    log.debug("telegram.group_message_ignored", chat_id=message.chat.id)


def create_router() -> Router:
    router = Router(name="reps")
    router.message.filter(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
    router.message.register(group_message)
    return router
