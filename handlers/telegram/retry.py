"""Retrying Bot API calls that Telegram asked us to repeat, so no reply is dropped.

Telegram answers 429 with ``retry_after`` when a bot sends too fast (about 30
messages a second overall, one a second per chat); aiogram raises
TelegramRetryAfter and leaves the retry to us. Server errors and network
failures get a short backoff. aiogram ships no such request middleware.
"""

import asyncio
from typing import Any

import structlog
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, Response, TelegramMethod

log = structlog.get_logger(__name__)


class RetryAfter(BaseRequestMiddleware):
    def __init__(self, attempts: int = 6, longest_wait: float = 120.0) -> None:
        self.attempts = attempts
        self.longest_wait = longest_wait  # a longer ban is a real problem: let it surface

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        if isinstance(method, GetUpdates):  # the polling loop has its own backoff
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                wait = float(error.retry_after)
                if attempt == self.attempts or wait > self.longest_wait:
                    raise
            except (TelegramServerError, TelegramNetworkError) as error:
                if attempt == self.attempts:
                    raise
                wait = min(2.0 ** (attempt - 1), 10.0)
                log.warning("telegram.retry", method=method.__api_method__, error=str(error))
            log.info("telegram.retry_after", method=method.__api_method__, seconds=wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # the last attempt returns or raises
