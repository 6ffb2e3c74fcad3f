"""HTTP client for the Rasa server: one turn through our channel, NLU parse, status."""

from dataclasses import dataclass, field
from typing import Any

import aiohttp


class RasaUnavailable(Exception):
    """Rasa could not answer: down, slow, or failing. The caller answers politely."""


@dataclass(frozen=True)
class RasaTurn:
    """What Rasa made of one user message and what it wants said back."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use (inside the running loop). After ``close`` a late caller
        (a turn still finishing during shutdown) gets RasaUnavailable, not a new session
        that nobody would ever close."""
        if self._closed:
            raise RasaUnavailable("the Rasa client is closed: the app is shutting down")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
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
        token_in_url: bool = False,
        method: str = "POST",
    ) -> dict[str, Any]:
        """Our journey channel takes the token as a header; Rasa's own HTTP API only
        from the URL (local, and Rasa keeps no access log)."""
        params = {"token": self.token} if token_in_url else {}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with self.session.request(
                method, f"{self.base_url}{path}", json=body, params=params, headers=headers
            ) as response:
                if response.status != 200:
                    detail = (await response.text())[:300]
                    raise RasaUnavailable(f"Rasa answered {response.status} on {path}: {detail}")
                data: dict[str, Any] = await response.json()
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RasaUnavailable(f"Rasa did not answer on {path}: {error!r}") from error

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        data = await self._post(
            "/webhooks/journey/webhook",
            {"sender": sender, "message": text, "metadata": metadata},
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
            f"/conversations/{sender}/tracker/events", {"event": "restart"}, token_in_url=True
        )

    async def forget(self, sender: str) -> None:
        """Erase the conversation from Rasa's tracker store: its events replaced by none.
        (Rasa's HTTP API has no delete; with the in-memory and Redis tracker stores a
        save replaces the tracker. An SQL tracker store appends, so it needs a DELETE
        on its events table instead.)"""
        await self._post(
            f"/conversations/{sender}/tracker/events", [], token_in_url=True, method="PUT"
        )

    async def parse(self, text: str) -> dict[str, Any]:
        return await self._post("/model/parse", {"text": text}, token_in_url=True)

    async def status(self) -> dict[str, Any]:
        """Rasa's /status: raises RasaUnavailable unless a model is loaded."""
        try:
            async with self.session.get(
                f"{self.base_url}/status",
                params={"token": self.token},
                timeout=aiohttp.ClientTimeout(total=3),
            ) as response:
                data: dict[str, Any] = await response.json() if response.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RasaUnavailable(f"Rasa status failed: {error!r}") from error
        if not data.get("model_file"):
            raise RasaUnavailable(f"Rasa has no model loaded: {data}")
        return data
