"""The booking dialogue: Rasa's ``booking_form`` and the actions around it.

Rasa runs the form (which slot to ask next, when it is done); these actions,
served by the app, do the rest:

- ``action_inform`` acknowledges an answer, or starts the form for a booking
  the NLU took for a plain answer;
- ``action_start_booking`` resets the form and fills in what we already know:
  name and phone/email from the lead (any channel, any earlier conversation),
  and for a reschedule the product and branch of the booking being moved;
- ``validate_booking_form`` reads every message in full (bot.booking_details),
  so details can come all at once or one by one; checks the time against real
  availability; and, once everything is there, books (or moves) in the
  database, where a unique index settles races: the loser gets alternatives;
- ``action_ask_<slot>`` asks for what is missing, with buttons (models,
  branches, the nearest free times);
- ``action_booking_done`` confirms with the .ics invite, or says it stopped;
- ``action_cancel_booking`` asks before cancelling; ``action_affirm`` and
  ``action_deny`` carry out or drop that question, or just answer yes/no.

A question in the middle of a booking ("how much is it?") is answered by the
validation action with the usual catalog answer and the booking pauses with
what it has; "book a test drive" (the next-step button, the nudge) resumes it.
Small talk ("thanks") is answered and the form asks again. So no unhappy-path
stories are needed.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.booking import availability, bookings, texts
from bot.booking import details as booking_details
from bot.content.profile import Branch
from bot.crm import touchpoints
from bot.dialogue.actions import Action, ActionCall, ActionResult
from bot.followups import schedule
from bot.storage.models import Booking, Conversation, Lead

FORM_SLOTS = ("product", "branch", "when", "name", "contact")
STATE_SLOTS = ("booking_mode", "booking_problem", "booking_wanted", "booking_ref")
# Intents that end the form when the message carries no booking detail.
STOP_INTENTS = frozenset({"deny", "cancel_booking", "goodbye"})
# Small talk is answered and the form asks again for what it needs.
SOCIAL = frozenset({"greet", "thank", "bot_challenge"})
# A real question is answered and the booking pauses, keeping what it has: the
# next-step button (or the nudge) picks it up again where it stopped.
QUESTIONS = frozenset(
    {
        "ask_company", "ask_product_info", "ask_price", "compare_products", "ask_reviews",
        "ask_financing", "ask_promotions", "ask_location_hours", "report_problem",
        "ask_service", "ask_warranty", "complaint", "ask_referral", "request_human",
        "out_of_scope", "give_feedback",
    }
)  # fmt: skip
CHOICES_SHOWN = 4


async def _lead(call: ActionCall) -> tuple[Conversation | None, Lead | None]:
    conversation = await call.conversation()
    if conversation is None:
        return None, None
    return conversation, await call.session.get(Lead, conversation.lead_id)


async def action_start_booking(call: ActionCall) -> ActionResult:
    """A fresh form, or the paused one again; what the lead told us before is filled in."""
    resuming = call.slot("booking_problem") == "paused" and call.intent == "book_appointment"
    result = ActionResult()
    if resuming:  # go on with what the form already has
        result.set(booking_problem=None)
    else:
        result.set(**dict.fromkeys(FORM_SLOTS + STATE_SLOTS))
    _conversation, lead = await _lead(call)
    if lead is None:
        return result
    name = call.slot("name") if resuming else None
    contact = call.slot("contact") if resuming else None
    result.set(name=name or lead.name, contact=contact or lead.phone or lead.email)
    if call.intent != "reschedule_booking":
        return result
    now = call.services.clock.now()
    current = await bookings.upcoming(call.session, lead.id, now)
    if current is None:
        return result.say("booking.none")  # the form goes on to book a new one
    return result.set(
        booking_mode=f"reschedule:{current.id}",
        product=current.product_id,
        branch=current.branch_id,
    )


async def action_inform(call: ActionCall) -> ActionResult:
    """A plain answer ("Dana", "the RAV4") is acknowledged; but a message that names what
    and when (or where) is a booking the NLU took for an answer, so the booking starts."""
    profile = call.services.catalog.profile
    details = _read(call, profile.branches[0].timezone)
    wants_booking = details.product and (details.when or details.branch)
    if not (wants_booking or (details.when and details.branch)):
        return ActionResult().say("inform")
    result = await action_start_booking(call)
    result.events.append({"event": "followup", "name": "booking_form"})
    return result


def _read(call: ActionCall, timezone: str) -> booking_details.Details:
    return booking_details.read(
        call.services.catalog.profile, str(call.message.get("text") or ""),
        call.message.get("entities") or [], call.language, call.services.clock.now(),
        timezone=timezone, asked=call.slot("requested_slot"),
    )  # fmt: skip


async def validate_booking_form(call: ActionCall) -> ActionResult:
    """Fill what this message says, check the time, and book once nothing is missing."""
    profile = call.services.catalog.profile
    conversation, lead = await _lead(call)
    now = call.services.clock.now()
    slots = {name: call.slot(name) for name in FORM_SLOTS + STATE_SLOTS}
    branch = profile.find_branch(slots["branch"])
    details = _read(call, (branch or profile.branches[0]).timezone)
    result = ActionResult()
    if call.intent in QUESTIONS:  # its answer, not a detail of the booking
        result.say(call.intent)
        return result.set(booking_problem="paused", requested_slot=None)
    if not details.any():
        if call.intent in STOP_INTENTS:
            if lead is not None:
                await schedule.drop_nudge(call.session, lead.id)
            return result.set(booking_problem="stopped", requested_slot=None)
        if call.intent in SOCIAL:
            result.say(call.intent)
    previous_problem, slots["booking_problem"] = slots["booking_problem"], _problem(call, details)
    _take(slots, details, lead, conversation, call, previous_problem)
    await _check_time(call, slots, now)
    if all(slots[name] for name in FORM_SLOTS) and lead is not None:
        await _book(call, slots, lead, conversation, now)
    elif lead is not None:
        await schedule.nudge_later(call.session, lead.id, now)
    if conversation is not None:
        failed = details.when is not None and slots["booking_problem"] in ("taken", "closed")
        _keep_draft(conversation, slots, failed)
    return result.set(**slots)


def _keep_draft(conversation: Conversation, slots: dict[str, Any], failed: bool) -> None:
    """What the form has so far, for the handoff card, and how often no slot was free
    for the time asked (twice, and a person is brought in: bot.handoff.triggers)."""
    failures = 0 if slots["booking_ref"] else conversation.booking_draft.get("failures", 0)
    draft = {name: slots[name] for name in (*FORM_SLOTS, "booking_wanted", "booking_ref")}
    conversation.booking_draft = draft | {"failures": failures + int(failed)}


def _problem(call: ActionCall, details: booking_details.Details) -> str | None:
    asked = call.slot("requested_slot")
    if asked == "contact" and details.contact_attempt and not (details.phone or details.email):
        return "bad_contact"
    if asked == "when" and details.when is None and call.intent not in SOCIAL:
        return "when_unclear"
    return None


def _take(
    slots: dict[str, Any],
    details: booking_details.Details,
    lead: Lead | None,
    conversation: Conversation | None,
    call: ActionCall,
    previous_problem: str | None,
) -> None:
    """New details win over earlier ones; contact details are saved on the lead for good."""
    if details.product:
        slots["product"] = details.product.id
    if details.branch:
        slots["branch"] = details.branch.id
    if details.when is not None:
        _take_time(slots, details, _zone_read_in(call, slots, details), previous_problem)
    found = {"name": details.name, "phone": details.phone, "email": details.email}
    if details.name:
        slots["name"] = details.name
    if details.phone or details.email:
        slots["contact"] = details.phone or details.email
    if lead is None:
        return
    slots["name"] = slots["name"] or lead.name
    slots["contact"] = slots["contact"] or lead.phone or lead.email
    new = {k: v for k, v in found.items() if v and getattr(lead, k) != v}
    for kind, value in new.items():
        setattr(lead, kind, value)
    if new:
        touchpoints.record_event(
            call.session, lead, "contact", new, conversation=conversation, author="prospect",
            at=call.services.clock.now(),
        )  # fmt: skip


def _take_time(
    slots: dict[str, Any], details: booking_details.Details, zone: ZoneInfo, problem: str | None
) -> None:
    """Keep the wanted time as the wall-clock time the prospect said ("tomorrow at 11"),
    without a zone: it is placed in the branch's zone once the branch is known, so a
    time given before "in Bucharest" is 11:00 in Bucharest, not 11:00 in Tel Aviv."""
    assert details.when is not None
    wanted = details.when.astimezone(zone).replace(tzinfo=None)
    if problem == "need_time" and not details.has_day and slots["booking_wanted"]:
        # "What time on Thursday?" - "5pm": the day asked about, not today.
        day = datetime.fromisoformat(slots["booking_wanted"]).date()
        wanted = datetime.combine(day, wanted.time())
    slots["booking_wanted"], slots["when"] = wanted.isoformat(), None
    if details.day_only:
        slots["booking_problem"] = "need_time"


def _zone_read_in(
    call: ActionCall, slots: dict[str, Any], details: booking_details.Details
) -> ZoneInfo:
    """The zone the message's time was read in: its branch's, else the first branch's."""
    profile = call.services.catalog.profile
    branch = details.branch or profile.find_branch(slots["branch"]) or profile.branches[0]
    return ZoneInfo(branch.timezone)


