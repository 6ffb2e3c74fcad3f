"""The web chat socket: follow-ups pushed to open widgets, or kept until the visitor is back."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.conversation.messages import Button, OutboundMessage
from bot.crm import leads, touchpoints
from bot.followups import followups
from bot.storage.models import FollowUp, Touchpoint
from handlers.context import FOLLOWUPS, SESSIONS
from tests.conftest import RunningBot, free_port, make_settings, serve

VISITOR = "visitor-abcdef123456"


async def test_a_follow_up_reaches_an_open_widget_at_once(bot_without_rasa: RunningBot) -> None:
    bot = bot_without_rasa
    async with bot.app[SESSIONS]() as session:
        conversation = await leads.conversation_for(session, "web", VISITOR)
        await session.commit()
    send = bot.app[FOLLOWUPS].senders["web"]
    message = OutboundMessage("A reminder", (Button("0", "nps:0"),))
    assert await send(conversation, message) is False  # nobody connected: it waits

    async with bot.http.ws_connect(f"{bot.url}/ws?visitor={VISITOR}") as ws:
        assert await send(conversation, message) is True
        pushed = await ws.receive_json(timeout=5)
    assert pushed == {"type": "reply", "text": "A reminder",
                      "buttons": [{"title": "0", "payload": "nps:0"}]}  # fmt: skip


async def test_messages_sent_while_away_are_shown_on_the_next_visit(
    bot_without_rasa: RunningBot,
) -> None:
    bot = bot_without_rasa
    async with bot.app[SESSIONS]() as session:
        conversation = await leads.conversation_for(session, "web", VISITOR)
        await session.flush()
        reply = OutboundMessage("You started booking a test drive", (Button("Go", "/book"),))
        touchpoints.record(
            session, conversation, direction="out", author="bot", text=reply.text,
            status="queued", data={"reply": reply.as_dict()},
        )  # fmt: skip
        await session.commit()

    async with bot.http.ws_connect(f"{bot.url}/ws?visitor={VISITOR}") as ws:
        shown = await ws.receive_json(timeout=5)
    assert shown["text"] == "You started booking a test drive"
    assert shown["buttons"] == [{"title": "Go", "payload": "/book"}]
    async with bot.app[SESSIONS]() as session:
        statuses = list(await session.scalars(select(Touchpoint.status)))
    assert statuses == ["done"]  # shown once, not again on the visit after


async def test_the_app_sends_due_follow_ups_by_itself(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", rasa_token="t",
        followup_interval_seconds=0.1,
    )  # fmt: skip
    async for bot in serve(settings):
        async with bot.app[SESSIONS]() as session:
            conversation = await leads.conversation_for(session, "web", VISITOR)
            await session.flush()
            await followups.nudge_later(session, conversation.lead_id, datetime.now(UTC))
            await session.flush()
            nudge = await session.scalar(select(FollowUp))
            assert nudge is not None
            nudge.due_at = datetime.now(UTC) - timedelta(seconds=1)
            await session.commit()
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with bot.app[SESSIONS]() as session:
                if await session.scalar(select(FollowUp.status)) == "sent":
                    break
        else:
            raise AssertionError("the follow-up runner did not send the due nudge")
