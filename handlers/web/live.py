"""The widgets open right now, per visitor: where a reply or a follow-up is pushed.

A reply goes to every open widget of the visitor (two tabs, or the socket that
replaced one that dropped mid-turn). Pushing is not delivering: a reply is
``delivered`` only once a widget acknowledged it, so one pushed into a socket
that was closing is sent again on the next connect. With several replicas (Redis)
a push also goes to the others, for the visitor's widgets open there: a rep's
answer sent through replica B reaches the widget connected to replica A.
"""

import asyncio
from collections import defaultdict
from typing import Any

import structlog
from aiohttp import WSCloseCode, web

from bot.storage.bus import Bus

log = structlog.get_logger(__name__)


class LiveSockets:
    def __init__(self) -> None:
        self._by_visitor: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.bus: Bus | None = None  # set in the production mode

    def add(self, visitor: str, ws: web.WebSocketResponse) -> None:
        self._by_visitor[visitor].add(ws)

    def discard(self, visitor: str, ws: web.WebSocketResponse) -> None:
        sockets = self._by_visitor.get(visitor)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._by_visitor[visitor]

    async def push(self, visitor: str, frames: list[dict[str, Any]]) -> int:
        """Send frames to the visitor's open widgets, here and on the other replicas; how
        many widgets here took them."""
        reached = await self.push_here(visitor, frames)
        if self.bus is not None:
            await self.bus.publish("live", {"visitor": visitor, "frames": frames})
        return reached

    async def heard(self, data: dict[str, Any]) -> None:
        """Another replica pushed to a visitor: their widgets open here get it too."""
        await self.push_here(str(data["visitor"]), list(data["frames"]))

    async def push_here(self, visitor: str, frames: list[dict[str, Any]]) -> int:
        reached = 0
        for ws in list(self._by_visitor.get(visitor, ())):
            try:
                for frame in frames:
                    await ws.send_json(frame)
            except (ConnectionError, RuntimeError) as error:  # closing under our feet
                log.info("web.push_failed", error=repr(error))
                continue
            reached += 1
        return reached

    async def close_all(self) -> None:
        """On shutdown: tell every widget to reconnect (it will, to a running app)."""
        sockets = [ws for group in self._by_visitor.values() for ws in group]
        await asyncio.gather(
            *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart") for ws in sockets),
            return_exceptions=True,
        )

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_visitor.values())
