"""Message budgets, so that one abusive sender (or one address sending as many) cannot
flood Rasa and the team.

limits' moving window, counted in memory (this process) or in Redis (every
replica shares the count: ``RATE_LIMIT_STORAGE_URL``). Nothing is dropped on
the floor: callers store a throttled message and only skip answering it,
telling the sender once per window why.
"""

from enum import Enum

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


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
        if await self.limiter.hit(self.budget, self.name, key):
            return Verdict.OK
        if await self.limiter.hit(self.notice, self.name, "told", key):
            return Verdict.NOTICE
        return Verdict.QUIET


def storage_at(url: str) -> Storage:
    """limits' async storage at ``url``: ``async+memory://``, or Redis through redis-py
    (``async+redis://host:6379/0``), shared by every replica."""
    options = {"implementation": "redispy"} if "redis" in url.split("://", 1)[0] else {}
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"RATE_LIMIT_STORAGE_URL must be an async+ storage, not {url!r}")
    return storage
