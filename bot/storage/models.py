"""The tables: leads, their conversations per channel, and touchpoints.

A touchpoint is every exchange on a lead's timeline: inbound and outbound
messages, and events such as a stage change. The inbound touchpoint is written
before the message is processed, so nothing a prospect typed is ever lost.
"""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    stage: Mapped[str] = mapped_column(String(20), default="awareness")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    score_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    zombie: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(64))
    source_asked_at: Mapped[datetime | None] = mapped_column()
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))

    conversations: Mapped[list["Conversation"]] = relationship(back_populates="lead")


class Conversation(Base):
    """One thread with a lead on one channel; ``external_id`` is the channel's id for it."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_conversation_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str] = mapped_column(String(10), default="bot")  # bot | human
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the booking form has collected so far (the handoff card shows it) and
    # how many times no slot could be booked (a trigger for a person).
    booking_draft: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))

    lead: Mapped[Lead] = relationship(back_populates="conversations")


class Touchpoint(Base):
    """One entry on the lead's timeline.

    Inbound messages carry the channel's ``idempotency_key`` (unique per
    conversation), so storing a message is also its claim: a redelivered one
    finds it. Statuses: inbound ``received`` (stored, being answered), ``done``,
    ``rejected``, ``throttled``, ``for_rep``, ``failed``; outbound ``queued``
    (stored, not yet confirmed by the channel), ``delivered``, ``failed``.
    """

    __tablename__ = "touchpoints"
    __table_args__ = (
        Index("ix_touchpoints_lead_time", "lead_id", "created_at"),
        UniqueConstraint("conversation_id", "idempotency_key", name="uq_touchpoint_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(8))  # in | out | event
    author: Mapped[str] = mapped_column(String(10))  # prospect | bot | rep | system
    kind: Mapped[str] = mapped_column(String(20), default="message")
    text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(8))
    stage: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="done")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # The inbound message an outbound one answers: a retried message gets these again.
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("touchpoints.id", ondelete="SET NULL", name="fk_touchpoints_reply_to"),
        index=True,
    )


CONFIRMED = text("status = 'confirmed'")


class Booking(Base):
    """A test drive or demo. A slot holds as many bookings as the product has units
    (cars, demo hosts); the partial unique index makes a double booking impossible
    however many prospects race for it, and a cancelled booking frees its unit."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_unit_per_slot", "branch_id", "product_id", "starts_at", "unit",
            unique=True, sqlite_where=CONFIRMED, postgresql_where=CONFIRMED,
        ),
        Index("ix_bookings_starts_at", "starts_at"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(12))  # test_drive | demo
    product_id: Mapped[str] = mapped_column(String(32))
    branch_id: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    unit: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12), default="confirmed")  # | cancelled
    # Marked by the team once the time has passed: attended | no_show (None: not yet).
    attendance: Mapped[str | None] = mapped_column(String(8))
    token: Mapped[str] = mapped_column(String(43), unique=True)  # for the .ics link
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FollowUp(Base):
    """A message the bot sends on its own at a set time: a reminder before a booking,
    the NPS question after it, a nudge for a booking left half-way. Stored, so a
    restart loses none; ``key`` makes scheduling the same follow-up twice a no-op."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE", name="fk_followups_handoff")
    )
    kind: Mapped[str] = mapped_column(String(16))  # reminder | nps | nudge | handoff_*
    key: Mapped[str] = mapped_column(String(64), unique=True)
    due_at: Mapped[datetime] = mapped_column()
    # pending | sending (claimed) | sent | answered | cancelled | skipped | failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # While "sending": the claim runs out then, and another runner may take the row.
    claimed_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


OPEN_HANDOFF = text("status IN ('waiting', 'claimed')")


class Handoff(Base):
    """A person taking over a conversation: waiting -> claimed -> closed (or expired).

    At most one is open per conversation (a partial unique index); one claim
    wins (a conditional update). The times give speed to lead: to the claim and
    to the rep's first reply.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_status_created", "status", "created_at"),
        Index(
            "uq_handoffs_open_per_conversation", "conversation_id", unique=True,
            sqlite_where=OPEN_HANDOFF, postgresql_where=OPEN_HANDOFF,
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    rep: Mapped[str | None] = mapped_column(String(100))  # the rep's name, as shown
    rep_key: Mapped[str | None] = mapped_column(String(100))  # "telegram:<user id>", "api:<name>"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    first_reply_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    satisfaction: Mapped[int | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class HandoffMessage(Base):
    """A message in the reps' Telegram group that belongs to a handoff (its card, a relayed
    message): a rep who replies to it answers that handoff's prospect."""

    __tablename__ = "handoff_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_handoff_message"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))  # card | relay | notice


class StaffUser(Base):
    """A person of the team on the console: a rep, ops, or an admin. The password is an
    argon2 hash (bot.staff.users); the name is the login."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8))  # admin | ops | rep
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who did what on the console that the business must be able to account for:
    logins (and failed ones), exports, erasures, users added or removed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