def _wanted_at(wanted: str | None, branch: Branch) -> datetime | None:
    """The wanted time as a moment, placed in the branch's zone (see ``_take_time``)."""
    if not wanted:
        return None
    moment = datetime.fromisoformat(wanted)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(branch.timezone))
    return moment


async def _check_time(call: ActionCall, slots: dict[str, Any], now: datetime) -> None:
    """Turn the wanted time into the ``when`` slot only if that slot is really free."""
    profile = call.services.catalog.profile
    product, branch = profile.find_product(slots["product"]), profile.find_branch(slots["branch"])
    if slots["when"] or product is None or branch is None:
        return
    start = _wanted_at(slots["booking_wanted"], branch)
    if start is None or slots["booking_problem"] == "need_time":
        return
    if not availability.is_slot(profile, branch, start, now):
        slots["booking_problem"] = "closed"
    elif await availability.taken(call.session, branch, product, start) >= product.capacity:
        slots["booking_problem"] = "taken"
    else:
        slots["when"], slots["booking_problem"] = start.isoformat(), None


async def _book(
    call: ActionCall,
    slots: dict[str, Any],
    lead: Lead,
    conversation: Conversation | None,
    now: datetime,
) -> None:
    """Book or move; a race lost at the last moment sends the prospect back to pick a time."""
    profile = call.services.catalog.profile
    start = datetime.fromisoformat(slots["when"])
    moving = await _booking_being_moved(call, slots["booking_mode"], lead)
    try:
        if moving is not None:
            made = await bookings.reschedule(
                call.session, profile, lead, moving, start, now, conversation
            )
            await schedule.cancel_for_booking(call.session, moving.id)
        else:
            made = await bookings.book(
                call.session, profile, lead, branch_id=slots["branch"],
                product_id=slots["product"], start=start, now=now,
                language=call.language, conversation=conversation,
            )  # fmt: skip
    except (bookings.SlotTaken, bookings.SlotClosed) as error:
        slots["when"] = None
        slots["booking_problem"] = "taken" if isinstance(error, bookings.SlotTaken) else "closed"
        return
    await call.session.flush()
    schedule.schedule_booking(call.session, made, now)
    await schedule.drop_nudge(call.session, lead.id)
    slots["booking_ref"] = str(made.id)


