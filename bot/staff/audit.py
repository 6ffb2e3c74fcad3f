"""The audit log: who did what, and when, that the business must account for."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AuditEvent


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    now: datetime,
    subject: str | None = None,
    **data: Any,
) -> None:
    session.add(AuditEvent(actor=actor, action=action, subject=subject, data=data, at=now))
