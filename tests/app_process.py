"""The app as production runs it: ``python -m bot``, a process of its own, set up by
its environment. Tests and benchmarks kill it (SIGKILL), start it again on the same
database, and read what it started from ``/proc``."""

import asyncio
import contextlib
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import IO

import aiohttp

from bot.settings import PROJECT_DIR

OPS_TOKEN = "test-ops-token"
CHAT_TOKEN = "test-chat-token"
CHAT_AUTH = {"Authorization": f"Bearer {CHAT_TOKEN}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AppProcess:
    """``python -m bot`` as a process of its own, configured by its environment as in
    production: tests kill it with SIGKILL and start it again on the same database."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port, self.log = free_port(), tmp_path / f"app-{uuid.uuid4().hex[:6]}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)),
            "PORT": str(self.port), "RASA_PORT": str(free_port()),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "BOT_API_TOKEN": OPS_TOKEN, "CHAT_API_TOKEN": CHAT_TOKEN,
            "RASA_TRACKER_DIR": str(tmp_path),
        } | env  # fmt: skip
        self.process: asyncio.subprocess.Process | None = None

    def _output(self) -> IO[bytes]:
        return self.log.open("ab")

    def output(self, tail: int = 3000) -> str:
        """The end of what the app logged."""
        return self.log.read_text(errors="replace")[-tail:]

    async def start(self, patience: float = 240) -> None:
        """Start it and wait until it is healthy (its Rasa loaded)."""
        await self.spawn()
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"the app exited: {self.output()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.5)
        raise RuntimeError(f"the app did not become healthy: {self.output()}")

    async def spawn(self) -> None:
        """Start it, without waiting for anything."""
        with self._output() as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=self.env,
                cwd=PROJECT_DIR, stdout=log, stderr=log,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """The processes the app started (Rasa)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.pid:
                    found.append(int(stat.parent.name))
        return found

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


def proc(pid: int, name: str) -> bytes:
    """A process's /proc file (environ, cmdline): what anyone on the machine can read."""
    return Path(f"/proc/{pid}/{name}").read_bytes()


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
