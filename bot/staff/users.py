"""Staff users of the console: a name, a role, an argon2 password hash.

Roles are ranked: a rep takes handoffs and reads conversations, ops also see the
funnel, exports and erasure, an admin also manages users. argon2-cffi's
PasswordHasher does the hashing, its parameters and their upgrades
(``check_needs_rehash``).
"""

import asyncio
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import StaffUser

ROLES = ("rep", "ops", "admin")  # each can do what the ones before it can
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against this when the name is unknown takes as long as a real check,
# so the answer's timing does not tell which names exist.
_NOBODY = _hasher.hash("not the password of anyone")


class UserError(ValueError):
    """A user that cannot be added: a taken name, an unknown role, a short password."""


def allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


async def add(
    session: AsyncSession, name: str, role: str, password: str, now: datetime
) -> StaffUser:
    if role not in ROLES:
        raise UserError(f"the role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not name.isprintable() or name != name.strip():
        raise UserError("a name is 1-64 printable characters, without spaces around it")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    hashed = await asyncio.to_thread(_hasher.hash, password)
    user = StaffUser(name=name, role=role, password_hash=hashed, created_at=now)
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        raise UserError(f"there is a user {name!r} already") from error
    return user


async def remove(session: AsyncSession, name: str) -> bool:
    result = await session.execute(delete(StaffUser).where(StaffUser.name == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def everyone(session: AsyncSession) -> list[StaffUser]:
    return list(await session.scalars(select(StaffUser).order_by(StaffUser.name)))


async def authenticate(session: AsyncSession, name: str, password: str) -> StaffUser | None:
    """The user whose password this is, or None; hashing runs off the event loop."""
    user = await session.scalar(select(StaffUser).where(StaffUser.name == name))
    stored = user.password_hash if user else _NOBODY
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    return user


async def find(session: AsyncSession, name: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.name == name))
