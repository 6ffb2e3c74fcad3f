"""When a person is brought in, decided after Rasa understood the message.

The business profile's ``handoff`` rules say which triggers are on: the
prospect asks for a person (any language: it is the intent), a complaint,
the bot not understanding N times in a row, a booking that found no slot N
times. A hot lead (in the decision stage, score over the threshold) is
*offered* a person with a button, once per conversation, unless a booking
is under way or made: then a person would only interrupt. The handoff is
opened in the turn's own transaction; the reps are told after it commits.
"""

from functools import partial

from sqlalchemy import select

from bot.conversation.messages import Button, OutboundMessage
from bot.conversation.turn import Turn
from bot.crm import touchpoints
from bot.handoff import records
from bot.handoff.service import HandoffService
from bot.storage.models import Booking, Touchpoint

FALLBACK = "nlu_fallback"
ASK_FOR_A_PERSON = "/request_human"


class Triggers:
    def __init__(self, handoffs: HandoffService) -> None:
        self.handoffs = handoffs
        self.rules = handoffs.wording.catalog.profile.handoff

    async def after_rasa(self, turn: Turn) -> None:
        reason = await self._reason(turn)
        if reason is not None:
            await self._bring_in(turn, reason)
        elif await self._hot_lead_not_offered(turn):
            self._offer(turn)

    async def _reason(self, turn: Turn) -> str | None:
        intent, rules = turn.inbound.intent, self.rules
        if intent == "request_human" and rules.request_human:
            return "request_human"
        if intent == "complaint" and rules.complaint:
            return "complaint"
        if (
            intent == FALLBACK
            and rules.fallbacks_in_a_row
            and await self._fallbacks_in_a_row(turn) >= rules.fallbacks_in_a_row
        ):
            return "fallbacks"
        draft = turn.conversation.booking_draft
        if rules.booking_failures and draft.get("failures", 0) >= rules.booking_failures:
            turn.conversation.booking_draft = draft | {"failures": 0}  # once per N failures
            return "booking_failed"
        return None

    async def _bring_in(self, turn: Turn, reason: str) -> None:
        handoff = await records.start(turn.session, turn.conversation, turn.lead, reason, turn.now)
        asked_again = turn.inbound.intent == "request_human"
        if handoff is None:  # one is open already
            if asked_again:
                self._replace_rasas_answer(turn, turn.say("handoff.already_asked"))
            return
        self.handoffs.schedule_timers(turn.session, handoff, turn.now)
        promise = self.handoffs.promise(turn.language, turn.lead.stage)
        if asked_again:
            self._replace_rasas_answer(turn, promise)
        else:
            turn.replies.append(promise)
        turn.after_commit.append(partial(self.handoffs.announce, handoff.id))

    @staticmethod
    def _replace_rasas_answer(turn: Turn, reply: OutboundMessage) -> None:
        """Rasa's "I've asked a colleague" gives way to what really happens, and when."""
        kept = [r for r in turn.replies if r.key != "request_human"]
        turn.replies[:] = [*kept, reply]

    async def _fallbacks_in_a_row(self, turn: Turn) -> int:
        await turn.session.flush()
        intents = await turn.session.scalars(
            select(Touchpoint.intent)
            .where(Touchpoint.conversation_id == turn.conversation.id,
                   Touchpoint.direction == "in", Touchpoint.status != "rejected")
            .order_by(Touchpoint.id.desc())
            .limit(self.rules.fallbacks_in_a_row)
        )  # fmt: skip
        return len(_while_fallback(list(intents)))

    async def _hot_lead_not_offered(self, turn: Turn) -> bool:
        lead, threshold = turn.lead, self.rules.hot_lead_score
        if not threshold or lead.stage != "decision" or lead.score < threshold:
            return False
        if turn.conversation.owner == "human" or not turn.replies or _booking(turn):
            return False
        booked = await turn.session.scalar(
            select(Booking.id).where(Booking.lead_id == lead.id, Booking.status == "confirmed")
        )
        if booked is not None:  # they have what they came for
            return False
        offered = await turn.session.scalar(
            select(Touchpoint.id).where(
                Touchpoint.conversation_id == turn.conversation.id,
                Touchpoint.kind == "handoff_offer",
            )
        )
        return (
            offered is None and await records.open_for(turn.session, turn.conversation.id) is None
        )

    def _offer(self, turn: Turn) -> None:
        last = turn.replies[-1]
        title = self.handoffs.wording.catalog.render("handoff.offer", turn.language)
        buttons = (*last.buttons, Button(title, ASK_FOR_A_PERSON))
        turn.replies[-1] = OutboundMessage(last.text, buttons, last.attachment, last.key)
        touchpoints.record_event(
            turn.session, turn.lead, "handoff_offer", {"score": turn.lead.score},
            conversation=turn.conversation, at=turn.now,
        )  # fmt: skip


def _booking(turn: Turn) -> bool:
    """The booking form is under way or just done: a person now would only interrupt."""
    draft = turn.conversation.booking_draft
    return any(value for name, value in draft.items() if name != "failures")


def _while_fallback(intents: list[str | None]) -> list[str | None]:
    run: list[str | None] = []
    for intent in intents:
        if intent != FALLBACK:
            break
        run.append(intent)
    return run