async def _booking_being_moved(call: ActionCall, mode: str | None, lead: Lead) -> Booking | None:
    if not mode or not mode.startswith("reschedule:"):
        return None
    found = await call.session.get(Booking, int(mode.split(":", 1)[1]))
    return found if found and found.lead_id == lead.id and found.status == "confirmed" else None


async def action_ask_product(call: ActionCall) -> ActionResult:
    buttons = [
        {"title": p.name, "payload": f'/inform{{"product": "{p.id}"}}'}
        for p in call.services.catalog.profile.products
    ]
    return ActionResult().say("booking.ask_product", buttons=buttons)


async def action_ask_branch(call: ActionCall) -> ActionResult:
    buttons = [
        {"title": b.name, "payload": f'/inform{{"branch": "{b.id}"}}'}
        for b in call.services.catalog.profile.branches
    ]
    return ActionResult().say("booking.ask_branch", buttons=buttons)


async def action_ask_when(call: ActionCall) -> ActionResult:
    """Ask for a time, always with the nearest free ones as buttons."""
    catalog, now = call.services.catalog, call.services.clock.now()
    product = catalog.profile.find_product(call.slot("product"))
    branch = catalog.profile.find_branch(call.slot("branch"))
    assert product is not None and branch is not None  # asked after both (form order)
    problem = call.slot("booking_problem")
    wanted = _wanted_at(call.slot("booking_wanted"), branch) or now
    if problem == "need_time":
        key = "booking.ask_time_on_day"
        wanted_text = texts.format_day(catalog, wanted, branch.timezone, call.language)
    else:
        key = {"taken": "booking.taken", "closed": "booking.closed"}.get(
            problem or "",
            "booking.when_unclear" if problem == "when_unclear" else "booking.ask_when",
        )
        wanted_text = texts.format_when(catalog, wanted, branch.timezone, call.language)
    free = await availability.nearest_free(
        call.session, catalog.profile, branch, product, wanted, now, count=CHOICES_SHOWN
    )
    if not free:
        return ActionResult().say("booking.no_slots", product=product.name, branch=branch.name)
    buttons = [texts.slot_button(catalog, start, branch, call.language) for start in free]
    return ActionResult().say(
        key, buttons=buttons, product=product.name, branch=branch.name, wanted=wanted_text
    )


