"""What the bot said and whether it arrived: outbound touchpoints as an outbox.

A reply is stored ``queued`` with the turn and becomes ``delivered`` only when
its channel confirmed it: Telegram's answer to sendMessage, the widget's ack.
Until then it is sent again (on the widget's next connect, on Telegram's
redelivery of the message it answers), and a channel that gives up marks it
``failed``, so the team sees who is waiting for an answer.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.messages import OutboundMessage
from bot.crm import touchpoints
from bot.storage.models import Conversation, Touchpoint

# What a channel could do with a message sent outside a turn (a follow-up, a rep's
# words): "delivered" (confirmed: Telegram keeps it for an offline user), "sent" (to an
# open widget, confirmed by its ack soon), "queued" (nobody there: the next visit).
Delivery = Literal["delivered", "sent", "queued"]
# Sends one stored message (its touchpoint id given) to the conversation's prospect.
Sender = Callable[[Conversation, OutboundMessage, int], Awaitable[Delivery]]


def store(
    session: AsyncSession,
    conversation: Conversation,
    message: OutboundMessage,
    at: datetime,
    *,
    author: str = "bot",
    status: str = "queued",
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> Touchpoint:
    """A message to the prospect on the timeline, kept whole (``message_of`` rebuilds it),
    ``queued`` until its channel confirms it."""
    return touchpoints.record(
        session, conversation, direction="out", author=author, text=message.text,
        status=status, data={"reply": message.stored()} | (data or {}), at=at, **fields,
    )  # fmt: skip


def message_of(touchpoint: Touchpoint) -> OutboundMessage:
    return OutboundMessage.from_stored(touchpoint.data.get("reply") or {}, touchpoint.text)


async def replies_to(session: AsyncSession, inbound_id: int) -> list[Touchpoint]:
    """The stored replies to one inbound message, in the order they were said."""
    query = select(Touchpoint).where(Touchpoint.reply_to_id == inbound_id).order_by(Touchpoint.id)
    return list(await session.scalars(query))


async def waiting(session: AsyncSession, conversation_id: int) -> list[Touchpoint]:
    """Messages to the prospect no channel has confirmed yet, oldest first."""
    query = (
        select(Touchpoint)
        .where(
            Touchpoint.conversation_id == conversation_id,
            Touchpoint.direction == "out",
            Touchpoint.status == "queued",
        )
        .order_by(Touchpoint.id)
    )
    return list(await session.scalars(query))


async def history(session: AsyncSession, conversation_id: int, limit: int) -> list[Touchpoint]:
    """The conversation so far as the prospect saw it, oldest first: what they wrote
    (not the payloads of pressed buttons) and what reached them."""
    query = (
        select(Touchpoint)
        .where(
            Touchpoint.conversation_id == conversation_id,
            Touchpoint.text.is_not(None),
            ((Touchpoint.direction == "in") & ~Touchpoint.text.startswith("/"))
            | ((Touchpoint.direction == "out") & (Touchpoint.status == "delivered")),
        )
        .order_by(Touchpoint.id.desc())
        .limit(limit)
    )
    return list(reversed(list(await session.scalars(query))))


async def mark_delivered(
    session: AsyncSession, ids: list[int], conversation_id: int | None = None
) -> int:
    """Confirmed by the channel; ``conversation_id`` keeps a visitor to their own messages."""
    if not ids:
        return 0
    query = update(Touchpoint).where(
        Touchpoint.id.in_(ids), Touchpoint.direction == "out", Touchpoint.status == "queued"
    )
    if conversation_id is not None:
        query = query.where(Touchpoint.conversation_id == conversation_id)
    result = await session.execute(query.values(status="delivered"))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_failed(session: AsyncSession, ids: list[int], error: str) -> None:
    """Outbound messages a channel could not deliver, after its retries."""
    for touchpoint in await session.scalars(select(Touchpoint).where(Touchpoint.id.in_(ids))):
        touchpoint.status = "failed"
        touchpoint.data = touchpoint.data | {"error": error[:500]}
