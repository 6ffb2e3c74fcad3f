"""The per-sender message budget."""

from bot.conversation.throttle import Throttle, Verdict


def test_a_burst_over_the_budget_is_told_once_then_kept_quiet_until_the_window_passes() -> None:
    throttle = Throttle(limit=3, window_seconds=10)

    verdicts = [throttle.check("chat-1", now=float(n)) for n in range(6)]

    assert verdicts == [Verdict.OK] * 3 + [Verdict.NOTICE, Verdict.QUIET, Verdict.QUIET]
    assert throttle.check("chat-2", now=5.0) is Verdict.OK  # others are not affected
    assert throttle.check("chat-1", now=10.5) is Verdict.OK  # the first message left the window


def test_a_sender_over_the_budget_again_later_is_told_again() -> None:
    throttle = Throttle(limit=1, window_seconds=10)
    assert [throttle.check("c", now=t) for t in (0, 1)] == [Verdict.OK, Verdict.NOTICE]

    assert [throttle.check("c", now=t) for t in (20, 21, 22)] == [
        Verdict.OK,
        Verdict.NOTICE,
        Verdict.QUIET,
    ]


def test_idle_senders_are_forgotten() -> None:
    throttle = Throttle(limit=5, window_seconds=10)
    throttle.check("old", now=0)
    throttle.check("new", now=15)

    throttle.forget_idle(now=15)

    assert set(throttle._seen) == {"new"}
