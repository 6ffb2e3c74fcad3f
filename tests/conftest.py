"""Shared fixtures: real SQLite databases, the real app, the real Rasa server.

Everything async runs on one session-wide event loop (pyproject.toml), so the
Rasa server is started once per test run and shared by the integration tests.
"""

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from time import sleep
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.__main__ import create_app
from bot.clock import Clock, ManualClock
from bot.content.catalog import Catalog
from bot.content.profile import Profile, load_profile
from bot.conversation.language import LanguageChooser
from bot.conversation.service import ConversationService
from bot.conversation.steps import default_steps
from bot.conversation.throttle import Throttle
from bot.conversation.wording import Wording
from bot.dialogue.actions import Services
from bot.dialogue.rasa_client import RasaClient
from bot.settings import Settings
from bot.staff import users
from bot.storage.engine import create_engine, migrate, session_factory
from handlers.context import CLOCK, SESSIONS
from tests.app_process import CHAT_AUTH, CHAT_TOKEN, OPS_TOKEN, free_port
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.rasa import FakeRasa

REPS_CHAT = -1001234567890  # the sales reps' supergroup on the fake Bot API


def monday_morning() -> datetime:
    """08:00 in Israel on a Monday at least a week ahead, with no holiday in that week:
    "tomorrow at 11" is then a Tuesday with the showrooms open, whenever the tests run."""
    zone = ZoneInfo("Asia/Jerusalem")
    holidays = {h for name in ("car_dealer", "software") for b in load_profile(name).branches
                for h in b.holidays}  # fmt: skip
    day = datetime.now(zone).date() + timedelta(days=7)
    while day.weekday() != 0 or any(
        (day + timedelta(days=n)).isoformat() in holidays for n in range(8)
    ):
        day += timedelta(days=1)
    return datetime.combine(day, time(8), zone)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "port": free_port(),
        "rasa_port": free_port(),
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "bot_api_token": OPS_TOKEN,
        "chat_api_token": CHAT_TOKEN,
        "rasa_tracker_dir": tmp_path,
        "rasa_restart_delay_seconds": 0.5,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


