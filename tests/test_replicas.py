"""Production mode: two app processes on one PostgreSQL and one Redis, no load balancer
but requests alternating between them, the same chats' messages spread over both.

Order kept and no turn of a conversation overlapping another (Redis locks), nothing
stored or answered twice, follow-ups sent once though both replicas run them, and a
rep's answer sent through replica B reaching the widget connected to replica A.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.conversation.locks import queue_key
from bot.storage.models import FollowUp, Lead, Touchpoint
from tests.app_process import CHAT_AUTH, OPS_TOKEN, AppProcess
from tests.conftest import RedisServer, new_database
from tests.fakes.rasa import Call, FakeRasa

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}


class Inside:
    """What the fake Rasa saw: each conversation's messages in order, and whether two
    turns of one conversation were ever inside Rasa at once."""

    def __init__(self) -> None:
        self.now: defaultdict[str, int] = defaultdict(int)
        self.overlaps = 0

    async def __call__(self, call: Call) -> None:
        self.now[call.sender] += 1
        self.overlaps += self.now[call.sender] > 1
        await asyncio.sleep(0.2)
        self.now[call.sender] -= 1


@pytest.fixture
async def replicas(
    tmp_path: Path, postgres: str, redis_server: RedisServer
) -> AsyncIterator[tuple[AppProcess, AppProcess, FakeRasa, Inside, str, Redis]]:
    database = await new_database(postgres)
    inside = Inside()
    async with FakeRasa(during_turn=inside) as rasa:
        shared = {
            "DATABASE_URL": database, "REDIS_URL": redis_server.url,
            "RATE_LIMIT_STORAGE_URL": f"async+{redis_server.url}",
            "RASA_URL": rasa.url, "RASA_TOKEN": rasa.token, "FOLLOWUP_INTERVAL_SECONDS": "1",
        }  # fmt: skip
        a = AppProcess(tmp_path / "a", **shared)
        b = AppProcess(tmp_path / "b", **shared)
        rasa.action_url = f"{a.url}/webhooks/rasa/actions"
        redis = Redis.from_url(redis_server.url)
        try:
            await asyncio.gather(a.start(), b.start())  # both migrate: one waits for the other
            yield a, b, rasa, inside, database, redis
        finally:
            await asyncio.gather(a.stop(), b.stop())
            await redis.aclose()


async def chat(
    http: aiohttp.ClientSession, app: AppProcess, sender: str, text: str, message_id: str
) -> dict[str, Any]:
    body = {"sender": sender, "text": text, "message_id": message_id}
    async with http.post(f"{app.url}/api/v1/chat", json=body, headers=CHAT_AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()  # type: ignore[no-any-return]


async def joined(redis: Redis, sender: str, turns: list[asyncio.Task[Any]]) -> None:
    """Every message sent and not yet answered has joined its conversation's queue:
    the next one is sent after it, to either replica (arrival order is what is kept)."""
    for _ in range(500):
        waiting = sum(not turn.done() for turn in turns)
        if await redis.llen(queue_key(("api", sender))) >= waiting:  # type: ignore[misc]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the turns of {sender} did not join the queue")


async def test_two_replicas_keep_order_store_once_send_follow_ups_once_and_share_pushes(
    replicas: tuple[AppProcess, AppProcess, FakeRasa, Inside, str, Redis],
) -> None:
    a, b, rasa, inside, database, redis = replicas
    texts = ["hello", "how much is it?", "where are you?", "thanks"]
    senders = [f"replicas-{n}" for n in range(8)]
    async with aiohttp.ClientSession() as http:

        async def prospect(sender: str) -> list[dict[str, Any]]:
            turns = []
            for k, said in enumerate(texts):  # each next message while the last is in Rasa
                target = (a, b)[k % 2]
                sent = chat(http, target, sender, said, f"{sender}-{k}")
                turns.append(asyncio.create_task(sent))
                await joined(redis, sender, turns)
            return await asyncio.gather(*turns)

        answers = await asyncio.gather(*(prospect(s) for s in senders))
        calls = len(rasa.calls)
        again = await chat(http, b, senders[0], texts[0], f"{senders[0]}-0")  # a retry, on B
        assert again["replies"] == answers[0][0]["replies"] and len(rasa.calls) == calls

        seen: defaultdict[str, list[str]] = defaultdict(list)
        for call in rasa.calls:
            seen[call.sender].append(call.text)
        assert sorted(seen.values()) == [texts] * len(senders)  # each chat in its order
        assert inside.overlaps == 0

        await _follow_ups_go_out_once(database, [turns[0]["lead_id"] for turns in answers])
        await _a_rep_on_b_reaches_the_widget_on_a(http, a, b)

    engine = create_async_engine(database)
    async with engine.connect() as connection:
        rows, keys = (await connection.execute(
            select(func.count(), func.count(func.distinct(Touchpoint.idempotency_key)))
            .where(Touchpoint.direction == "in", Touchpoint.channel == "api")
        )).one()  # fmt: skip
    await engine.dispose()
    assert rows == keys == len(senders) * len(texts)


async def _follow_ups_go_out_once(database: str, lead_ids: list[int]) -> None:
    """Both replicas run the follow-ups every second: each nudge goes out once."""
    engine = create_async_engine(database)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            for lead_id in lead_ids:
                await connection.execute(FollowUp.__table__.insert().values(
                    lead_id=lead_id, kind="nudge", key=f"replicas:{lead_id}", due_at=now,
                    status="pending", attempts=0, data={}, created_at=now,
                ))  # fmt: skip
        for _ in range(100):
            async with engine.connect() as connection:
                statuses = list(await connection.scalars(
                    select(FollowUp.status).where(FollowUp.key.like("replicas:%"))))  # fmt: skip
            if statuses and all(status == "sent" for status in statuses):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.5)  # two more rounds of both runners
        async with engine.connect() as connection:
            statuses = list(await connection.scalars(
                select(FollowUp.status).where(FollowUp.key.like("replicas:%"))))  # fmt: skip
            nudges = Touchpoint.kind == "followup_nudge", Touchpoint.lead_id.in_(lead_ids)
            sent = await connection.scalar(
                select(func.count()).select_from(Touchpoint).where(*nudges)
            )
            leads = await connection.scalar(select(func.count()).select_from(Lead))
    finally:
        await engine.dispose()
    assert statuses == ["sent"] * len(lead_ids) and sent == len(lead_ids), (statuses, sent)
    assert leads == len(lead_ids)


async def _a_rep_on_b_reaches_the_widget_on_a(
    http: aiohttp.ClientSession, a: AppProcess, b: AppProcess
) -> None:
    visitor = "visitor-replicas-0001"
    async with http.ws_connect(f"{a.url}/ws?visitor={visitor}") as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "history"
        await ws.send_json({"type": "message", "id": "rep-000001", "text": "can a person help me?"})
        while (await ws.receive_json(timeout=10))["type"] != "done":
            pass
        async with http.get(f"{b.url}/api/v1/handoffs", headers=OPS) as response:
            [handoff] = [h for h in (await response.json())["handoffs"] if h["channel"] == "web"]
        url = f"{b.url}/api/v1/handoffs/{handoff['id']}"
        async with http.post(f"{url}/claim", json={"rep": "Dana"}, headers=OPS) as response:
            assert response.status == 200, await response.text()
        said = {"rep": "Dana", "text": "Hi, Dana here: how can I help?"}
        async with http.post(f"{url}/messages", json=said, headers=OPS) as response:
            assert response.status == 200, await response.text()
        frames = []
        while not any(f.get("text") == said["text"] for f in frames):
            frames.append(await ws.receive_json(timeout=10))
    [reply] = [f for f in frames if f.get("text") == said["text"]]
    assert reply["type"] == "reply" and reply["author"] == "Dana"
