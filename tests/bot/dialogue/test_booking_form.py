"""The booking form's actions, called the way Rasa calls them, on a real database."""

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking import bookings
from bot.clock import ManualClock
from bot.content.catalog import Catalog
from bot.content.profile import Profile
from bot.crm import leads
from bot.dialogue.actions import Services
from bot.dialogue.registry import ActionRegistry, default_registry
from bot.storage.models import Booking, FollowUp, Lead, utcnow

ISRAEL = ZoneInfo("Asia/Jerusalem")


class Chat:
    """One conversation's tracker, as Rasa would send it to the action server."""

    def __init__(self, registry: ActionRegistry, sender: str) -> None:
        self.registry, self.sender = registry, sender
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.message: dict[str, Any] = {}

    def says(self, text: str, intent: str = "inform", entities: Any = ()) -> None:
        self.message = {
            "text": text,
            "intent": {"name": intent},
            "entities": list(entities),
            "metadata": {"language": "en"},
        }
        self.events.append({"event": "user", "text": text})

    async def run(self, action: str) -> list[dict[str, Any]]:
        """Run one action, apply its slot events; returns what it said."""
        tracker = {
            "sender_id": self.sender,
            "slots": dict(self.slots),
            "latest_message": self.message,
            "events": list(self.events),
        }
        result = await self.registry.run(
            {"next_action": action, "sender_id": self.sender, "tracker": tracker}
        )
        for event in result["events"]:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.append({"event": "action", "name": action})
        return [r["custom"] for r in result["responses"]]


async def new_chat(
    sessions: async_sessionmaker[AsyncSession], services: Services, **lead: str
) -> Chat:
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "api", "dana", utcnow())
        for key, value in lead.items():
            setattr(conversation.lead, key, value)
        await session.commit()
        return Chat(default_registry(sessions, services), str(conversation.id))


def tomorrow(clock: ManualClock, hour: int) -> datetime:
    now = clock.now().astimezone(ISRAEL)
    return datetime.combine(now.date() + timedelta(days=1), time(hour), ISRAEL)