def _as_postgres(*command: str) -> None:
    """Run a PostgreSQL tool; as root, as the postgres user (initdb refuses root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


class PostgresServer:
    """A throwaway PostgreSQL server (Debian's package, installed by `make test`) in a
    temporary folder; tests can stop and start it to see a database restart."""

    def __init__(self) -> None:
        initdb = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not initdb:
            pytest.fail(
                "PostgreSQL is missing: `make test` installs it (apt-get install postgresql)"
            )
        self.bin_dir, self.port = initdb[-1].parent, free_port()
        self.home = Path(tempfile.mkdtemp(prefix="journeybot-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
        self.data = self.home / "data"
        _as_postgres(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "bot", "-A", "trust",
            "--no-sync",
        )  # fmt: skip
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://bot@127.0.0.1:{self.port}"

    def start(self) -> None:
        _as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "log"),
            "-w", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.home} -c fsync=off", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)


class RedisServer:
    """A throwaway Redis server (Debian's package, installed by `make test`) on a free
    port, with no persistence; tests stop and start it to see a Redis restart."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("Redis is missing: `make test` installs it (apt-get install redis-server)")
        self.binary, self.port = binary, free_port()
        self.home = Path(tempfile.mkdtemp(prefix="journeybot-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.home)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.remove()


async def new_database(server_url: str) -> str:
    """A new, empty PostgreSQL database on the server; its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"{server_url}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a PostgreSQL server shared by the tests (each gets its own database)."""
    server = PostgresServer()
    yield server.url
    server.remove()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}")
        await migrate(engine)
        yield engine
        await engine.dispose()
        return
    server = request.getfixturevalue("postgres")
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(f"{server}/{name}")
    await migrate(engine)
    yield engine
    await engine.dispose()
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE "{name}"'))
    await admin.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def dead_rasa() -> AsyncIterator[RasaClient]:
    """A client for a Rasa that is down: nothing listens on its port."""
    client = RasaClient(f"http://127.0.0.1:{free_port()}", "token", timeout_seconds=2)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def languages() -> LanguageChooser:
    return LanguageChooser()


@pytest.fixture(scope="session", params=["car_dealer", "software"])
def profile(request: pytest.FixtureRequest) -> Profile:
    return load_profile(request.param)


@pytest.fixture(scope="session")
def dealer() -> Profile:
    return load_profile("car_dealer")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(monday_morning())


@pytest.fixture
def services(dealer: Profile, clock: ManualClock) -> Services:
    """What custom actions need: the car dealer's catalog in English and a hand-set clock."""
    return Services(Catalog.load(dealer, "en"), clock)


def conversation_service(
    sessions: async_sessionmaker[AsyncSession],
    rasa: RasaClient,
    dealer: Profile,
    languages: LanguageChooser,
    clock: Clock | None = None,
    **throttles: Throttle,
) -> ConversationService:
    """The real service with its default steps; messages over 50 characters are too long."""
    return ConversationService(
        sessions,
        rasa,
        Wording(Catalog.load(dealer, "en")),
        languages,
        clock=clock or Clock(),
        default_language="en",
        steps=default_steps(50, throttles),
        database_patience=5,
    )


@pytest.fixture
def service(
    sessions: async_sessionmaker[AsyncSession],
    dead_rasa: RasaClient,
    dealer: Profile,
    languages: LanguageChooser,
) -> ConversationService:
    return conversation_service(sessions, dead_rasa, dealer, languages)


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    async with FakeRasa() as rasa:
        yield rasa


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait until an asynchronous condition holds: what the bot does after it sent a message
    (marking it delivered, say) may land a moment after the fake server saw it."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check.__name__} did not hold within {seconds} s")
        await asyncio.sleep(0.05)


async def history_of(ws: aiohttp.ClientWebSocketResponse) -> dict:  # type: ignore[type-arg]
    """The ``history`` frame the app sends first on every web chat connect."""
    frame = await ws.receive_json(timeout=10)
    assert frame["type"] == "history", frame
    return frame  # type: ignore[no-any-return]


PASSWORD = "correct horse battery"  # every console user of the tests
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class RunningBot:
    app: web.Application
    settings: Settings
    url: str
    http: aiohttp.ClientSession

    async def chat(  # type: ignore[type-arg]
        self, sender: str, text: str, language: str | None = None, source: str | None = None
    ) -> dict:
        body = {"sender": sender, "text": text, "language": language, "source": source}
        post = self.http.post(f"{self.url}/api/v1/chat", json=body, headers=CHAT_AUTH)
        async with post as response:
            assert response.status == 200, await response.text()
            return await response.json()  # type: ignore[no-any-return]

    async def ops(self, method: str, path: str, **kwargs: object) -> tuple[int, dict]:  # type: ignore[type-arg]
        """Call the ops API; (status, body)."""
        headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
        call = self.http.request(method, f"{self.url}/api/v1{path}", headers=headers, **kwargs)  # type: ignore[arg-type]
        async with call as response:
            return response.status, await response.json()

    async def lead(self, lead_id: int) -> dict:  # type: ignore[type-arg]
        headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
        async with self.http.get(f"{self.url}/api/v1/leads/{lead_id}", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()  # type: ignore[no-any-return]


class Staff:
    """Someone of the team on the console, with their own cookies (``unsafe``: 127.0.0.1)."""

    def __init__(self, bot: RunningBot, http: aiohttp.ClientSession) -> None:
        self.bot, self.http = bot, http

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(f"{self.bot.url}{path}", allow_redirects=False) as response:
            return response.status, await response.text()

    async def csrf(self, path: str = "/console/login") -> str:
        _, page = await self.get(path)
        found = CSRF.search(page)
        assert found, page
        return found.group(1)

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        async with self.http.post(
            f"{self.bot.url}{path}", data=form, allow_redirects=False
        ) as response:
            return response.status, response.headers.get("Location", ""), await response.text()

    async def sign_in(self, name: str, password: str = PASSWORD, next_: str = "") -> int:
        form = {"username": name, "password": password, "csrf": await self.csrf()}
        path = f"/console/login?next={next_}" if next_ else "/console/login"
        return (await self.post(path, form))[0]


@contextlib.asynccontextmanager
async def signed_in(bot: RunningBot, name: str, role: str) -> AsyncIterator[Staff]:
    """A new console user with this role, signed in."""
    async with bot.app[SESSIONS]() as session:
        await users.add(session, name, role, PASSWORD, bot.app[CLOCK].now())
        await session.commit()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        staff = Staff(bot, http)
        assert await staff.sign_in(name) == 303
        yield staff


@pytest.fixture
async def rita(fast_bot: RunningBot) -> AsyncIterator[Staff]:
    """A rep signed in to the console of ``fast_bot``."""
    async with signed_in(fast_bot, "rita", "rep") as staff:
        yield staff


@pytest.fixture
async def olga(fast_bot: RunningBot) -> AsyncIterator[Staff]:
    """Ops, signed in to the console of ``fast_bot``."""
    async with signed_in(fast_bot, "olga", "ops") as staff:
        yield staff


async def serve(settings: Settings, clock: Clock | None = None) -> AsyncIterator[RunningBot]:
    app = create_app(settings, clock)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        async with aiohttp.ClientSession() as http:
            yield RunningBot(app, settings, f"http://{settings.host}:{settings.port}", http)
    finally:  # also when the test failed, or the generator was closed half-way
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: Clock | None = None) -> AsyncIterator[RunningBot]:
    """``serve`` as a context: the app is stopped even when the test fails inside it
    (an ``async for`` left by an exception leaves its generator unfinished)."""
    async with contextlib.aclosing(serve(settings, clock)) as instances:
        async for instance in instances:
            yield instance
            return


def telegram_of(api: FakeBotAPI) -> dict[str, object]:
    """Settings that turn Telegram on, talking to the fake Bot API server."""
    return {"telegram_bot_token": api.token, "telegram_api_url": api.url}


@pytest.fixture(scope="session")
async def live_bot_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture(scope="session")
async def bot(
    tmp_path_factory: pytest.TempPathFactory, live_bot_api: FakeBotAPI
) -> AsyncIterator[RunningBot]:
    """The real app with its own managed Rasa server on the trained model (~40 s to start),
    and Telegram long polling against the fake Bot API server ``live_bot_api``, whose
    group ``REPS_CHAT`` is the reps' group.

    Its clock is a ManualClock on a Monday morning (tests move it to see follow-ups);
    the follow-up runner is left to the tests, which call it after moving the clock.
    """
    settings = make_settings(
        tmp_path_factory.mktemp("live"), followup_interval_seconds=3600,
        telegram_reps_chat_id=REPS_CHAT, **telegram_of(live_bot_api),
    )  # fmt: skip
    async for running in serve(settings, ManualClock(monday_morning())):
        yield running


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


def without_rasa(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for the real app pointed at a Rasa that is down: fast, every reply polite."""
    dead = f"http://127.0.0.1:{free_port()}"
    return make_settings(tmp_path, rasa_url=dead, rasa_token="test-rasa-token", **overrides)


@pytest.fixture
async def telegram_bot(tmp_path: Path, bot_api: FakeBotAPI) -> AsyncIterator[RunningBot]:
    """The real app with Telegram long polling against the fake Bot API; Rasa is down."""
    async for running in serve(without_rasa(tmp_path, **telegram_of(bot_api))):
        yield running


@pytest.fixture
async def bot_without_rasa(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real app pointed at a Rasa that is down: the HTTP layer, fast."""
    async for running in serve(without_rasa(tmp_path)):
        yield running


async def serve_with(
    rasa: FakeRasa, settings: Settings, clock: Clock | None = None
) -> AsyncIterator[RunningBot]:
    """The real app on the fake Rasa server, which calls the app's action webhook."""
    async for running in serve(settings, clock):
        rasa.action_url = f"{running.url}/webhooks/rasa/actions"
        yield running


def on_fake(rasa: FakeRasa, tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(tmp_path, rasa_url=rasa.url, rasa_token=rasa.token, **overrides)


@pytest.fixture
async def fast_bot(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[RunningBot]:
    """The real app on the fake Rasa server, with a ManualClock on a Monday morning."""
    settings = on_fake(fake_rasa, tmp_path, followup_interval_seconds=3600)
    async for running in serve_with(fake_rasa, settings, ManualClock(monday_morning())):
        yield running


@pytest.fixture
async def fast_telegram_bot(
    tmp_path: Path, fake_rasa: FakeRasa, bot_api: FakeBotAPI
) -> AsyncIterator[RunningBot]:
    """The real app on the fake Rasa server with Telegram long polling on the fake Bot API."""
    settings = on_fake(fake_rasa, tmp_path, followup_interval_seconds=3600, **telegram_of(bot_api))
    async for running in serve_with(fake_rasa, settings, ManualClock(monday_morning())):
        yield running


@pytest.fixture
async def fast_webhook_bot(
    tmp_path: Path, bot_api: FakeBotAPI, fake_rasa: FakeRasa
) -> AsyncIterator[RunningBot]:
    """Webhook mode on the fake Rasa server, so turns get real answers."""
    settings = on_fake(fake_rasa, tmp_path, **telegram_of(bot_api))
    url = f"{settings.base_url}/webhooks/telegram"
    async for running in serve_with(
        fake_rasa, settings.model_copy(update={"telegram_webhook_url": url})
    ):
        await bot_api.wait_for("setWebhook", 1)
        yield running


@pytest.fixture
async def reps_bot(
    tmp_path: Path, fake_rasa: FakeRasa, bot_api: FakeBotAPI
) -> AsyncIterator[RunningBot]:
    """The fake-Rasa app with Telegram and the reps' group: handoffs end to end, fast.
    Its clock is Monday 10:00 in Israel: the showrooms are open."""
    settings = on_fake(
        fake_rasa, tmp_path, followup_interval_seconds=3600, telegram_reps_chat_id=REPS_CHAT,
        **telegram_of(bot_api),
    )  # fmt: skip
    clock = ManualClock(monday_morning() + timedelta(hours=2))
    async for running in serve_with(fake_rasa, settings, clock):
        yield running


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Debian's chromium through Playwright, one for the whole run."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@contextlib.asynccontextmanager
async def console_page(browser: Browser, bot: RunningBot, name: str) -> AsyncIterator[Page]:
    """A page of its own browser context (its own cookies), signed in as ``name``."""
    context = await browser.new_context(accept_downloads=True)
    try:
        page = await context.new_page()
        await page.goto(f"{bot.url}/console/login")
        await page.fill("input[name=username]", name)
        await page.fill("input[name=password]", PASSWORD)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        yield page
    finally:
        await context.close()


async def with_staff(bot: RunningBot, team: dict[str, str]) -> RunningBot:
    """``bot`` with these console users (name: role), added once for the shared bot."""
    async with bot.app[SESSIONS]() as session:
        for name, role in team.items():
            if await users.find(session, name) is None:
                await users.add(session, name, role, PASSWORD, bot.app[CLOCK].now())
        await session.commit()
    return bot
