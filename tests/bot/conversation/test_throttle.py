"""The message budgets, on limits' moving window (in memory here; Redis in production)."""

import asyncio

from limits.aio.storage import MemoryStorage

from bot.conversation.throttle import Throttle, Verdict, storage_at


async def test_a_burst_over_the_budget_is_told_once_then_kept_quiet_until_the_window_passes() -> (
    None
):
    throttle = Throttle("chat", limit=3, window_seconds=1, storage=MemoryStorage())

    verdicts = [await throttle.check("chat-1") for _ in range(6)]

    assert verdicts == [Verdict.OK] * 3 + [Verdict.NOTICE, Verdict.QUIET, Verdict.QUIET]
    assert await throttle.check("chat-2") is Verdict.OK  # others are not affected
    await asyncio.sleep(1.1)
    assert await throttle.check("chat-1") is Verdict.OK  # the burst left the window
    assert [await throttle.check("chat-1") for _ in range(3)] == [
        Verdict.OK, Verdict.OK, Verdict.NOTICE  # over again: told again
    ]  # fmt: skip


async def test_budgets_of_one_storage_are_kept_apart_by_name() -> None:
    storage = MemoryStorage()
    web, telegram = Throttle("web", 1, 60, storage), Throttle("telegram", 1, 60, storage)
    assert await web.check("same-id") is Verdict.OK
    assert await telegram.check("same-id") is Verdict.OK
    assert await web.check("same-id") is Verdict.NOTICE


def test_the_storage_comes_from_its_url() -> None:
    assert isinstance(storage_at("async+memory://"), MemoryStorage)
    try:
        storage_at("memory://")  # limits' sync storage: not for an asyncio app
    except ValueError as error:
        assert "async+" in str(error)
    else:
        raise AssertionError("a sync storage was accepted")
