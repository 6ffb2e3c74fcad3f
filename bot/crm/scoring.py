"""An explainable lead score: points with reasons, decaying with inactivity.

The score is recomputed from the lead and its timeline at every turn, so the
reasons always add up to the score and a rule change applies to every lead.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from bot.storage.models import Lead, Touchpoint

CONTACT_POINTS = {"phone": (15, "shared a phone number"), "email": (10, "shared an email"),
                  "name": (5, "shared their name")}  # fmt: skip
INTENT_POINTS = {
    "book_appointment": (15, "asked to book"),
    "ask_availability": (10, "asked about free slots"),
    "ask_financing": (10, "asked about financing"),
    "ask_price": (5, "asked about prices"),
    "compare_products": (5, "compared options"),
    "ask_promotions": (5, "asked about offers"),
    "request_human": (5, "asked to talk to a person"),
    "complaint": (-10, "complained"),
}
VISIT_GAP = timedelta(hours=1)  # a new visit starts after an hour of silence
RETURN_POINTS, MAX_RETURNS = 5, 3
DECAY_AFTER, HALF_LIFE = timedelta(days=7), timedelta(days=14)
ZOMBIE_MESSAGES = 15
PROGRESS_INTENTS = {"book_appointment", "ask_availability"}


@dataclass(frozen=True)
class Reason:
    points: float
    reason: str


@dataclass(frozen=True)
class Score:
    total: float
    reasons: list[Reason]
    zombie: bool

    def as_list(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.reasons]


def score(
    contacts: dict[str, str | None],
    inbound: list[tuple[datetime, str | None]],
    now: datetime,
    extra: tuple[Reason, ...] = (),
) -> Score:
    """Score a lead from its contact details and its inbound messages (time, intent).

    ``extra`` carries points that other parts of the product award (a booking,
    an NPS answer), so that they are explained in the same list.
    """
    reasons = [Reason(*CONTACT_POINTS[k]) for k in CONTACT_POINTS if contacts.get(k)]
    intents = {intent for _, intent in inbound if intent}
    reasons += [Reason(*INTENT_POINTS[i]) for i in INTENT_POINTS if i in intents]
    returns = min(_visits(inbound) - 1, MAX_RETURNS)
    if returns > 0:
        reasons.append(Reason(RETURN_POINTS * returns, f"came back {returns} time(s)"))
    reasons += list(extra)
    total = sum(r.points for r in reasons)
    if inbound and total > 0 and now - inbound[-1][0] > DECAY_AFTER:
        idle = now - inbound[-1][0]
        kept = 0.5 ** ((idle - DECAY_AFTER) / HALF_LIFE)
        reasons.append(Reason(round(total * kept - total, 1), f"inactive for {idle.days} days"))
        total = total * kept
    zombie = (
        len(inbound) >= ZOMBIE_MESSAGES
        and not any(contacts.values())
        and not intents & PROGRESS_INTENTS
        and not extra
    )
    return Score(round(total, 1), reasons, zombie)


def score_lead(lead: Lead, inbound: list[tuple[datetime, str | None]], now: datetime) -> Score:
    """The lead's score now, from its contact details and its inbound (time, intent)."""
    return score({"name": lead.name, "phone": lead.phone, "email": lead.email}, inbound, now)


def inbound_of(timeline: list[Touchpoint]) -> list[tuple[datetime, str | None]]:
    return [(t.created_at, t.intent) for t in timeline if t.direction == "in"]


def _visits(inbound: list[tuple[datetime, str | None]]) -> int:
    times = [time for time, _ in inbound]
    return (1 if times else 0) + sum(1 for a, b in pairwise(times) if b - a >= VISIT_GAP)
