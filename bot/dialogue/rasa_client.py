"""HTTP client for our Rasa servers: one turn through our channel, NLU parse, status.

Load is queued here, never failed. Each Rasa process works on a few turns at a
time (``in_flight``); the rest wait for a slot in arrival order. A conversation
asks Rasa one turn at a time (the service serialises it), so first-come order
is also fair between conversations: a chatty prospect cannot push others back.
The timeout starts once a turn has its slot, so it measures a hung Rasa, not
the queue. A turn that waited ``busy_after`` seconds calls its ``on_busy`` (the
channel says "one moment") and is still answered when its slot comes.

With several Rasa processes each conversation stays with one of them (chosen
from its id, stably across restarts): its dialogue state lives there.
"""

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.dialogue import trackers

log = structlog.get_logger(__name__)
OnBusy = Callable[[], Awaitable[None]]


class RasaUnavailable(Exception):
    """Rasa could not answer: down, slow, or failing. The caller answers politely."""


@dataclass(frozen=True)
class RasaTurn:
    """What Rasa made of one user message and what it wants said back."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class Worker:
    """One Rasa process: its URL and its turn slots."""

    def __init__(self, url: str, in_flight: int) -> None:
        self.url = url.rstrip("/")
        self.slots = asyncio.Semaphore(in_flight)
        self.in_flight = in_flight
        self.waiting = 0  # turns queued for a slot
        self.busy = 0  # turns holding a slot

    @contextlib.asynccontextmanager
    async def slot(self, busy_after: float, on_busy: OnBusy | None) -> AsyncIterator[None]:
        self.waiting += 1
        started = asyncio.get_running_loop().time()
        acquiring = asyncio.ensure_future(self.slots.acquire())
        try:
            done, _ = await asyncio.wait({acquiring}, timeout=busy_after)
            if not done and on_busy is not None:
                await _tell(on_busy)
            await acquiring
        except BaseException:
            if acquiring.done() and not acquiring.cancelled():
                self.slots.release()  # got it just as we were cancelled
            acquiring.cancel()
            raise
        finally:
            self.waiting -= 1
        metrics.QUEUE_SECONDS.observe(asyncio.get_running_loop().time() - started)
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            self.slots.release()


async def _tell(on_busy: OnBusy) -> None:
    metrics.BUSY_NOTICES.inc()
    try:
        await on_busy()
    except Exception:  # a widget gone away must not cost the turn
        log.warning("rasa.busy_notice_failed", exc_info=True)


class RasaClient:
    def __init__(
        self,
        base_url: str | Sequence[str],
        token: str,
        timeout_seconds: float,
        *,
        in_flight: int = 8,
        busy_after: float = 5.0,
        trackers: Sequence[str] = (),
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.workers = [Worker(url, in_flight) for url in urls]
        self.base_url = self.workers[0].url
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.busy_after = busy_after
        self.trackers = list(trackers)  # each worker's tracker store, when known
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def worker_for(self, sender: str) -> Worker:
        return self.workers[zlib.crc32(sender.encode()) % len(self.workers)]

    @property
    def waiting(self) -> int:
        return sum(worker.waiting for worker in self.workers)

    @property
    def busy(self) -> int:
        return sum(worker.busy for worker in self.workers)

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use (inside the running loop). After ``close`` a late caller
        (a turn still finishing during shutdown) gets RasaUnavailable, not a new session
        that nobody would ever close."""
        if self._closed:
            raise RasaUnavailable("the Rasa client is closed: the app is shutting down")
        if self._session is None or self._session.closed:
            # The slots bound the connections; the pool must not queue on its own.
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(timeout=self.timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()

    async def _post(
        self,
        path: str,
        body: dict[str, Any] | list[Any],
        *,
        worker: Worker | None = None,
        token_in_url: bool = False,
        method: str = "POST",
    ) -> dict[str, Any]:
        """Our journey channel takes the token as a header; Rasa's own HTTP API only
        from the URL (local, and Rasa keeps no access log)."""
        params = {"token": self.token} if token_in_url else {}
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{(worker or self.workers[0]).url}{path}"
        call = path.rsplit("/", 1)[-1]  # webhook (a turn), parse, events
        try:
            with metrics.RASA_SECONDS.labels(call).time():
                return await self._request(method, url, json=body, params=params, headers=headers)
        except RasaUnavailable:
            metrics.RASA_ERRORS.labels(call).inc()
            raise

    async def _request(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        path = urlsplit(url).path
        try:
            async with self.session.request(method, url, **options) as response:
                if response.status != 200:
                    detail = (await response.text())[:300]
                    raise RasaUnavailable(f"Rasa answered {response.status} on {path}: {detail}")
                data: dict[str, Any] = await response.json()
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RasaUnavailable(f"Rasa did not answer on {path}: {error!r}") from error

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any], on_busy: OnBusy | None = None
    ) -> RasaTurn:
        worker = self.worker_for(sender)
        async with worker.slot(self.busy_after, on_busy):
            data = await self._post(
                "/webhooks/journey/webhook",
                {"sender": sender, "message": text, "metadata": metadata},
                worker=worker,
            )
        intent = data.get("intent") or {}
        return RasaTurn(
            intent=intent.get("name"),
            confidence=intent.get("confidence"),
            entities=data.get("entities") or [],
            messages=data.get("messages") or [],
        )

    async def reset(self, sender: str) -> None:
        """Start the conversation afresh in Rasa (a restart event): no form left half-way."""
        await self._post(
            f"/conversations/{sender}/tracker/events", {"event": "restart"},
            worker=self.worker_for(sender), token_in_url=True,
        )  # fmt: skip

    async def forget(self, sender: str) -> None:
        """Erase the conversation from Rasa: its events replaced by none (what Rasa's HTTP
        API can do: enough for an in-memory store), then deleted from its SQL tracker
        store, which only ever appends."""
        worker = self.worker_for(sender)
        await self._post(
            f"/conversations/{sender}/tracker/events", [],
            worker=worker, token_in_url=True, method="PUT",
        )  # fmt: skip
        if self.trackers:
            try:
                await trackers.forget(self.trackers[self.workers.index(worker)], sender)
            except SQLAlchemyError as error:
                raise RasaUnavailable(f"Rasa's tracker store failed: {error!r}") from error

    async def parse(self, text: str) -> dict[str, Any]:
        worker = min(self.workers, key=lambda w: w.waiting + w.busy)
        async with worker.slot(self.busy_after, None):
            return await self._post(
                "/model/parse", {"text": text}, worker=worker, token_in_url=True
            )

    async def status(self) -> dict[str, Any]:
        """Every Rasa's /status (the first one's answer): raises RasaUnavailable unless
        each has a model loaded."""
        answers = [await self._status(worker) for worker in self.workers]
        return answers[0]

    async def _status(self, worker: Worker) -> dict[str, Any]:
        try:
            async with self.session.get(
                f"{worker.url}/status",
                params={"token": self.token},
                timeout=aiohttp.ClientTimeout(total=3),
            ) as response:
                data: dict[str, Any] = await response.json() if response.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RasaUnavailable(f"Rasa status failed: {error!r}") from error
        if not data.get("model_file"):
            raise RasaUnavailable(f"Rasa has no model loaded: {data}")
        return data
