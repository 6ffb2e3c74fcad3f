"""GDPR through the ops API: export everything about a lead, erase it everywhere (Rasa's
tracker first; a Rasa that is down erases nothing), and search the conversations."""

from sqlalchemy import select

from bot.storage.models import AuditEvent, Lead
from handlers.context import SESSIONS
from tests.conftest import RunningBot
from tests.fakes.rasa import FakeRasa


async def test_the_export_has_the_leads_words_and_is_audited(fast_bot: RunningBot) -> None:
    said = await fast_bot.chat("visitor-export-0000001", "how much is the corolla?")
    status, exported = await fast_bot.ops("GET", f"/leads/{said['lead_id']}/export")
    assert status == 200
    texts = [t["text"] for t in exported["lead"]["touchpoints"]]
    assert "how much is the corolla?" in texts and len(texts) >= 2  # and the answer
    assert [c["id"] for c in exported["conversations"]] == [said["conversation_id"]]
    assert set(exported) >= {"bookings", "handoffs", "followups", "exported_at"}
    assert (await fast_bot.ops("GET", "/leads/999999/export"))[0] == 404
    async with fast_bot.app[SESSIONS]() as session:
        audit = (await session.scalars(select(AuditEvent))).all()
    assert [(a.actor, a.action) for a in audit] == [("ops API", "lead_exported")]


async def test_erasing_forgets_rasas_tracker_then_the_lead(
    fast_bot: RunningBot, fake_rasa: FakeRasa
) -> None:
    said = await fast_bot.chat("visitor-erase-api-0001", "hello, I am Dana")
    other = await fast_bot.chat("visitor-erase-api-0002", "hello")
    lead_id = said["lead_id"]
    assert (await fast_bot.ops("DELETE", f"/leads/{lead_id}"))[0] == 200
    assert fake_rasa.replaced == [str(said["conversation_id"])]
    assert (await fast_bot.ops("GET", f"/leads/{lead_id}"))[0] == 404
    assert (await fast_bot.ops("DELETE", f"/leads/{lead_id}"))[0] == 404
    assert (await fast_bot.ops("GET", f"/leads/{other['lead_id']}"))[0] == 200
    status, found = await fast_bot.ops("GET", "/conversations?q=Dana")
    assert (status, found) == (200, {"conversations": []})


async def test_with_rasa_down_nothing_is_erased(fast_bot: RunningBot, fake_rasa: FakeRasa) -> None:
    said = await fast_bot.chat("visitor-erase-api-0003", "hello")
    await fake_rasa.__aexit__(None, None, None)  # Rasa goes away
    status, body = await fast_bot.ops("DELETE", f"/leads/{said['lead_id']}")
    assert status == 503 and "nothing was erased" in body["error"]
    async with fast_bot.app[SESSIONS]() as session:
        assert await session.get(Lead, said["lead_id"]) is not None


async def test_conversations_are_searched_like_the_console(fast_bot: RunningBot) -> None:
    first = await fast_bot.chat("visitor-search-api-001", "how much is the corolla?")
    await fast_bot.chat("visitor-search-api-002", "hello there")
    status, found = await fast_bot.ops("GET", "/conversations?q=COROLLA")
    assert status == 200
    rows = found["conversations"]
    assert [r["conversation_id"] for r in rows] == [first["conversation_id"]]
    assert rows[0]["outcome"] == "open" and rows[0]["first_response_seconds"] is not None
    assert len((await fast_bot.ops("GET", "/conversations?limit=1"))[1]["conversations"]) == 1
    assert (await fast_bot.ops("GET", "/conversations?limit=x"))[0] == 400
