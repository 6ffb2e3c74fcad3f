"""The steps before Rasa, in the order the service runs them (see bot.conversation.turn).

Each one may answer the turn: a sender over its budget, a conversation a rep
owns, a message the bot cannot read, the answer to "how did you hear about
us?", the rating of a rep's help, an NPS score. The composition root picks
the list.
"""

import re
from functools import partial

from bot.conversation.throttle import Throttle, Verdict
from bot.conversation.turn import Step, Turn
from bot.crm import acquisition
from bot.crm.contacts import ascii_digits
from bot.followups import nps
from bot.handoff import records
from bot.handoff.service import HandoffService

RATING = re.compile(r"^\s*(?:csat:)?([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")


class OverBudget:
    """A sender past its channel's message budget, or an address past its own (visitor
    ids are the widget's to choose): stored as ``throttled``, not answered, but for one
    polite notice per window (see bot.conversation.throttle)."""

    def __init__(self, throttles: dict[str, Throttle], by_address: Throttle | None = None) -> None:
        self.throttles = throttles
        self.by_address = by_address

    async def __call__(self, turn: Turn) -> bool:
        message = turn.message
        verdicts = []
        throttle = self.throttles.get(message.channel)
        if throttle is not None:
            verdicts.append(await throttle.check(f"{message.channel}:{message.sender}"))
        if self.by_address is not None and message.origin:
            verdicts.append(await self.by_address.check(message.origin))
        if all(verdict is Verdict.OK for verdict in verdicts):
            return False
        turn.inbound.status = "throttled"
        if Verdict.NOTICE in verdicts:
            turn.replies.append(turn.say("throttled"))
        return True


class RepOwns:
    """A rep owns the conversation: the bot stays silent, the words go to the rep."""

    def __init__(self, handoffs: HandoffService | None) -> None:
        self.handoffs = handoffs

    async def __call__(self, turn: Turn) -> bool:
        if turn.conversation.owner != "human":
            return False
        turn.inbound.status = "for_rep"
        handoff = await records.open_for(turn.session, turn.conversation.id)
        if handoff is not None and self.handoffs is not None:
            turn.after_commit.append(partial(self.handoffs.relay, handoff.id, turn.inbound.id))
        return True


async def satisfaction_answer(turn: Turn) -> bool:
    """A 1-5 right after "how would you rate the help you got?" is the rating."""
    match = RATING.match(ascii_digits(turn.text))
    if match is None:
        return False
    handoff = await records.awaiting_rating(turn.session, turn.conversation.id)
    if handoff is None:
        return False
    await records.rate(turn.session, handoff, int(match.group(1)), turn.now)
    turn.answer("handoff.rated")
    return True


class Unreadable:
    """Stickers, voice, empty or oversized messages: stored, and answered clearly."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    async def __call__(self, turn: Turn) -> bool:
        if turn.message.content != "text":
            turn.answer("unsupported_content", status="rejected", next_step=False)
        elif not turn.text:
            turn.answer("empty_message", status="rejected", next_step=False)
        elif len(turn.text) > self.max_chars:
            turn.answer(
                "message_too_long", status="rejected", next_step=False,
                length=len(turn.text), limit=self.max_chars,
            )  # fmt: skip
        else:
            return False
        return True


async def source_answer(turn: Turn) -> bool:
    """A tap on one of the "how did you hear about us?" buttons."""
    picked = acquisition.answer_in(turn.text)
    if picked is None or turn.lead.source is not None:
        return False
    acquisition.set_source(turn.session, turn.conversation, picked, how="asked", at=turn.now)
    turn.answer("source_thanks")
    return True


async def nps_answer(turn: Turn) -> bool:
    """A 0-10 right after the bot asked "would you recommend us?" is the answer."""
    score = nps.score_in(turn.text)
    if score is None:
        return False
    question = await nps.open_question(turn.session, turn.lead.id, turn.now)
    if question is None:
        return False
    key = nps.record(turn.session, question, turn.lead, score, turn.conversation, turn.now)
    turn.inbound.data = turn.inbound.data | {"nps": score}
    turn.answer(key)
    return True


def default_steps(
    max_message_chars: int,
    throttles: dict[str, Throttle],
    handoffs: HandoffService | None = None,
    by_address: Throttle | None = None,
) -> list[Step]:
    return [
        OverBudget(throttles, by_address),
        RepOwns(handoffs),
        Unreadable(max_message_chars),
        source_answer,
        satisfaction_answer,  # before the NPS answer: both are bare numbers
        nps_answer,
    ]
