"""A prospect's turn on Telegram: the conversation service, then the replies, confirmed.

Every prospect handler ends here. A reply counts as delivered once Telegram
answered its sendMessage; replies of a redelivered update that never went out
(the app stopped before sending them) go out now, the others not again.
"""

from dataclasses import replace

import structlog
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError

from bot.conversation.messages import InboundMessage
from bot.conversation.service import ConversationService
from handlers.telegram.delivery import Delivery

log = structlog.get_logger(__name__)


class Turns:
    def __init__(self, service: ConversationService, delivery: Delivery) -> None:
        self.service = service
        self.delivery = delivery

    async def take(self, chat_id: int, message: InboundMessage) -> None:
        message = replace(message, on_busy=lambda: self._typing(chat_id))
        result = await self.service.handle(message)
        sent: list[int] = []
        waiting = result.undelivered()
        try:
            for reply_id, reply in waiting:
                await self.delivery.send(chat_id, [reply], result.language)
                sent.append(reply_id)
        except TelegramAPIError as error:  # retried already: blocked bot, chat gone, long ban
            log.error("telegram.undelivered", chat_id=chat_id, error=str(error))
            failed = [reply_id for reply_id, _ in waiting if reply_id not in sent]
            await self.service.undelivered(failed, f"telegram: {error}")
        finally:
            await self.service.delivered(sent)

    async def _typing(self, chat_id: int) -> None:
        """The turn waits for Rasa (a rush): Telegram shows "typing..." meanwhile."""
        await self.delivery.bot.send_chat_action(chat_id, ChatAction.TYPING)
