"""The greeting: a welcome, or a welcome back for a prospect returning after a while."""

from datetime import timedelta

from bot.crm import touchpoints
from bot.dialogue.actions import ActionCall, ActionResult

RETURNING_AFTER = timedelta(hours=1)


async def action_greet(call: ActionCall) -> ActionResult:
    """Greet, and welcome back a prospect whose last visit was a while ago."""
    conversation = await call.conversation()
    if conversation is None:
        return ActionResult().say("greet")
    current = await touchpoints.latest_inbound(call.session, conversation.id)
    earlier = await touchpoints.previous_inbound(call.session, current) if current else None
    returning = (
        current is not None
        and earlier is not None
        and current.created_at - earlier.created_at >= RETURNING_AFTER
    )
    return ActionResult().say("greet_returning" if returning else "greet")
