"""Prospects in private chats: /start with a source code, text, buttons, a shared contact.

Each handler only turns the Telegram event into the one InboundMessage type
and hands it to Turns; the conversation service does the rest.
"""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, Update, User

from bot.conversation.messages import InboundMessage
from handlers.telegram.turns import Turns

SOURCE_PREFIX = "src_"  # t.me/<bot>?start=src_instagram


def inbound(
    update: Update, chat_id: int, user: User | None, text: str, **fields: object
) -> InboundMessage:
    """The update as our one inbound type; its update id is the idempotency key."""
    return InboundMessage(
        channel="telegram",
        sender=str(chat_id),
        text=text,
        language_hint=user.language_code if user else None,
        idempotency_key=f"tg:{update.update_id}",
        **fields,  # type: ignore[arg-type]
    )


async def start(
    message: Message, command: CommandObject, event_update: Update, turns: Turns
) -> None:
    """/start is a greeting; a deep-link code after it is where the prospect came from."""
    code = (command.args or "").strip()
    metadata = {"command": message.text or "/start"}
    if code:
        metadata["source"] = code.removeprefix(SOURCE_PREFIX)
    greeting = inbound(
        event_update, message.chat.id, message.from_user, "/greet", metadata=metadata
    )
    await turns.take(message.chat.id, greeting)


async def contact(message: Message, event_update: Update, turns: Turns) -> None:
    """A phone shared with the button is the prospect's own: saved with the name on the
    contact card, never asked again."""
    assert message.contact is not None
    phone = message.contact.phone_number
    if phone.isdigit():  # Telegram sends the international number without its "+"
        phone = f"+{phone}"
    own = message.from_user is not None and message.contact.user_id == message.from_user.id
    name = " ".join(filter(None, (message.contact.first_name, message.contact.last_name)))
    metadata = {"shared_phone": phone, "shared_name": name} if own else {}
    shared = inbound(event_update, message.chat.id, message.from_user, phone, metadata=metadata)
    await turns.take(message.chat.id, shared)


async def text(message: Message, event_update: Update, turns: Turns) -> None:
    assert message.text is not None
    typed = inbound(event_update, message.chat.id, message.from_user, message.text)
    await turns.take(message.chat.id, typed)


async def button(query: CallbackQuery, event_update: Update, turns: Turns) -> None:
    """A pressed button sends its payload, exactly as a typed payload would."""
    await query.answer()  # stops the spinner on the button at once
    assert query.message is not None and query.data is not None
    chat_id = query.message.chat.id
    await turns.take(chat_id, inbound(event_update, chat_id, query.from_user, query.data))


def create_router() -> Router:
    """A new router per dispatcher (a router joins one dispatcher only: tests build many)."""
    router = Router(name="prospects")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    router.message.register(start, CommandStart())
    router.message.register(contact, F.contact)
    router.message.register(text, F.text)
    router.callback_query.register(button, F.data)
    return router