async def action_ask_name(call: ActionCall) -> ActionResult:
    return ActionResult().say("booking.ask_name")


async def action_ask_contact(call: ActionCall) -> ActionResult:
    bad = call.slot("booking_problem") == "bad_contact"
    return ActionResult().say("booking.bad_contact" if bad else "booking.ask_contact")


async def action_booking_done(call: ActionCall) -> ActionResult:
    """Confirm the booking with its calendar invite, or say the booking stopped."""
    if call.slot("booking_problem") == "paused":
        return ActionResult()  # the question was answered; the slots wait for a comeback
    result = ActionResult().set(**dict.fromkeys(FORM_SLOTS + STATE_SLOTS))
    ref = call.slot("booking_ref")
    made = await call.session.get(Booking, int(ref)) if ref else None
    if made is None:
        return result.say("booking.stopped")
    catalog = call.services.catalog
    params = texts.params(catalog, made, call.language)
    params["name"] = call.slot("name") or ""
    moved = str(call.slot("booking_mode") or "").startswith("reschedule:")
    return result.say(
        "booking.rescheduled" if moved else "booking.confirmed",
        attachment=texts.calendar_link(made, catalog, call.language),
        **params,
    )


async def action_cancel_booking(call: ActionCall) -> ActionResult:
    """Ask before cancelling: a misread message must never cancel a test drive."""
    _conversation, lead = await _lead(call)
    found = (
        await bookings.upcoming(call.session, lead.id, call.services.clock.now()) if lead else None
    )
    if found is None:
        return ActionResult().say("booking.none", buttons=[_book_button(call)])
    say = call.services.catalog.text
    buttons = [
        {"title": say("booking.yes_cancel", call.language), "payload": "/affirm"},
        {"title": say("booking.keep", call.language), "payload": "/deny"},
    ]
    params = texts.params(call.services.catalog, found, call.language)
    return (
        ActionResult()
        .set(pending_cancel=str(found.id))
        .say("booking.confirm_cancel", buttons=buttons, **params)
    )


async def action_affirm(call: ActionCall) -> ActionResult:
    pending = await _pending_cancel(call)
    if pending is None:
        return ActionResult().say("affirm")
    conversation, lead = await _lead(call)
    assert lead is not None
    bookings.cancel(call.session, lead, pending, conversation, at=call.services.clock.now())
    await schedule.cancel_for_booking(call.session, pending.id)
    params = texts.params(call.services.catalog, pending, call.language)
    return ActionResult().set(pending_cancel=None).say("booking.cancelled", **params)


async def action_deny(call: ActionCall) -> ActionResult:
    pending = await _pending_cancel(call)
    if pending is None:
        return ActionResult().say("deny")
    params = texts.params(call.services.catalog, pending, call.language)
    return ActionResult().set(pending_cancel=None).say("booking.kept", **params)


async def _pending_cancel(call: ActionCall) -> Booking | None:
    """The booking the bot just asked "cancel it?" about, if that was its last question."""
    ref = call.slot("pending_cancel")
    if not ref or call.previous_action() != "action_cancel_booking":
        return None
    _conversation, lead = await _lead(call)
    found = await call.session.get(Booking, int(ref))
    if found is None or lead is None or found.lead_id != lead.id or found.status != "confirmed":
        return None
    return found


def _book_button(call: ActionCall) -> dict[str, str]:
    title = call.services.catalog.text("next_step.decision", call.language)
    return {"title": title, "payload": "/book_appointment"}


ACTIONS: dict[str, Action] = {
    "action_start_booking": action_start_booking,
    "action_inform": action_inform,
    "validate_booking_form": validate_booking_form,
    "action_ask_product": action_ask_product,
    "action_ask_branch": action_ask_branch,
    "action_ask_when": action_ask_when,
    "action_ask_name": action_ask_name,
    "action_ask_contact": action_ask_contact,
    "action_booking_done": action_booking_done,
    "action_cancel_booking": action_cancel_booking,
    "action_affirm": action_affirm,
    "action_deny": action_deny,
}
