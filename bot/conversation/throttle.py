"""Message budgets, so that one abusive sender (or one address sending as many) cannot
flood Rasa and the team.

limits' moving window, counted in memory (this process) or in Redis (every
replica shares the count: ``RATE_LIMIT_STORAGE_URL``). Nothing is dropped on
the floor: callers store a throttled message and only skip answering it,
telling the sender once per window why.
"""

from enum import Enum

import structlog
from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

log = structlog.get_logger(__name__)


class Verdict(Enum):
    OK = "ok"
    NOTICE = "notice"  # the first message over the budget: tell the sender once
    QUIET = "quiet"  # over the budget, already told


class Throttle:
    """``limit`` messages per ``window_seconds`` (whole seconds) per key."""

    def __init__(self, name: str, limit: int, window_seconds: float, storage: Storage) -> None:
        window = max(1, round(window_seconds))
        self.name = name
        self.budget = RateLimitItemPerSecond(limit, window)
        self.notice = RateLimitItemPerSecond(1, window)
        self.limiter = MovingWindowRateLimiter(storage)

    async def check(self, key: str) -> Verdict:
        """Over the budget or not. With the counts unreachable (Redis restarting) the
        message is let through: a flood guard must not cost an honest prospect's turn."""
        try:
            if await self.limiter.hit(self.budget, self.name, key):
                return Verdict.OK
            if await self.limiter.hit(self.notice, self.name, "told", key):
                return Verdict.NOTICE
        except StorageError as error:
            log.warning("throttle.storage_unreachable", error=str(error)[:200])
            return Verdict.OK
        return Verdict.QUIET


def storage_at(url: str) -> Storage:
    """limits' async storage at ``url``: ``async+memory://``, or Redis through redis-py
    (``async+redis://host:6379/0``), shared by every replica."""
    options: dict[str, str | bool] = {"wrap_exceptions": True}
    if "redis" in url.split("://", 1)[0]:
        options["implementation"] = "redispy"
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"RATE_LIMIT_STORAGE_URL must be an async+ storage, not {url!r}")
    return storage
