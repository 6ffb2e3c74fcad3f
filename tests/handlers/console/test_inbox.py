"""The reps' inbox on the console: what waits, taking a handoff (one rep wins), answering
the prospect, handing back; open inboxes hear of each change as a server-sent event.
The real app on the fake Rasa server."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.storage.models import Handoff, Touchpoint
from handlers.context import SESSIONS
from tests.conftest import RunningBot, Staff, eventually, signed_in

HANDOFF = re.compile(r'<article class="card" id="handoff-(\d+)" data-status="(\w+)">')


@pytest.fixture
async def ron(fast_bot: RunningBot) -> AsyncIterator[Staff]:
    async with signed_in(fast_bot, "ron", "rep") as staff:
        yield staff


async def cards(staff: Staff, tab: str = "waiting") -> list[tuple[int, str]]:
    status, page = await staff.get(f"/console/handoffs?tab={tab}")
    assert status == 200, page
    return [(int(n), s) for n, s in HANDOFF.findall(page)]


async def events(staff: Staff, into: list[dict[str, Any]], ready: asyncio.Event) -> None:
    """Read the inbox's event stream as a browser's EventSource does."""
    async with staff.http.get(f"{staff.bot.url}/console/handoffs/events") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        async for line in response.content:
            ready.set()
            if line.startswith(b"data: "):
                into.append(json.loads(line[6:]))


async def test_a_rep_takes_answers_and_hands_back_while_the_others_inbox_follows(
    rita: Staff, ron: Staff, fast_bot: RunningBot
) -> None:
    heard: list[dict[str, Any]] = []
    ready = asyncio.Event()
    listening = asyncio.create_task(events(ron, heard, ready))
    try:
        await asyncio.wait_for(ready.wait(), 5)
        said = await fast_bot.chat("visitor-inbox-0000001", "can I talk to a human?")
        await eventually(lambda: _heard(heard, "announced"))
        [(handoff, status)] = await cards(ron)
        assert status == "waiting"
        _, page = await ron.get("/console/handoffs")
        assert "can I talk to a human?" in page  # the card, in the prospect's words

        form = {"csrf": await rita.csrf("/console/handoffs")}
        taken = await rita.post(f"/console/handoffs/{handoff}/claim?tab=waiting", form)
        assert taken[:2] == (303, "/console/handoffs?tab=mine")
        await eventually(lambda: _heard(heard, "claimed"))
        assert await cards(ron) == []  # no longer waiting
        form = {"csrf": await ron.csrf("/console/handoffs")}
        status, _, page = await ron.post(f"/console/handoffs/{handoff}/claim", form)
        assert status == 409 and "rita has taken it" in page
        assert await cards(rita, "mine") == [(handoff, "claimed")]
        assert await cards(ron, "mine") == []

        form = {"csrf": await rita.csrf("/console/handoffs"), "text": "Hi, Rita here!",
                "message_id": "form-1"}  # fmt: skip
        assert (await rita.post(f"/console/handoffs/{handoff}/messages", form))[0] == 303
        assert (await rita.post(f"/console/handoffs/{handoff}/messages", form))[0] == 303  # again
        await eventually(lambda: _heard(heard, "answered"))
        form["text"] = "me too"
        form["csrf"] = await ron.csrf("/console/handoffs")
        assert (await ron.post(f"/console/handoffs/{handoff}/messages", form))[0] == 409

        form = {"csrf": await rita.csrf("/console/handoffs")}
        assert (await rita.post(f"/console/handoffs/{handoff}/release", form))[0] == 303
        await eventually(lambda: _heard(heard, "released"))
        assert (await rita.post(f"/console/handoffs/{handoff}/release", form))[0] == 409
    finally:
        listening.cancel()
    async with fast_bot.app[SESSIONS]() as session:
        record = await session.get(Handoff, handoff)
        assert record is not None and (record.status, record.rep) == ("closed", "rita")
        assert record.first_reply_at is not None
        sent = await session.scalars(
            select(Touchpoint.text).where(
                Touchpoint.conversation_id == said["conversation_id"], Touchpoint.author == "rep"
            )
        )
        assert list(sent).count("Hi, Rita here!") == 1  # the double submit sent it once
    assert [c[0] for c in await cards(rita, "all")] == [handoff]


async def test_the_list_part_is_what_the_page_redraws_and_strangers_get_nothing(
    rita: Staff, fast_bot: RunningBot
) -> None:
    await fast_bot.chat("visitor-inbox-0000002", "<b>a person</b> please")
    status, part = await rita.get("/console/handoffs?part=list")
    assert status == 200 and "<html" not in part and 'data-status="waiting"' in part
    assert "&lt;b&gt;a person&lt;/b&gt; please" in part
    async with aiohttp.ClientSession() as stranger:
        url = f"{fast_bot.url}/console/handoffs/events"
        async with stranger.get(url, allow_redirects=False) as response:
            assert response.status == 302


def _heard(heard: list[dict[str, Any]], kind: str) -> Any:
    async def check() -> bool:
        return any(event["kind"] == kind for event in heard)

    return check()