async def test_one_message_books_and_confirms_with_a_calendar_invite(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    chat = await new_chat(sessions, services)
    chat.says(
        "book a test drive of the RAV4 tomorrow at 11 in Tel Aviv, I'm Dana, 052-555-1234",
        intent="book_appointment",
    )
    await chat.run("action_start_booking")
    assert await chat.run("validate_booking_form") == []
    assert chat.slots["booking_ref"] and chat.slots["when"] == tomorrow(clock, 11).isoformat()
    [confirmation] = await chat.run("action_booking_done")
    assert confirmation["key"] == "booking.confirmed"
    assert confirmation["params"]["name"] == "Dana"
    assert confirmation["attachment"]["url"].startswith("/bookings/")
    async with sessions() as session:
        made = await session.scalar(select(Booking))
        lead = await session.scalar(select(Lead))
        kinds = set(await session.scalars(select(FollowUp.kind)))
    assert made is not None and lead is not None
    assert (made.product_id, made.branch_id, made.starts_at) == (
        "rav4",
        "tel_aviv",
        tomorrow(clock, 11),
    )
    assert (lead.name, lead.phone) == ("Dana", "+972525551234")
    assert kinds == {"reminder", "nps"}


async def test_known_details_are_not_asked_again_and_taken_times_get_alternatives(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    chat = await new_chat(sessions, services, name="Dana", phone="+972525551234")
    async with sessions() as session:  # the Tucson (one car) is taken tomorrow at 11
        other = Lead()
        session.add(other)
        await session.flush()
        await bookings.book(
            session, services.catalog.profile, other, branch_id="haifa", product_id="tucson",
            start=tomorrow(clock, 11), now=clock.now(), language="en",
        )  # fmt: skip
        await session.commit()
    chat.says("i want a test drive", intent="book_appointment")
    await chat.run("action_start_booking")
    assert (chat.slots["name"], chat.slots["contact"]) == ("Dana", "+972525551234")
    await chat.run("validate_booking_form")
    [ask] = await chat.run("action_ask_product")
    assert ask["key"] == "booking.ask_product" and len(ask["buttons"]) == 6

    chat.says('/inform{"product": "tucson"}', entities=[{"entity": "product", "value": "tucson"}])
    await chat.run("validate_booking_form")
    chat.says("haifa tomorrow at 11")
    await chat.run("validate_booking_form")
    assert chat.slots["when"] is None and chat.slots["booking_problem"] == "taken"
    [taken] = await chat.run("action_ask_when")
    assert taken["key"] == "booking.taken" and len(taken["buttons"]) == 4
    offered = [b["payload"] for b in taken["buttons"]]
    assert all('"when"' in p for p in offered) and tomorrow(clock, 11).isoformat() not in str(
        offered
    )

    chat.says(offered[0], entities=[{"entity": "when", "value": offered[0].split('"')[3]}])
    await chat.run("validate_booking_form")
    assert chat.slots["booking_ref"]  # booked without asking name or phone
    [done] = await chat.run("action_booking_done")
    assert done["key"] == "booking.confirmed"


async def test_a_question_pauses_the_booking_and_no_stops_it(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    chat = await new_chat(sessions, services)
    chat.says("book a test drive of the corolla", intent="book_appointment")
    await chat.run("action_start_booking")
    await chat.run("validate_booking_form")
    chat.says("how much does the tucson cost?", intent="ask_price")
    said = await chat.run("validate_booking_form")
    assert [s["key"] for s in said] == ["ask_price"]  # answered, not taken as the product
    assert (chat.slots["booking_problem"], chat.slots["requested_slot"]) == ("paused", None)
    assert await chat.run("action_booking_done") == []  # nothing more to say
    async with sessions() as session:
        assert await session.scalar(select(FollowUp.kind)) == "nudge"

    chat.says("ok let's book", intent="book_appointment")  # the next-step button
    await chat.run("action_start_booking")
    assert chat.slots["product"] == "corolla"  # picked up where it paused
    chat.says("thanks", intent="thank")
    assert [s["key"] for s in await chat.run("validate_booking_form")] == ["thank"]
    assert chat.slots["booking_problem"] is None  # small talk does not pause
    chat.says("no thanks", intent="deny")
    await chat.run("validate_booking_form")
    assert chat.slots["requested_slot"] is None and chat.slots["booking_problem"] == "stopped"
    assert [s["key"] for s in await chat.run("action_booking_done")] == ["booking.stopped"]
    assert chat.slots["product"] is None
    async with sessions() as session:
        assert await session.scalar(select(FollowUp.status)) == "cancelled"


async def test_cancel_asks_first_and_yes_cancels_only_right_after(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    chat = await new_chat(sessions, services)
    chat.says("cancel my test drive", intent="cancel_booking")
    assert [s["key"] for s in await chat.run("action_cancel_booking")] == ["booking.none"]
    async with sessions() as session:
        lead = await session.scalar(select(Lead))
        assert lead is not None
        made = await bookings.book(
            session, services.catalog.profile, lead, branch_id="haifa", product_id="rav4",
            start=tomorrow(clock, 15), now=clock.now(), language="en",
        )  # fmt: skip
        await session.commit()
    chat.says("cancel my test drive", intent="cancel_booking")
    [question] = await chat.run("action_cancel_booking")
    assert question["key"] == "booking.confirm_cancel"
    assert [b["payload"] for b in question["buttons"]] == ["/affirm", "/deny"]
    chat.says("thanks", intent="thank")
    chat.events.append({"event": "action", "name": "utter_thank"})
    chat.says("yes", intent="affirm")
    assert [s["key"] for s in await chat.run("action_affirm")] == ["affirm"]  # not right after

    chat.says("cancel it", intent="cancel_booking")
    await chat.run("action_cancel_booking")
    chat.says("yes", intent="affirm")
    [cancelled] = await chat.run("action_affirm")
    assert cancelled["key"] == "booking.cancelled"
    async with sessions() as session:
        assert (await session.get(Booking, made.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_reschedule_moves_the_booking_and_its_follow_ups(
    sessions: async_sessionmaker[AsyncSession], services: Services, clock: ManualClock
) -> None:
    chat = await new_chat(sessions, services, name="Dana", email="dana@example.com")
    chat.says("book the octavia in haifa tomorrow at 10", intent="book_appointment")
    await chat.run("action_start_booking")
    await chat.run("validate_booking_form")
    await chat.run("action_booking_done")
    chat.says("can we move it to 16:00 tomorrow?", intent="reschedule_booking")
    await chat.run("action_start_booking")
    assert chat.slots["booking_mode"].startswith("reschedule:")
    await chat.run("validate_booking_form")
    [moved] = await chat.run("action_booking_done")
    assert moved["key"] == "booking.rescheduled"
    async with sessions() as session:
        rows = list(await session.scalars(select(Booking).order_by(Booking.id)))
        reminders = list(await session.scalars(select(FollowUp).where(FollowUp.kind == "reminder")))
    hours = [(b.status, b.starts_at.astimezone(ISRAEL).hour) for b in rows]
    assert hours == [("rescheduled", 10), ("confirmed", 16)]
    assert sorted(r.status for r in reminders) == ["cancelled", "pending"]


async def test_a_booking_taken_for_a_plain_answer_still_starts_the_form(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    chat = await new_chat(sessions, services)
    chat.says("Dana")
    assert [s["key"] for s in await chat.run("action_inform")] == ["inform"]
    chat.says("the sportage in haifa tomorrow at 12, 052-555-1234")
    result = await chat.registry.run(
        {"next_action": "action_inform", "sender_id": chat.sender,
         "tracker": {"sender_id": chat.sender, "slots": {}, "latest_message": chat.message}}
    )  # fmt: skip
    assert result["events"][-1] == {"event": "followup", "name": "booking_form"}


async def test_a_time_given_before_the_branch_is_read_in_that_branchs_zone(
    sessions: async_sessionmaker[AsyncSession], dealer: Profile, clock: ManualClock
) -> None:
    """ "Tomorrow at 11", then "Haifa" for a Haifa showroom in New York: 11:00 in New York."""
    branches = [
        b.model_copy(update={"timezone": "America/New_York"}) if b.id == "haifa" else b
        for b in dealer.branches
    ]
    services = Services(Catalog.load(dealer.model_copy(update={"branches": branches}), "en"), clock)
    chat = await new_chat(sessions, services, name="Dana", phone="+972525551234")
    chat.says("a test drive of the RAV4 tomorrow at 11", intent="book_appointment")
    await chat.run("action_start_booking")
    await chat.run("validate_booking_form")
    assert chat.slots["when"] is None  # no branch yet: no time to check
    chat.says("in Haifa")
    await chat.run("validate_booking_form")
    new_york = ZoneInfo("America/New_York")
    day = clock.now().astimezone(new_york).date() + timedelta(days=1)
    assert chat.slots["booking_ref"]
    async with sessions() as session:
        made = await session.scalar(select(Booking))
    assert made is not None and made.starts_at == datetime.combine(day, time(11), new_york)
