"""The prospect's stage in the customer journey, recomputed at every turn.

Journeys are not linear. A prospect about to book who starts comparing again
goes back to *consideration*; a customer who asks about another car starts a
new cycle. Conversation intents (greet, thank, ...) and awareness questions
say nothing new about the stage and leave it where it is: a new lead starts in
awareness, and a prospect who is about to book does not go back there by
asking what a product does. Every change is a touchpoint with from, to and why.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import touchpoints
from bot.storage.models import Conversation, Lead

STAGES = ("awareness", "consideration", "decision", "retention", "advocacy")

STAGE_BY_INTENT = {
    "ask_price": "consideration",
    "compare_products": "consideration",
    "ask_reviews": "consideration",
    "ask_financing": "consideration",
    "book_appointment": "decision",
    "ask_availability": "decision",
    "ask_promotions": "decision",
    "ask_location_hours": "decision",
    "report_problem": "retention",
    "ask_service": "retention",
    "ask_warranty": "retention",
    "complaint": "retention",
    "give_feedback": "advocacy",
    "ask_referral": "advocacy",
}
# Asking the price or the monthly payment is part of deciding, not a step back.
PART_OF_DECIDING = frozenset({"ask_price", "ask_financing"})


def stage_after(current: str, intent: str | None) -> str:
    """The stage once the prospect has said something with this intent."""
    target = STAGE_BY_INTENT.get(intent or "")
    if target is None or (current == "decision" and intent in PART_OF_DECIDING):
        return current
    return target


def record_change(
    session: AsyncSession,
    lead: Lead,
    new_stage: str,
    reason: str,
    conversation: Conversation | None = None,
    *,
    at: datetime,
) -> None:
    """Move the lead to ``new_stage`` and put the move on its timeline."""
    data = {"from": lead.stage, "to": new_stage, "reason": reason}
    lead.stage = new_stage
    touchpoints.record_event(session, lead, "stage_change", data, conversation=conversation, at=at)


def mark_purchase(session: AsyncSession, lead: Lead, by: str, *, at: datetime) -> None:
    """A rep marks that the lead bought: from now on they are a customer."""
    touchpoints.record_event(session, lead, "purchase", {"by": by}, at=at)
    if lead.stage != "retention":
        record_change(session, lead, "retention", f"purchase marked by {by}", at=at)
