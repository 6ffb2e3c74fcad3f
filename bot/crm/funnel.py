"""The journey funnel: how many leads reached each stage, where they drop out, how fast
a person answers, what became of the bookings, and how satisfied people are.

A lead counts in every stage up to the furthest it ever reached (a lead that
asks a price again after booking goes back to consideration, yet it did reach
decision). The leads are those first seen in the date range, on the channel,
in the language and from the source asked for; handoffs, bookings and answers
are those of these leads. Worked out in Python over one query per table: a
funnel covers thousands of leads, not millions; a large deployment would keep
the furthest stage on the lead.
"""

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.conversations import Filters, created_between
from bot.crm.journey import STAGES
from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint

DIMENSIONS = ("channel", "language", "source")
PROMOTER, DETRACTOR = 9, 6


@dataclass(frozen=True)
class Step:
    stage: str
    leads: int
    share: float  # of all leads
    conversion: float | None  # of those in the stage before, how many got here
    dropped: int  # stopped in the stage before


@dataclass(frozen=True)
class Breakdown:
    value: str
    leads: int
    reached: dict[str, int]

    def share(self, stage: str) -> float:
        return self.reached[stage] / self.leads if self.leads else 0.0


@dataclass(frozen=True)
class Speed:
    handoffs: int
    waiting: int
    claimed: int
    expired: int
    median_to_claim: float | None  # seconds
    p90_to_claim: float | None
    median_to_first_reply: float | None


@dataclass(frozen=True)
class Bookings:
    made: int
    confirmed: int
    cancelled: int
    upcoming: int
    attended: int
    no_shows: int
    unmarked: int  # past, nobody said whether they came

    @property
    def no_show_rate(self) -> float | None:
        marked = self.attended + self.no_shows
        return self.no_shows / marked if marked else None


@dataclass(frozen=True)
class Satisfaction:
    nps_answers: int
    promoters: int
    passives: int
    detractors: int
    ratings: int  # the 1-5 after a person helped
    average_rating: float | None

    @property
    def nps(self) -> float | None:
        if not self.nps_answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_answers, 1)


@dataclass(frozen=True)
class Report:
    leads: int
    steps: list[Step]
    by: dict[str, list[Breakdown]]
    speed: Speed
    bookings: Bookings
    satisfaction: Satisfaction

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Each chart's figures as rows, for the CSV downloads."""
        by = {f"by_{name}": [{name: b.value, "leads": b.leads} | b.reached for b in rows]
              for name, rows in self.by.items()}  # fmt: skip
        return {
            "stages": [vars(step) for step in self.steps],
            **by,
            "speed": [vars(self.speed)],
            "bookings": [vars(self.bookings) | {"no_show_rate": self.bookings.no_show_rate}],
            "satisfaction": [vars(self.satisfaction) | {"nps": self.satisfaction.nps}],
        }


async def report(session: AsyncSession, filters: Filters, now: datetime) -> Report:
    rows = (await session.execute(_leads(filters))).all()
    ids = [row.id for row in rows]
    furthest = await _furthest_stages(session, {row.id: row.stage for row in rows})
    steps = _steps(Counter(furthest.values()), len(ids))
    by = {
        name: _breakdown((getattr(row, name) or "unknown", furthest[row.id]) for row in rows)
        for name in DIMENSIONS
    }
    return Report(
        len(ids), steps, by, await _speed(session, ids), await _bookings(session, ids, now),
        await _satisfaction(session, ids),
    )  # fmt: skip


def _leads(filters: Filters) -> Select[Any]:
    first_channel = (
        select(Conversation.channel)
        .where(Conversation.lead_id == Lead.id)
        .order_by(Conversation.id)
        .limit(1)
        .scalar_subquery()
    )
    query = select(
        Lead.id, Lead.stage, Lead.language, Lead.source, first_channel.label("channel")
    ).where(*created_between(Lead.created_at, filters))
    if filters.channel:
        on_channel = select(Conversation.id).where(
            Conversation.lead_id == Lead.id, Conversation.channel == filters.channel
        )
        query = query.where(on_channel.exists())
    if filters.language:
        query = query.where(Lead.language == filters.language)
    if filters.source:
        query = query.where(Lead.source == filters.source)
    return query


