"""A prospect's turn on Telegram: the chat's budget, the conversation service, the replies.

Every prospect handler ends here, so the throttle sits in this one call
rather than in a middleware: a throttled message must still be stored (nothing
a prospect sends is lost), and only the handler knows how to turn its event
(text, button, contact, sticker) into the InboundMessage to store.
"""

import time

import structlog
from aiogram.exceptions import TelegramAPIError

from bot.conversation.messages import InboundMessage
from bot.conversation.service import ConversationService
from bot.conversation.throttle import Throttle, Verdict
from handlers.telegram.delivery import Delivery

log = structlog.get_logger(__name__)


class Turns:
    def __init__(
        self, service: ConversationService, delivery: Delivery, throttle: Throttle
    ) -> None:
        self.service = service
        self.delivery = delivery
        self.throttle = throttle

    async def take(self, chat_id: int, message: InboundMessage) -> None:
        verdict = self.throttle.check(message.sender, time.monotonic())
        if verdict is Verdict.OK:
            result = await self.service.handle(message)
        else:
            result = await self.service.hold(message, notice=verdict is Verdict.NOTICE)
        try:
            await self.delivery.send(chat_id, result.replies, result.language)
        except TelegramAPIError as error:  # retried already: blocked bot, chat gone, long ban
            log.error("telegram.undelivered", chat_id=chat_id, error=str(error))
            await self.service.undelivered(result, f"telegram: {error}")
