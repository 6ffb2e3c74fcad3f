"""A lead on the console: its timeline across channels, merging it with the same person's
other lead on a verified phone only, marking who came, its export and its erasure
(in Rasa too). The real app on the fake Rasa server."""

import json
import re
from datetime import timedelta

from sqlalchemy import select

from bot.conversation.messages import InboundMessage
from bot.storage.models import AuditEvent, Booking, Lead
from handlers.context import CLOCK, SERVICE, SESSIONS
from tests.conftest import RunningBot, Staff
from tests.fakes.rasa import FakeRasa

PHONE = "+972525551234"


async def on_telegram(
    bot: RunningBot, chat: str, text: str, shared_phone: str | None = None
) -> int:
    """A Telegram prospect's message as the Telegram adapter hands it to the core; a phone
    shared with the contact button comes as metadata."""
    metadata = {"shared_phone": shared_phone, "shared_name": "Maya"} if shared_phone else {}
    message = InboundMessage(channel="telegram", sender=chat, text=text, metadata=metadata,
                             replies_in_response=True)  # fmt: skip
    return (await bot.app[SERVICE].handle(message)).lead_id


async def typed_phone(bot: RunningBot, sender: str, phone: str = PHONE) -> int:
    """A web prospect who typed a phone (the fake Rasa's entity syntax)."""
    await bot.chat(sender, "how much is the corolla?")
    said = await bot.chat(sender, f'/inform{{"phone": "{phone}"}}')
    lead = await bot.lead(said["lead_id"])
    assert lead["phone"] == phone
    return int(said["lead_id"])


async def audit_of(bot: RunningBot) -> list[tuple[str, str, str | None]]:
    async with bot.app[SESSIONS]() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.subject) for e in events if e.action != "login"]


async def test_a_phone_shared_on_telegram_offers_to_merge_the_web_lead_that_typed_it(
    rita: Staff, fast_bot: RunningBot
) -> None:
    web = await typed_phone(fast_bot, "visitor-merge-00000001")
    telegram = await on_telegram(fast_bot, "5550001", "hello")
    await on_telegram(fast_bot, "5550001", PHONE, shared_phone=PHONE)

    status, page = await rita.get(f"/console/leads/{telegram}")
    assert status == 200
    assert f'<input type="hidden" name="other" value="{web}">' in page
    assert "shared it with the channel's own contact button" in page
    status, place, _ = await rita.post(f"/console/leads/{telegram}/merge",
                                      {"other": str(web), "csrf": await rita.csrf()})  # fmt: skip
    assert (status, place) == (303, f"/console/leads/{telegram}")

    status, page = await rita.get(f"/console/leads/{telegram}")
    timeline = page[page.index('id="timeline"') :]
    assert "how much is the corolla?" in timeline and "hello" in timeline  # both channels
    assert re.search(r"<td>api</td>.*<td>telegram</td>", timeline, re.S)
    assert "merged" in timeline and "Maya" in page
    assert "The same person?" not in page
    assert (await rita.get(f"/console/leads/{web}"))[0] == 404
    assert ("rita", "lead_merged", f"lead {telegram}") in await audit_of(fast_bot)


async def test_two_typed_phones_are_never_offered_nor_merged(
    rita: Staff, fast_bot: RunningBot
) -> None:
    first = await typed_phone(fast_bot, "visitor-typed-00000001")
    second = await typed_phone(fast_bot, "visitor-typed-00000002")
    status, page = await rita.get(f"/console/leads/{first}")
    assert status == 200 and "The same person?" not in page
    form = {"other": str(second), "csrf": await rita.csrf()}
    status, _, page = await rita.post(f"/console/leads/{first}/merge", form)
    assert status == 409  # the lead again, with why in place of a bare error page
    assert 'role="alert"' in page and 'id="timeline"' in page
    assert (await rita.get(f"/console/leads/{second}"))[0] == 200
    form["other"] = "not a number"
    assert (await rita.post(f"/console/leads/{first}/merge", form))[0] == 400


async def test_the_team_marks_whether_a_prospect_came_once_the_time_has_passed(
    rita: Staff, fast_bot: RunningBot
) -> None:
    said = await fast_bot.chat("visitor-booked-0000001", "hello")
    now = fast_bot.app[CLOCK].now()
    async with fast_bot.app[SESSIONS]() as session:
        booking = Booking(lead_id=said["lead_id"], kind="test_drive", product_id="corolla",
                          branch_id="tel-aviv", starts_at=now + timedelta(hours=1),
                          ends_at=now + timedelta(hours=2), token="b" * 43)  # fmt: skip
        session.add(booking)
        await session.commit()
    path = f"/console/leads/{said['lead_id']}/bookings/{booking.id}/attendance"
    form = {"attendance": "no_show", "csrf": await rita.csrf()}
    assert (await rita.post(path, form))[0] == 409  # not yet
    fast_bot.app[CLOCK].advance(timedelta(hours=3))  # type: ignore[attr-defined]
    assert (await rita.post(path, form | {"attendance": "maybe"}))[0] == 400
    assert (await rita.post(path, form))[0] == 303
    _, page = await rita.get(f"/console/leads/{said['lead_id']}")
    assert "no-show" in page
    async with fast_bot.app[SESSIONS]() as session:
        found = await session.get(Booking, booking.id)
        assert found is not None and found.attendance == "no_show"


async def test_ops_export_and_erase_a_lead_everywhere_and_reps_may_not(
    rita: Staff, olga: Staff, fast_bot: RunningBot, fake_rasa: FakeRasa
) -> None:
    said = await fast_bot.chat("visitor-erase-00000001", "how much is it? my name is Dana")
    lead_id, conversation_id = said["lead_id"], said["conversation_id"]
    assert (await rita.get(f"/console/leads/{lead_id}/export"))[0] == 403
    form = {"confirm": str(lead_id), "csrf": await rita.csrf()}
    assert (await rita.post(f"/console/leads/{lead_id}/erase", form))[0] == 403
    _, page = await rita.get(f"/console/leads/{lead_id}")
    assert 'id="erase"' not in page

    async with olga.http.get(f"{fast_bot.url}/console/leads/{lead_id}/export") as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        exported = json.loads(await response.text())
    assert "how much is it? my name is Dana" in [t["text"] for t in exported["lead"]["touchpoints"]]

    form = {"confirm": "1234567", "csrf": await olga.csrf()}  # not this lead's number
    status, _, page = await olga.post(f"/console/leads/{lead_id}/erase", form)
    assert status == 400  # not confirmed
    assert "Type the lead&#39;s number to confirm the erasure." in page
    form["confirm"] = str(lead_id)
    status, place, _ = await olga.post(f"/console/leads/{lead_id}/erase", form)
    assert (status, place) == (303, f"/console/conversations?erased={lead_id}")
    assert str(conversation_id) in fake_rasa.replaced  # Rasa's tracker too
    assert (await olga.get(f"/console/leads/{lead_id}"))[0] == 404
    assert (await fast_bot.ops("GET", f"/leads/{lead_id}"))[0] == 404
    async with fast_bot.app[SESSIONS]() as session:
        assert await session.get(Lead, lead_id) is None
    _, page = await olga.get(f"/console/conversations?erased={lead_id}")
    assert f"Lead {lead_id} was erased everywhere" in page
    assert [a for a in await audit_of(fast_bot) if a[1] != "logout"] == [
        ("olga", "lead_exported", f"lead {lead_id}"), ("olga", "lead_erased", f"lead {lead_id}"),
    ]  # fmt: skip
