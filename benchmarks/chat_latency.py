"""Reply latency: 100 sequential turns through the app's /api/v1/chat and its
Telegram channel, next to Rasa's own REST webhook on the same model and messages.

Starts the real app (temporary SQLite database) with its managed Rasa server,
whose stock ``rest`` channel is switched on for the comparison only, and
Telegram long polling against the tests' fake Bot API server (a Telegram turn
is timed from the update being offered to getUpdates until its sendMessage
arrives). Then a burst: 10 chats send 10 messages each at once. Prints
p50/p99/mean per path, the burst's time, and the memory of both processes.

    make bench            # or: .venv/bin/python benchmarks/chat_latency.py --turns 100
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from bot.__main__ import create_app
from bot.settings import PROJECT_DIR, Settings
from bot.storage.models import Conversation, Touchpoint
from handlers.context import RASA_PROCESS, SESSIONS
from tests.fakes.bot_api import FakeBotAPI

MESSAGES = ["hi", "tell me a joke", "bye", "hello there", "what is the weather", "see you"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed_turns(
    http: aiohttp.ClientSession, url: str, bodies: list[dict[str, object]], **kwargs: object
) -> list[float]:
    timings = []
    for body in bodies:
        start = time.perf_counter()
        async with http.post(url, json=body, **kwargs) as response:  # type: ignore[arg-type]
            await response.read()
            assert response.status == 200, response.status
        timings.append((time.perf_counter() - start) * 1000)
    return timings


async def telegram_turns(api: FakeBotAPI, chat_id: int, texts: list[str]) -> list[float]:
    timings = []
    for n, text in enumerate(texts, start=1):
        start = time.perf_counter()
        api.push_update(api.message_update(chat_id, text))
        await api.wait_for("sendMessage", n, chat_id=chat_id, timeout=60)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


async def telegram_burst(app: web.Application, api: FakeBotAPI, chats: int, each: int) -> float:
    """Seconds until every one of chats x each messages, sent at once, has been answered
    (counted in the database: some turns get two replies, the source question)."""
    start = time.perf_counter()
    for n in range(each):
        for chat in range(chats):
            api.push_update(api.message_update(800_000 + chat, MESSAGES[n % len(MESSAGES)]))
    answered = (
        select(func.count())
        .select_from(Touchpoint)
        .join(Conversation, Conversation.id == Touchpoint.conversation_id)
        .where(
            Conversation.external_id.like("8000%"),
            Touchpoint.direction == "in",
            Touchpoint.processed_at.is_not(None),
        )
    )
    while time.perf_counter() - start < 300:
        async with app[SESSIONS]() as session:
            if await session.scalar(answered) == chats * each:
                break
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


async def main(turns: int, port: int, rasa_port: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    credentials = workdir / "credentials.yml"
    credentials.write_text(
        (PROJECT_DIR / "credentials.yml").read_text() + "\nrest:\n", encoding="utf-8"
    )
    api = FakeBotAPI()
    await api.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        port=port,
        rasa_port=rasa_port,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        rasa_credentials=credentials,
        telegram_bot_token=api.token,
        telegram_api_url=api.url,
        telegram_throttle_messages=10_000,  # measure the path, not the flood guard
    )
    app = create_app(settings)
    runner = web.AppRunner(app)
    print("starting the app and its Rasa server ...", flush=True)
    await runner.setup()
    await web.TCPSite(runner, settings.host, port).start()
    process = app[RASA_PROCESS]
    texts = [MESSAGES[i % len(MESSAGES)] for i in range(turns)]
    async with aiohttp.ClientSession() as http:
        chat_url = f"http://127.0.0.1:{port}/api/v1/chat"
        rest_url = f"{process.url}/webhooks/rest/webhook"
        journey_url = f"{process.url}/webhooks/journey/webhook"
        # one warm-up turn each, so model loading and connection set-up do not count
        await timed_turns(http, chat_url, [{"sender": "warm-app", "text": "hi"}])
        await timed_turns(http, rest_url, [{"sender": "warm-rest", "message": "hi"}])
        await telegram_turns(api, 700_000, ["hi"])
        results = {
            "app /api/v1/chat": await timed_turns(
                http, chat_url, [{"sender": "bench-app", "text": t} for t in texts]
            ),
            "Rasa REST webhook (bare)": await timed_turns(
                http, rest_url, [{"sender": "bench-rest", "message": t} for t in texts]
            ),
            "Rasa journey channel": await timed_turns(
                http,
                journey_url,
                [{"sender": "bench-journey", "message": t} for t in texts],
                headers={"Authorization": f"Bearer {process.token}"},
            ),
            "app Telegram (polling)": await telegram_turns(api, 700_001, texts),
        }
        burst_chats, burst_each = 10, 10
        burst = await telegram_burst(app, api, burst_chats, burst_each)
    assert process.process is not None
    app_rss, rasa_rss = rss_mb(os.getpid()), rss_mb(process.process.pid)
    await runner.cleanup()
    await api.close()

    print(f"\n{turns} sequential turns, same model, same messages ({', '.join(MESSAGES)})")
    print(f"{'path':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, timings in results.items():
        print(
            f"{name:<28}{percentile(timings, 0.5):>9.1f}{percentile(timings, 0.99):>9.1f}"
            f"{statistics.fmean(timings):>9.1f}"
        )
    total = burst_chats * burst_each
    print(
        f"\nTelegram burst: {burst_chats} chats x {burst_each} messages at once, all "
        f"{total} answered in {burst:.1f} s ({total / burst:.1f} turns/s)"
    )
    print(f"resident memory: app {app_rss:.0f} MB, Rasa {rasa_rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--rasa-port", type=int, default=5099)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns, arguments.port, arguments.rasa_port))