async def _furthest_stages(session: AsyncSession, current: dict[int, str]) -> dict[int, str]:
    furthest = {lead: STAGES.index(stage) for lead, stage in current.items()}
    for chunk in _chunks(list(current)):
        moves = await session.execute(
            select(Touchpoint.lead_id, Touchpoint.data).where(
                Touchpoint.kind == "stage_change", Touchpoint.lead_id.in_(chunk)
            )
        )
        for lead, data in moves:
            if data.get("to") in STAGES:
                furthest[lead] = max(furthest[lead], STAGES.index(data["to"]))
    return {lead: STAGES[index] for lead, index in furthest.items()}


def _steps(stopped_in: Counter[str], total: int) -> list[Step]:
    steps, before = [], total
    for index, stage in enumerate(STAGES):
        reached = sum(stopped_in[s] for s in STAGES[index:])
        conversion = None if index == 0 else (reached / before if before else None)
        dropped = 0 if index == 0 else before - reached
        steps.append(Step(stage, reached, reached / total if total else 0.0, conversion, dropped))
        before = reached
    return steps


def _breakdown(rows: Iterable[tuple[str, str]]) -> list[Breakdown]:
    groups: dict[str, Counter[str]] = {}
    for value, stage in rows:
        groups.setdefault(value, Counter())[stage] += 1
    found = []
    for value, stopped_in in groups.items():
        reached = {s: sum(stopped_in[t] for t in STAGES[i:]) for i, s in enumerate(STAGES)}
        found.append(Breakdown(value, reached["awareness"], reached))
    return sorted(found, key=lambda b: (-b.leads, b.value))


async def _speed(session: AsyncSession, ids: list[int]) -> Speed:
    handoffs = [h for chunk in _chunks(ids) for h in await session.scalars(
        select(Handoff).where(Handoff.lead_id.in_(chunk)))]  # fmt: skip
    to_claim = [(h.claimed_at - h.created_at).total_seconds() for h in handoffs if h.claimed_at]
    to_reply = [
        (h.first_reply_at - h.created_at).total_seconds() for h in handoffs if h.first_reply_at
    ]
    status = Counter(h.status for h in handoffs)
    return Speed(
        len(handoffs), status["waiting"], len(to_claim), status["expired"],
        _median(to_claim), _percentile(to_claim, 0.9), _median(to_reply),
    )  # fmt: skip


async def _bookings(session: AsyncSession, ids: list[int], now: datetime) -> Bookings:
    found = [b for chunk in _chunks(ids) for b in await session.scalars(
        select(Booking).where(Booking.lead_id.in_(chunk)))]  # fmt: skip
    confirmed = [b for b in found if b.status == "confirmed"]
    past = [b for b in confirmed if b.starts_at <= now]
    return Bookings(
        made=len(found),
        confirmed=len(confirmed),
        cancelled=sum(b.status == "cancelled" for b in found),
        upcoming=len(confirmed) - len(past),
        attended=sum(b.attendance == "attended" for b in past),
        no_shows=sum(b.attendance == "no_show" for b in past),
        unmarked=sum(b.attendance is None for b in past),
    )


async def _satisfaction(session: AsyncSession, ids: list[int]) -> Satisfaction:
    scores: list[int] = []
    ratings: list[int] = []
    for chunk in _chunks(ids):
        answers = await session.scalars(
            select(Touchpoint.data).where(Touchpoint.kind == "nps", Touchpoint.lead_id.in_(chunk))
        )
        scores += [int(a["score"]) for a in answers if isinstance(a.get("score"), int)]
        rated = await session.scalars(
            select(Handoff.satisfaction).where(
                Handoff.lead_id.in_(chunk), Handoff.satisfaction.is_not(None)
            )
        )
        ratings += [r for r in rated if r is not None]
    return Satisfaction(
        len(scores), sum(s >= PROMOTER for s in scores),
        sum(DETRACTOR < s < PROMOTER for s in scores), sum(s <= DETRACTOR for s in scores),
        len(ratings), round(statistics.fmean(ratings), 2) if ratings else None,
    )  # fmt: skip


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile: a value that happened, not an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """IN lists of a size every database takes."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]
