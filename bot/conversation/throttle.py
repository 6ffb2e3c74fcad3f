"""A per-sender message budget, so one abusive sender cannot flood Rasa and the team.

A sliding window kept in memory: it protects this process, which is what
matters for the load; with several replicas each enforces its own budget.
Nothing is dropped on the floor: callers store a throttled message and only
skip answering it, telling the sender once per window why.
"""

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

MAX_SENDERS = 10_000  # past this, idle senders are forgotten


class Verdict(Enum):
    OK = "ok"
    NOTICE = "notice"  # the first message over the budget: tell the sender once
    QUIET = "quiet"  # over the budget, already told


@dataclass
class Throttle:
    limit: int  # messages per window
    window_seconds: float
    _seen: dict[str, deque[float]] = field(default_factory=dict)
    _told: dict[str, float] = field(default_factory=dict)

    def check(self, sender: str, now: float) -> Verdict:
        if len(self._seen) > MAX_SENDERS:
            self.forget_idle(now)
        recent = self._seen.setdefault(sender, deque())
        while recent and recent[0] <= now - self.window_seconds:
            recent.popleft()
        if len(recent) < self.limit:
            recent.append(now)
            self._told.pop(sender, None)
            return Verdict.OK
        told_at = self._told.get(sender)
        if told_at is not None and told_at > now - self.window_seconds:
            return Verdict.QUIET
        self._told[sender] = now
        return Verdict.NOTICE

    def forget_idle(self, now: float) -> None:
        """Drop senders quiet for a whole window, so the table does not grow forever."""
        cutoff = now - self.window_seconds
        for sender in [s for s, q in self._seen.items() if not q or q[-1] <= cutoff]:
            del self._seen[sender]
            self._told.pop(sender, None)
