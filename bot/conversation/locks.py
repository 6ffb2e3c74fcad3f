"""One turn at a time per conversation, first come first served: in this process, and
with Redis across the app's replicas.

Turns of one conversation must not overlap: "book for 11" and "actually 12"
sent a second apart would reach Rasa in either order, and a channel's retry
of a message still being answered must wait and find it answered. asyncio's
Lock is fair, so waiting turns go in arrival order. Locks of idle keys are
dropped, so the table does not grow with every conversation ever seen.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)


class Locks(Protocol):
    def hold(self, key: Hashable) -> contextlib.AbstractAsyncContextManager[None]: ...


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._holders: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class SharedLocks:
    """One turn at a time per key across replicas, in arrival order: a queue per key in
    Redis. A turn joins the queue's tail when it arrives and runs once it is the head;
    leaving pops it. Redis's own lock is not used: its waiters race, so a message
    sent second could overtake the first. Each waiting or running turn keeps a
    heartbeat key alive; a head whose heartbeat ran out (its replica died mid-turn)
    is dropped by the next waiter, so a dead replica blocks a conversation for
    ``ttl`` seconds at most. While Redis is away (a restart) turns wait for it, as
    they wait for the database, and join the new queue when it is back."""

    # KEYS: the queue, the heartbeat prefix; ARGV: this turn's token, the queue's TTL and
    # the heartbeat's (ms). Joining and the first heartbeat are one step: no waiter can
    # take a turn that just joined for a dead one.
    TURN = """
    redis.call('SET', KEYS[2] .. ARGV[1], 1, 'PX', ARGV[3])
    if not redis.call('LPOS', KEYS[1], ARGV[1]) then redis.call('RPUSH', KEYS[1], ARGV[1]) end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    local head = redis.call('LINDEX', KEYS[1], 0)
    while head and head ~= ARGV[1] and redis.call('EXISTS', KEYS[2] .. head) == 0 do
        redis.call('LPOP', KEYS[1])
        head = redis.call('LINDEX', KEYS[1], 0)
    end
    return head == ARGV[1] and 1 or 0
    """
    LEAVE = """
    redis.call('LREM', KEYS[1], 1, ARGV[1])
    redis.call('DEL', KEYS[2] .. ARGV[1])
    """

    def __init__(
        self, redis: "Redis", ttl: float = 15.0, patience: float = 60.0, poll: float = 0.02
    ) -> None:
        self.redis = redis
        self.ttl, self.patience, self.poll = ttl, patience, poll
        self._turn = redis.register_script(self.TURN)
        self._leave = redis.register_script(self.LEAVE)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        queue = queue_key(key)
        keys = [queue, f"{queue}:alive:"]
        token = uuid.uuid4().hex
        alive = asyncio.create_task(self._heartbeat(keys[1] + token))
        try:
            await self._wait_for_turn(keys, token)  # each poll is a heartbeat too
            yield
        finally:
            alive.cancel()
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._leave(keys=keys, args=[token])

    async def _wait_for_turn(self, keys: list[str], token: str) -> None:
        ttls = [int(self.ttl * 10_000), int(self.ttl * 1000)]
        waited_for_redis = 0.0
        while True:
            try:
                if await self._turn(keys=keys, args=[token, *ttls]):
                    return
                waited_for_redis = 0.0
                await asyncio.sleep(self.poll)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if waited_for_redis >= self.patience:
                    raise
                log.warning("redis.unreachable", error=str(error)[:200], retry_in=0.5)
                await asyncio.sleep(0.5)
                waited_for_redis += 0.5

    async def _heartbeat(self, key: str) -> None:
        while True:
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self.redis.set(key, 1, px=int(self.ttl * 1000))
            await asyncio.sleep(self.ttl / 3)


def queue_key(key: Hashable) -> str:
    """The Redis list of a key's turns, waiting and running, in arrival order."""
    return f"journeybot:turns:{key}"
