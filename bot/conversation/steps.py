"""The steps before Rasa, in the order the service runs them (see bot.conversation.turn).

Each one may answer the turn: a sender over its budget, a conversation a rep
owns, a message the bot cannot read, the answer to "how did you hear about
us?", an NPS score. The composition root picks the list.
"""

import time
from collections.abc import Callable

from bot.conversation.throttle import Throttle, Verdict
from bot.conversation.turn import Step, Turn
from bot.crm import acquisition
from bot.followups import nps


class OverBudget:
    """A sender past its channel's message budget: stored as ``throttled``, not answered,
    but for one polite notice per window (see bot.conversation.throttle)."""

    def __init__(
        self, throttles: dict[str, Throttle], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.throttles = throttles
        self.clock = clock

    async def __call__(self, turn: Turn) -> bool:
        throttle = self.throttles.get(turn.message.channel)
        if throttle is None:
            return False
        verdict = throttle.check(turn.message.sender, self.clock())
        if verdict is Verdict.OK:
            return False
        turn.inbound.status = "throttled"
        if verdict is Verdict.NOTICE:
            turn.replies.append(turn.say("throttled"))
        return True


async def human_owner(turn: Turn) -> bool:
    """A rep owns the conversation: the bot stays silent (the rep relay picks it up)."""
    if turn.conversation.owner != "human":
        return False
    turn.inbound.status = "for_rep"
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


def default_steps(max_message_chars: int, throttles: dict[str, Throttle]) -> list[Step]:
    return [
        OverBudget(throttles),
        human_owner,
        Unreadable(max_message_chars),
        source_answer,
        nps_answer,
    ]
