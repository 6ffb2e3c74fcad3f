"""What Prometheus scrapes at ``/metrics``: turns, Rasa, its queue, and what was stored.

The metrics live in prometheus-client's default registry, one per process: that
is how Prometheus sees an app (each replica is scraped on its own), and it lets
any module count without a metrics object threaded through every call. Rows
are counted once their transaction commits, from the ORM's own events, so a
retried or rolled-back transaction counts nothing twice.
"""

from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from bot.storage.models import Booking, Handoff, Touchpoint

# Turns from a second to half a minute: a campaign rush queues, it must still show.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
RASA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)

TURNS = Counter(
    "journeybot_turns", "Prospects' messages handled, by channel and outcome",
    ["channel", "outcome"],
)  # fmt: skip
TURN_SECONDS = Histogram(
    "journeybot_turn_seconds", "From a message's arrival to its stored replies",
    ["channel"], buckets=TURN_BUCKETS,
)  # fmt: skip
RASA_SECONDS = Histogram(
    "journeybot_rasa_seconds", "Rasa's answer to one request, once it had its slot",
    ["call"], buckets=RASA_BUCKETS,
)  # fmt: skip
RASA_ERRORS = Counter("journeybot_rasa_errors", "Rasa requests that failed", ["call"])
QUEUE_SECONDS = Histogram(
    "journeybot_rasa_queue_seconds", "How long a turn waited for a Rasa slot",
    buckets=TURN_BUCKETS,
)  # fmt: skip
QUEUE_DEPTH = Gauge("journeybot_rasa_queue_depth", "Turns waiting for a Rasa slot now")
IN_FLIGHT = Gauge("journeybot_rasa_in_flight", "Turns inside Rasa now")
BUSY_NOTICES = Counter("journeybot_busy_notices", "Prospects told 'one moment' in a rush")
TOUCHPOINTS = Counter(
    "journeybot_touchpoints_written", "Touchpoints stored, by direction", ["direction"]
)
BOOKINGS = Counter("journeybot_bookings", "Bookings made")
HANDOFFS = Counter("journeybot_handoffs", "Conversations handed to a person")

NEW_ROWS = "metrics.new_rows"  # Session.info key: rows flushed, not yet committed


def _counter(row: object) -> Counter | None:
    if isinstance(row, Touchpoint):
        return TOUCHPOINTS.labels(row.direction)
    if isinstance(row, Booking):
        return BOOKINGS
    return HANDOFFS if isinstance(row, Handoff) else None


def _flushed(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    pending: list[tuple[object, Counter]] = session.info.setdefault(NEW_ROWS, [])
    pending.extend((row, counter) for row in session.new if (counter := _counter(row)) is not None)


def _committed(session: Session) -> None:
    for row, counter in session.info.pop(NEW_ROWS, []):
        if not inspect(row).transient:  # not undone with a savepoint
            counter.inc()


def _rolled_back(session: Session) -> None:
    session.info.pop(NEW_ROWS, None)


def count_rows() -> None:
    """Count committed touchpoints, bookings and handoffs (idempotent)."""
    for name, listener in (
        ("before_flush", _flushed),
        ("after_commit", _committed),
        ("after_rollback", _rolled_back),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def watch_queue(waiting: Callable[[], int], busy: Callable[[], int]) -> None:
    """The queue gauges read the Rasa client's counters when scraped."""
    QUEUE_DEPTH.set_function(waiting)
    IN_FLIGHT.set_function(busy)
