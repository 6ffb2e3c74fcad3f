"""Fault drills under load: many prospects at once while a part of the path breaks.

Each drill runs prospects that behave as a real client of the chat API does: a
message that got no answer (a dropped connection, a refused one) is sent again
with the same ``message_id`` until it is answered. Then it counts messages sent,
stored (and stored twice) and answered, prints them, and asserts the guarantees:
every message stored once and answered once, no turn failed from load.

The fake Rasa stands in for Rasa (its real protocol, with a delay per turn), so
the drills are about the app: its process killed with SIGKILL and started again,
its database restarted, its Rasa slow or killed.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import Settings
from bot.storage.models import Touchpoint
from tests.app_process import CHAT_AUTH, AppProcess
from tests.conftest import PostgresServer, RedisServer, on_fake, serve_with
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.drill
TEXTS = ["hello", "how much is it?", "where are you?", "do you offer a loan?", "thanks, bye"]


@dataclass
class Load:
    """Prospects talking at once, each retrying an unanswered message under its id."""

    url: str
    prospects: int
    texts: list[str] = field(default_factory=lambda: list(TEXTS))
    answered: dict[str, list[str]] = field(default_factory=dict)  # message id -> replies
    failed_replies: int = 0  # answered with "a person will follow up"
    retries: int = 0
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def sent(self) -> int:
        return self.prospects * len(self.texts)

    async def run(self, patience: float = 120) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await asyncio.wait_for(
                asyncio.gather(*(self._prospect(http, n) for n in range(self.prospects))),
                patience,
            )

    async def _prospect(self, http: aiohttp.ClientSession, n: int) -> None:
        for turn, said in enumerate(self.texts):
            message_id = f"drill-{n}-{turn}"
            body = {"sender": f"drill-{n}", "text": said, "message_id": message_id}
            while message_id not in self.answered:
                try:
                    post = http.post(f"{self.url}/api/v1/chat", json=body, headers=CHAT_AUTH)
                    async with post as response:
                        if response.status == 200:
                            replies = [r["text"] for r in (await response.json())["replies"]]
                            self.answered[message_id] = replies
                            self.failed_replies += any("having trouble" in r for r in replies)
                            self.progress.set()
                            continue
                except (aiohttp.ClientError, TimeoutError):
                    pass
                self.retries += 1
                await asyncio.sleep(0.2)

    async def after(self, answers: int) -> None:
        """Wait until this many messages were answered."""
        while len(self.answered) < answers:
            self.progress.clear()
            await self.progress.wait()


async def under_load(
    rasa: FakeRasa, settings: Settings, fault: Callable[[], Awaitable[None]]
) -> Load:
    """20 prospects on the app in this process; ``fault`` strikes after 30 answers."""
    async for bot in serve_with(rasa, settings):
        load = Load(bot.url, prospects=20)
        running = asyncio.create_task(load.run())
        await load.after(30)
        await fault()
        await running
    return load


async def restart(server: PostgresServer | RedisServer) -> None:
    await asyncio.to_thread(server.stop)
    await asyncio.sleep(1)
    await asyncio.to_thread(server.start)


async def stored(database_url: str) -> tuple[int, int]:
    """Inbound touchpoints of the drill: (rows, distinct message ids)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows, keys = (
                await connection.execute(
                    select(func.count(), func.count(func.distinct(Touchpoint.idempotency_key)))
                    .where(Touchpoint.direction == "in")
                    .where(Touchpoint.idempotency_key.like("api:drill-%"))
                )
            ).one()
    finally:
        await engine.dispose()
    return int(rows), int(keys)


async def report(name: str, load: Load, database_url: str) -> None:
    rows, keys = await stored(database_url)
    print(
        f"\ndrill {name}: sent {load.sent}, stored {rows} ({keys} distinct), answered "
        f"{len(load.answered)}, told 'a person will follow up' {load.failed_replies}, "
        f"client retries {load.retries}"
    )
    assert rows == keys == load.sent  # nothing lost, nothing doubled
    assert len(load.answered) == load.sent


async def test_the_app_killed_mid_load_and_started_again_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    async with FakeRasa(delay=0.05) as rasa:
        app = AppProcess(tmp_path, RASA_URL=rasa.url, RASA_TOKEN=rasa.token)
        rasa.action_url = f"{app.url}/webhooks/rasa/actions"
        await app.start()
        load = Load(app.url, prospects=20)
        running = asyncio.create_task(load.run())
        try:
            await load.after(30)
            await app.kill()  # SIGKILL: turns in flight, transactions open
            await asyncio.sleep(0.5)
            await app.start()
            await running
        finally:
            running.cancel()
            await app.stop()
    await report("app SIGKILL", load, app.env["DATABASE_URL"])
    assert load.failed_replies == 0 and load.retries > 0


async def test_a_slow_rasa_queues_the_load_and_fails_no_turn(tmp_path: Path) -> None:
    """40 prospects, two turns at a time in a Rasa taking 0.3 s each: the last ones wait
    far longer than the 1 s timeout, and all are answered."""
    async with FakeRasa(delay=0.3) as rasa:
        settings = on_fake(rasa, tmp_path, rasa_in_flight=2, rasa_timeout_seconds=1.0)
        async for bot in serve_with(rasa, settings):
            load = Load(bot.url, prospects=40, texts=TEXTS[:2])
            started = time.monotonic()
            await load.run()
            took = time.monotonic() - started
    await report("Rasa slow", load, settings.database_url)
    assert load.failed_replies == 0 and load.retries == 0
    assert took >= 80 * 0.3 / 2  # queued two at a time, not failed fast


async def test_rasa_killed_mid_load_costs_polite_answers_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """Rasa dies under load and comes back 2 s later: the turns meanwhile are answered
    "a person will follow up" (and marked failed for the team), the rest normally."""
    async with FakeRasa(delay=0.05) as rasa:
        settings = on_fake(rasa, tmp_path, rasa_timeout_seconds=2.0)

        async def kill_rasa() -> None:
            await rasa.stop()
            await asyncio.sleep(2)
            await rasa.start()

        load = await under_load(rasa, settings, kill_rasa)
    await report("Rasa killed", load, settings.database_url)
    assert 0 < load.failed_replies < load.sent


@pytest.fixture
async def postgres_server() -> AsyncIterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.remove()


@pytest.mark.postgres
async def test_postgresql_restarted_mid_load_costs_a_delay_not_a_message(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    database_url = f"{postgres_server.url}/postgres"
    async with FakeRasa(delay=0.05) as rasa:
        settings = on_fake(rasa, tmp_path, database_url=database_url)
        load = await under_load(rasa, settings, lambda: restart(postgres_server))
    await report("PostgreSQL restart", load, database_url)
    assert load.failed_replies == 0


@pytest.mark.redis
async def test_redis_restarted_mid_load_costs_a_delay_not_a_message(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The production mode's per-conversation queues and rate limits live in Redis:
    while it restarts, turns wait for it (and the flood guard lets messages through)."""
    async with FakeRasa(delay=0.05) as rasa:
        settings = on_fake(
            rasa, tmp_path, redis_url=redis_server.url,
            rate_limit_storage_url=f"async+{redis_server.url}",
        )  # fmt: skip
        load = await under_load(rasa, settings, lambda: restart(redis_server))
    await report("Redis restart", load, settings.database_url)
    assert load.failed_replies == 0
