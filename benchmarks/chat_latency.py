"""Reply latency: 100 sequential turns through the app's /api/v1/chat next to
Rasa's own REST webhook on the same model and the same messages.

Starts the real app (temporary SQLite database) with its managed Rasa server,
whose stock ``rest`` channel is switched on for the comparison only. Prints
p50/p99/mean per path and the resident memory of both processes.

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

from bot.__main__ import create_app
from bot.settings import PROJECT_DIR, Settings
from handlers.context import RASA_PROCESS

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


async def main(turns: int, port: int, rasa_port: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    credentials = workdir / "credentials.yml"
    credentials.write_text(
        (PROJECT_DIR / "credentials.yml").read_text() + "\nrest:\n", encoding="utf-8"
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        port=port,
        rasa_port=rasa_port,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        rasa_credentials=credentials,
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
                params={"token": process.token},
            ),
        }
    assert process.process is not None
    app_rss, rasa_rss = rss_mb(os.getpid()), rss_mb(process.process.pid)
    await runner.cleanup()

    print(f"\n{turns} sequential turns, same model, same messages ({', '.join(MESSAGES)})")
    print(f"{'path':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, timings in results.items():
        print(
            f"{name:<28}{percentile(timings, 0.5):>9.1f}{percentile(timings, 0.99):>9.1f}"
            f"{statistics.fmean(timings):>9.1f}"
        )
    print(f"\nresident memory: app {app_rss:.0f} MB, Rasa {rasa_rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--rasa-port", type=int, default=5099)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns, arguments.port, arguments.rasa_port))
