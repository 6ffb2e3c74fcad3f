"""Runs the Rasa server as a supervised child process.

Rasa lives in its own virtualenv (its pins cannot share the app's), so the app
starts ``rasa run`` there, bound to 127.0.0.1 with a token, waits until the
model is loaded, restarts it if it dies and stops it on exit. The token goes
through the environment (``rasa_channel/serve.py``), never the command line, and
that environment holds only what Rasa needs: none of the app's other secrets. Rasa
asks the kernel to stop it when the app dies, even by SIGKILL: no orphan Rasa
keeps the port.
"""

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import structlog

from bot.dialogue.rasa_client import RasaClient, RasaUnavailable

log = structlog.get_logger(__name__)

# What Rasa inherits from the app's environment; the rest is set below.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SSL_CERT_FILE")
# Rasa's one OpenMP runtime (a libgomp that scikit-learn loads and the e5 featurizer
# shares) makes a team of one thread per core, whose idle threads spin while they
# wait. Beside another busy process (the app, a second Rasa) a bare Rasa then spent
# 1,000 ms of CPU a turn instead of 80 and served 1 turn/s instead of 12 (measured
# on two cores). Even sleeping when idle, two threads lost to one inside the app,
# whose own work takes their second core mid-matrix: 12.3-12.4 turns/s against
# 14.3 (one Rasa worker, everyday questions). So one thread, and any more sleep.
OPENMP = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


class RasaProcess:
    def __init__(
        self,
        *,
        venv: Path,
        project_dir: Path,
        model: Path,
        port: int,
        token: str,
        action_endpoint_url: str,
        start_timeout: float,
        restart_delay: float,
        credentials: Path,
        tracker_url: str,
        threads: int = 0,
    ) -> None:
        self.venv = venv
        self.project_dir = project_dir
        self.model = model
        self.port = port
        self.token = token
        self.action_endpoint_url = action_endpoint_url
        self.start_timeout = start_timeout
        self.restart_delay = restart_delay
        self.credentials = credentials
        self.tracker_url = tracker_url
        self.threads = threads  # TensorFlow's per-process threads; 0: as many as cores
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._ready = asyncio.Event()

    def command(self) -> list[str]:
        return [
            str(self.venv / "bin" / "python"), "-m", "rasa_channel.serve", "run",
            "--enable-api",
            "--interface", "127.0.0.1", "--port", str(self.port),
            "--model", str(self.model),
            "--endpoints", str(self.project_dir / "endpoints.yml"),
            "--credentials", str(self.credentials),
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
        return (
            inherited
            | {
                "RASA_TOKEN": self.token,
                "RASA_PARENT_PID": str(os.getpid()),
                "ACTION_ENDPOINT_URL": self.action_endpoint_url,
                "RASA_TRACKER_URL": self.tracker_url,
                "PYTHONPATH": str(self.project_dir),
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            }
            | self._thread_limits()
        )

    def _thread_limits(self) -> dict[str, str]:
        """OpenMP's one sleeping thread always; and several Rasa processes on one
        machine each get their share of the cores (Rasa reads these at start-up):
        without them every process's TensorFlow sizes its thread pools to all the
        cores, and they preempt each other mid-matrix."""
        if self.threads < 1:
            return OPENMP
        return OPENMP | {
            "TF_INTRA_OP_PARALLELISM_THREADS": str(self.threads),
            "TF_INTER_OP_PARALLELISM_THREADS": str(self.threads),
        }

    def check_installed(self) -> None:
        """Fail at start-up with a fix, not with a stack trace from deep inside."""
        if not (self.venv / "bin" / "rasa").exists():
            raise RuntimeError(
                f"Rasa is not installed in {self.venv}: run `make run` or `make rasa`"
            )
        if not self.model.exists():
            raise RuntimeError(f"no trained model at {self.model}: run `make train`")

    async def start(self) -> None:
        """Start Rasa and its supervisor once Rasa has loaded its model.

        A Rasa that exits while starting has a configuration problem that a
        restart will not fix, so start-up fails with its exit code instead.
        """
        self.check_installed()
        self._stopping = False
        await self._spawn()
        assert self.process is not None
        ready = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self.process.wait())
        try:
            await asyncio.wait(
                {ready, exited}, timeout=self.start_timeout, return_when="FIRST_COMPLETED"
            )
        except BaseException:  # Ctrl-C or shutdown while loading: leave no orphan Rasa
            await self.stop()
            raise
        finally:
            ready.cancel()
            exited.cancel()
        if not self._ready.is_set():
            code = self.process.returncode
            await self.stop()
            reason = f"exited with code {code}" if code is not None else "timed out"
            raise RuntimeError(f"Rasa {reason} while starting; its output is above")
        self._supervisor = asyncio.create_task(self._supervise(), name="rasa-supervisor")

    async def wait_ready(self) -> None:
        await asyncio.wait_for(self._ready.wait(), self.start_timeout)

    async def _spawn(self) -> None:
        self._ready.clear()
        log.info("rasa.starting", port=self.port, model=str(self.model))
        self.process = await asyncio.create_subprocess_exec(
            *self.command(),
            cwd=self.project_dir,
            env=self.environment(),
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches the app, which stops Rasa
        )
        self._watcher = asyncio.create_task(self._mark_ready_when_loaded(self.process))

    async def _mark_ready_when_loaded(self, process: asyncio.subprocess.Process) -> None:
        client = RasaClient(self.url, self.token, timeout_seconds=self.start_timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        try:
            while process.returncode is None and loop.time() < deadline:
                try:
                    await client.status()
                except RasaUnavailable:
                    await asyncio.sleep(0.5)
                    continue
                await self._warm_up(client)
                log.info("rasa.ready", pid=process.pid, restarts=self.restarts)
                self._ready.set()
                return
        finally:
            await client.close()

    async def _warm_up(self, client: RasaClient) -> None:
        """One parse before the first prospect: Rasa loads the e5 model on its first
        message (517 ms cold, 55 ms warm), which a restart under load would otherwise
        add to a queue of waiting turns."""
        try:
            await client.parse("hello")
        except RasaUnavailable:
            log.warning("rasa.warm_up_failed", exc_info=True)

    async def _supervise(self) -> None:
        while not self._stopping:
            assert self.process is not None
            code = await self.process.wait()
            if self._stopping:
                return
            self._ready.clear()
            self.restarts += 1
            log.error("rasa.died", returncode=code, restarts=self.restarts)
            await asyncio.sleep(self.restart_delay)
            if not self._stopping:
                await self._spawn()

    def kill(self) -> None:
        """Kill the Rasa process as a crash would (the supervisor restarts it)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.info("rasa.stopped")
