"""The NPS answer: a bare 0-10 right after the bot asked "would you recommend us?".

The answer is stored on the question's row and on the lead's timeline, and
moves the journey: retention, or advocacy for a 9 or 10.
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import journey, touchpoints
from bot.crm.contacts import ascii_digits
from bot.storage.models import Conversation, FollowUp, Lead

ANSWER_WITHIN = timedelta(days=14)
PROMOTER = 9
PASSIVE = 7
ANSWER = re.compile(r"^\s*(?:nps:)?(10|[0-9])\s*(?:/\s*10)?\s*[.!]?\s*$")


def score_in(text: str) -> int | None:
    """A bare 0-10 (any digits, "8/10", or the button's "nps:8"), else None."""
    match = ANSWER.match(ascii_digits(text))
    return int(match.group(1)) if match else None


async def open_question(session: AsyncSession, lead_id: int, now: datetime) -> FollowUp | None:
    """The NPS question this lead was asked and has not answered yet, if recent."""
    query = (
        select(FollowUp)
        .where(
            FollowUp.lead_id == lead_id,
            FollowUp.kind == "nps",
            FollowUp.status == "sent",
            FollowUp.sent_at >= now - ANSWER_WITHIN,
        )
        .order_by(FollowUp.sent_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


def record(
    session: AsyncSession,
    question: FollowUp,
    lead: Lead,
    score: int,
    conversation: Conversation,
    now: datetime,
) -> str:
    """Store the answer, move the journey; returns the catalog key of the thank-you."""
    question.status = "answered"
    question.data = question.data | {"score": score}
    touchpoints.record_event(
        session, lead, "nps", {"score": score, "booking_id": question.booking_id},
        conversation=conversation, author="prospect", at=now,
    )  # fmt: skip
    stage = "advocacy" if score >= PROMOTER else "retention"
    if lead.stage != stage:
        journey.record_change(session, lead, stage, f"nps: {score}", conversation, at=now)
    if score >= PROMOTER:
        return "followup.nps_promoter"
    return "followup.nps_passive" if score >= PASSIVE else "followup.nps_detractor"
