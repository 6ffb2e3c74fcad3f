"""The sales reps' group chat (``TELEGRAM_REPS_CHAT_ID``): take a handoff, answer the
prospect by replying, read the transcript, hand the conversation back to the bot.

Only members of that group act as reps, each known by their Telegram user. A
rep answers by replying (Telegram's reply) to the card or to any message of
that handoff; replying to a handoff nobody took yet takes it. Other groups,
and anything else said in this one, are ignored: a group is never a prospect.
"""

from functools import partial

import structlog
from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, Update, User

from bot.handoff.service import HandoffClosed, HandoffNotFound, HandoffService, TakenByOther
from handlers.telegram.desk import RELEASE, TAKE, TRANSCRIPT, TelegramDesk

log = structlog.get_logger(__name__)


def rep_of(user: User) -> tuple[str, str]:
    """The rep's name as the prospect sees it, and their key."""
    return user.full_name, f"telegram:{user.id}"


async def take(query: CallbackQuery, handoffs: HandoffService, desk: TelegramDesk) -> None:
    assert query.data is not None
    name, key = rep_of(query.from_user)
    claim = await handoffs.claim(int(query.data.removeprefix(TAKE)), name, key)
    if claim.won:
        await query.answer(desk.catalog.render("reps.yours", desk.language))
    else:
        text = desk.catalog.render("reps.has_it", desk.language, rep=claim.card["rep"] or "?")
        await query.answer(text, show_alert=True)


async def transcript(query: CallbackQuery, handoffs: HandoffService, desk: TelegramDesk) -> None:
    assert query.data is not None
    handoff_id = int(query.data.removeprefix(TRANSCRIPT))
    await query.answer()
    await desk.send_transcript(
        await handoffs.card(handoff_id), await handoffs.transcript(handoff_id)
    )


async def release(query: CallbackQuery, handoffs: HandoffService, desk: TelegramDesk) -> None:
    assert query.data is not None
    name, key = rep_of(query.from_user)
    try:
        await handoffs.release(int(query.data.removeprefix(RELEASE)), by=name, rep_key=key)
    except TakenByOther as other:
        text = desk.catalog.render("reps.has_it", desk.language, rep=other.rep or "?")
        await query.answer(text, show_alert=True)
        return
    except HandoffClosed:
        pass
    await query.answer()


async def answer(
    message: Message, event_update: Update, handoffs: HandoffService, desk: TelegramDesk
) -> None:
    """A rep's reply to a handoff's message goes to that handoff's prospect."""
    assert message.reply_to_message is not None and message.from_user is not None
    handoff_id = await desk.handoff_of(message.reply_to_message.message_id)
    if handoff_id is None or not message.text:
        return
    name, key = rep_of(message.from_user)
    say = partial(desk.catalog.render, language=desk.language)
    try:
        said = await handoffs.say(
            handoff_id, name, key, message.text, key=f"tg:{event_update.update_id}"
        )
    except TakenByOther as other:
        await message.reply(say("reps.has_it", rep=other.rep or "?"))
    except HandoffClosed:
        await message.reply(say("reps.closed"))
    except HandoffNotFound as error:
        log.info("telegram.rep_reply_ignored", handoff_id=handoff_id, reason=str(error))
    else:
        if said.delivery == "queued":  # a web visitor who closed the widget: it waits
            lead = said.card["lead"]
            await message.reply(say("reps.queued", name=lead["name"] or f"#{lead['id']}"))


async def ignored(message: Message) -> None:
    log.debug("telegram.group_message_ignored", chat_id=message.chat.id)


def create_router(reps_chat_id: int | None) -> Router:
    """The reps' chat gets the handoff handlers; every other group is silence."""
    router = Router(name="reps")
    groups = F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP})
    if reps_chat_id is not None:
        in_reps = F.message.chat.id == reps_chat_id
        router.callback_query.register(take, in_reps, F.data.startswith(TAKE))
        router.callback_query.register(transcript, in_reps, F.data.startswith(TRANSCRIPT))
        router.callback_query.register(release, in_reps, F.data.startswith(RELEASE))
        router.message.register(answer, F.chat.id == reps_chat_id, F.reply_to_message, F.text)
    router.message.register(ignored, groups)
    return router
