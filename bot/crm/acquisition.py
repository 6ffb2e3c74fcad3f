"""Where a lead came from: a channel's tracking code, or the prospect's own answer.

A known source (the web page's utm_source, a Telegram deep-link code) is
stored at first contact. When it stays unknown, the bot asks once, at a
natural moment (a thank-you, a goodbye, praise) rather than interrupting a
question, and takes the answer from the buttons it offers.
"""

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import touchpoints
from bot.storage.models import Conversation, Lead

ANSWERS = ("instagram", "facebook", "google", "friend", "other")
ANSWER_PAYLOAD = re.compile(rf"^source:({'|'.join(ANSWERS)})$")
NATURAL_MOMENTS = frozenset({"thank", "goodbye", "give_feedback", "affirm"})
SOURCE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def clean_code(code: object) -> str | None:
    """A tracking code as we store it (letters, digits, _ . -), or None."""
    if not isinstance(code, str):
        return None
    value = code.strip().lower()
    return value if SOURCE_CODE.match(value) else None


def answer_in(text: str) -> str | None:
    """The source a prospect picked with one of our buttons, if this message is one."""
    match = ANSWER_PAYLOAD.match(text.strip().lower())
    return match.group(1) if match else None


def should_ask(lead: Lead, intent: str | None) -> bool:
    return lead.source is None and lead.source_asked_at is None and intent in NATURAL_MOMENTS


def mark_asked(lead: Lead, at: datetime) -> None:
    lead.source_asked_at = at


def set_source(
    session: AsyncSession, conversation: Conversation, source: str, *, how: str, at: datetime
) -> None:
    """Store where the lead came from, with how we learnt it, on its timeline."""
    conversation.lead.source = source
    touchpoints.record_event(
        session, conversation.lead, "source", {"source": source, "how": how},
        conversation=conversation, author="prospect", at=at,
    )  # fmt: skip
