"""The prospect's stage in the customer journey, recomputed at every turn.

Journeys are not linear: a prospect in *decision* who starts comparing again
goes back to *consideration*. Conversation intents (greet, thank, ...) and
awareness questions say nothing new about the stage and leave it where it
is: a new lead starts in awareness, and a prospect who is about to book
does not go back there by asking what a product does.
"""

STAGES = ("awareness", "consideration", "decision", "retention", "advocacy")
INITIAL_STAGE = "awareness"

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


def stage_after(current: str, intent: str | None) -> str:
    """The stage once the prospect has said something with this intent."""
    return STAGE_BY_INTENT.get(intent or "", current)
