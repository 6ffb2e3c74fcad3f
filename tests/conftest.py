"""Shared fixtures: real SQLite databases, the real app, the real Rasa server.

Everything async runs on one session-wide event loop (pyproject.toml), so the
Rasa server is started once per test run and shared by the integration tests.
"""

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.__main__ import create_app
from bot.catalog import Catalog
from bot.conversation import ConversationService
from bot.db import create_engine, migrate, session_factory
from bot.language import LanguageChooser
from bot.profile import Profile, load_profile
from bot.rasa_client import RasaClient
from bot.settings import Settings

OPS_TOKEN = "test-ops-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "port": free_port(),
        "rasa_port": free_port(),
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "bot_api_token": OPS_TOKEN,
        "rasa_restart_delay_seconds": 0.5,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}")
    await migrate(engine)
    yield engine
    await engine.dispose()


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
def service(
    sessions: async_sessionmaker[AsyncSession],
    dead_rasa: RasaClient,
    dealer: Profile,
    languages: LanguageChooser,
) -> ConversationService:
    return ConversationService(
        sessions,
        dead_rasa,
        Catalog.load(dealer, "en"),
        languages,
        default_language="en",
        max_message_chars=50,
    )


@dataclass
class RunningBot:
    app: web.Application
    settings: Settings
    url: str
    http: aiohttp.ClientSession

    async def chat(self, sender: str, text: str, language: str | None = None) -> dict:  # type: ignore[type-arg]
        body = {"sender": sender, "text": text, "language": language}
        async with self.http.post(f"{self.url}/api/v1/chat", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()  # type: ignore[no-any-return]

    async def lead(self, lead_id: int) -> dict:  # type: ignore[type-arg]
        headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
        async with self.http.get(f"{self.url}/api/v1/leads/{lead_id}", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()  # type: ignore[no-any-return]


async def serve(settings: Settings) -> AsyncIterator[RunningBot]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    async with aiohttp.ClientSession() as http:
        yield RunningBot(app, settings, f"http://{settings.host}:{settings.port}", http)
    await runner.cleanup()


@pytest.fixture(scope="session")
async def bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningBot]:
    """The real app with its own managed Rasa server on the trained model (~40 s to start)."""
    async for running in serve(make_settings(tmp_path_factory.mktemp("live"))):
        yield running


@pytest.fixture
async def bot_without_rasa(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real app pointed at a Rasa that is down: the HTTP layer, fast."""
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}")
    async for running in serve(settings):
        yield running
