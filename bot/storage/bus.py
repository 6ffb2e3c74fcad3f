"""What the app's replicas tell each other, over Redis pub/sub (the production mode).

A reply for a widget whose socket is open on another replica, a handoff change for
the inboxes open there: each replica publishes what happened on a topic, and every
other replica hears it and does its local part. Pub/sub carries no history; that
is fine for these, which are also stored (a widget that missed a push gets the
reply on its next connect, an inbox redraws from the database when it reloads).
A listener survives a Redis restart: it subscribes again.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)
PREFIX = "journeybot"
Listener = Callable[[dict[str, Any]], Awaitable[None]]


class Bus:
    def __init__(self, redis: "Redis") -> None:
        self.redis = redis
        self.replica = uuid.uuid4().hex  # this process: it does not hear itself

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        envelope = json.dumps({"from": self.replica, "data": data}, ensure_ascii=False)
        try:
            await self.redis.publish(f"{PREFIX}:{topic}", envelope)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            # The others miss a push: the message is stored, they show it on reconnect.
            log.warning("bus.publish_failed", topic=topic, error=str(error))

    async def listen(self, topic: str, listener: Listener, ready: asyncio.Event) -> None:
        """Hear the other replicas on ``topic`` until cancelled; ``ready`` once subscribed."""
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(f"{PREFIX}:{topic}")
                    ready.set()
                    async for message in pubsub.listen():
                        await self._hear(message, listener)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                log.warning("bus.listen_lost", topic=topic, error=str(error), retry_in=1)
                await asyncio.sleep(1)

    async def _hear(self, message: dict[str, Any], listener: Listener) -> None:
        if message.get("type") != "message":
            return
        envelope = json.loads(message["data"])
        if envelope.get("from") == self.replica:
            return
        try:
            await listener(envelope["data"])
        except Exception:  # one bad message must not stop the replica hearing the rest
            log.exception("bus.listener_failed")
