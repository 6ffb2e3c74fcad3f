"""Finding conversations for the team: by channel, language, stage, outcome, source,
dates, rep, and the words in their messages.

The outcome is what became of the conversation: ``booked`` (its lead has a
confirmed booking), ``handed_off`` (a person was brought in), ``abandoned``
(the prospect wrote nothing for a day and neither happened), else ``open``.
The search is a case-insensitive substring match on the messages' text, which
works the same on SQLite and PostgreSQL; a large deployment would add
PostgreSQL's full-text index behind the same function.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint

OUTCOMES = ("booked", "handed_off", "abandoned", "open")
QUIET_FOR = timedelta(days=1)  # no word from the prospect this long: abandoned
PAGE = 50
ESCAPE = "\\"  # one backslash: LIKE's escape character


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    language: str | None = None
    stage: str | None = None
    outcome: str | None = None
    source: str | None = None
    rep: str | None = None
    since: date | None = None
    until: date | None = None
    q: str | None = None

    @classmethod
    def of(cls, query: dict[str, str]) -> "Filters":
        """From a query string; unknown or empty values are no filter."""
        values: dict[str, Any] = {k: v.strip() for k, v in query.items() if v and v.strip()}
        for name in ("since", "until"):
            try:
                values[name] = date.fromisoformat(values[name]) if name in values else None
            except ValueError:
                values[name] = None
        if values.get("outcome") not in OUTCOMES:
            values.pop("outcome", None)
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    lead: Lead
    messages: int
    last_at: datetime | None
    outcome: str
    first_in: datetime | None
    first_answer: datetime | None
    satisfaction: int | None

    @property
    def first_response_seconds(self) -> float | None:
        """From the prospect's first message to the first answer to it (bot or rep)."""
        if self.first_in is None or self.first_answer is None:
            return None
        return round((self.first_answer - self.first_in).total_seconds(), 3)

    def record(self) -> dict[str, Any]:
        """The row as the CSV and JSON downloads have it."""
        c, lead = self.conversation, self.lead
        return {
            "conversation_id": c.id, "lead_id": lead.id, "channel": c.channel,
            "language": lead.language, "stage": lead.stage, "source": lead.source,
            "name": lead.name, "started_at": c.created_at.isoformat(),
            "last_message_at": self.last_at.isoformat() if self.last_at else None,
            "messages": self.messages, "outcome": self.outcome,
            "first_response_seconds": self.first_response_seconds,
            "satisfaction": self.satisfaction,
        }  # fmt: skip


async def search(
    session: AsyncSession, filters: Filters, now: datetime, limit: int = PAGE
) -> list[Row]:
    """The newest conversations first that pass every filter, each with its outcome
    (worked out in the same query that filters by it)."""
    last_at = (
        select(func.max(Touchpoint.created_at))
        .where(Touchpoint.conversation_id == Conversation.id, Touchpoint.direction == "in")
        .scalar_subquery()
    )
    messages = (
        select(func.count(Touchpoint.id))
        .where(Touchpoint.conversation_id == Conversation.id, Touchpoint.direction != "event")
        .scalar_subquery()
    )
    first_in = _first(Touchpoint.direction == "in")
    first_answer = _first(Touchpoint.direction == "out", Touchpoint.reply_to_id.is_not(None))
    satisfaction = (
        select(func.max(Handoff.satisfaction))
        .where(Handoff.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    outcome = case(
        (exists().where(Booking.lead_id == Conversation.lead_id,
                        Booking.status == "confirmed"), "booked"),
        (exists().where(Handoff.conversation_id == Conversation.id), "handed_off"),
        (or_(last_at.is_(None), last_at < now - QUIET_FOR), "abandoned"),
        else_="open",
    )  # fmt: skip
    query: Select[Any] = (
        select(Conversation, Lead, messages, last_at, outcome)
        .add_columns(first_in, first_answer, satisfaction)
        .join(Lead, Lead.id == Conversation.lead_id)
        .order_by(func.coalesce(last_at, Conversation.created_at).desc(), Conversation.id.desc())
        .limit(limit)
    )
    for condition in _conditions(filters):
        query = query.where(condition)
    if filters.outcome:
        query = query.where(outcome == filters.outcome)
    return [Row(*row) for row in (await session.execute(query)).all()]


def _first(*where: ColumnElement[bool]) -> Any:
    return (
        select(func.min(Touchpoint.created_at))
        .where(Touchpoint.conversation_id == Conversation.id, *where)
        .scalar_subquery()
    )


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.channel:
        found.append(Conversation.channel == filters.channel)
    if filters.language:
        found.append(Lead.language == filters.language)
    if filters.stage:
        found.append(Lead.stage == filters.stage)
    if filters.source:
        found.append(Lead.source == filters.source)
    if filters.rep:
        found.append(exists().where(Handoff.conversation_id == Conversation.id,
                                    Handoff.rep == filters.rep))  # fmt: skip
    found += created_between(Conversation.created_at, filters)
    if filters.q:
        words = f"%{_escape(filters.q.casefold())}%"
        said = func.lower(Touchpoint.text).like(words, escape=ESCAPE)
        found.append(exists().where(Touchpoint.conversation_id == Conversation.id, said))
    return found


def created_between(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    """The date range, whole days in UTC, ``until`` included."""
    found = []
    if filters.since:
        found.append(column >= _start_of(filters.since))
    if filters.until:
        found.append(column < _start_of(filters.until + timedelta(days=1)))
    return found


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def _escape(text: str) -> str:
    """The words as LIKE reads them: its wildcards and the escape character as text."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
