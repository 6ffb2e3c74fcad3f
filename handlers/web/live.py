"""The widgets open right now, per visitor: where a reply or a follow-up is pushed.

A reply goes to every open widget of the visitor (two tabs, or the socket that
replaced one that dropped mid-turn). Pushing is not delivering: a reply is
``delivered`` only once a widget acknowledged it, so one pushed into a socket
that was closing is sent again on the next connect.
"""

import asyncio
from collections import defaultdict
from typing import Any

import structlog
from aiohttp import WSCloseCode, web

log = structlog.get_logger(__name__)


class LiveSockets:
    def __init__(self) -> None:
        self._by_visitor: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, visitor: str, ws: web.WebSocketResponse) -> None:
        self._by_visitor[visitor].add(ws)

    def discard(self, visitor: str, ws: web.WebSocketResponse) -> None:
        sockets = self._by_visitor.get(visitor)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._by_visitor[visitor]

    async def push(self, visitor: str, frames: list[dict[str, Any]]) -> int:
        """Send frames to the visitor's open widgets; how many widgets took them."""
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
