"""Staff users: argon2 hashes, roles, and the command line that manages them."""

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import PROJECT_DIR, Settings
from bot.staff import command, users
from bot.storage.engine import create_engine, session_factory
from bot.storage.models import AuditEvent, StaffUser, utcnow


async def test_a_password_is_stored_as_an_argon2_hash_and_checked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await users.add(session, "dana", "rep", "correct horse battery", utcnow())
        await session.commit()
        stored = await session.scalar(select(StaffUser.password_hash))
        assert stored is not None and stored.startswith("$argon2id$")
        assert "correct horse" not in stored
        assert await users.authenticate(session, "dana", "correct horse battery") is not None
        assert await users.authenticate(session, "dana", "wrong password!!") is None
        assert await users.authenticate(session, "nobody", "correct horse battery") is None


@pytest.mark.parametrize(
    ("name", "role", "password", "why"),
    [("dana", "boss", "long enough pw", "role"), ("", "rep", "long enough pw", "name"),
     (" dana", "rep", "long enough pw", "name"), ("dana", "rep", "short", "password")],
)  # fmt: skip
async def test_a_user_that_cannot_be_added_says_why(
    sessions: async_sessionmaker[AsyncSession], name: str, role: str, password: str, why: str
) -> None:
    async with sessions() as session:
        with pytest.raises(users.UserError, match=why):
            await users.add(session, name, role, password, utcnow())


async def test_a_name_is_taken_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await users.add(session, "dana", "rep", "correct horse battery", utcnow())
        with pytest.raises(users.UserError, match="already"):
            await users.add(session, "dana", "admin", "another long one", utcnow())


def test_roles_are_ranked() -> None:
    assert users.allows("admin", "ops") and users.allows("ops", "rep")
    assert not users.allows("rep", "ops") and not users.allows("ops", "admin")


async def users_command(database: Path, *args: str, password: str = "") -> tuple[int, str, str]:
    """``python -m bot users ...`` in this process: (exit code, stdout, stderr)."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}")
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),
        patch_stdin(password),
    ):  # fmt: skip
        code = await command.run(list(args), settings)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def patch_stdin(text: str) -> Iterator[None]:
    real, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = real


async def test_the_command_line_adds_lists_and_removes_users_with_the_password_from_stdin(
    tmp_path: Path,
) -> None:
    database = tmp_path / "staff.db"
    added = await users_command(
        database, "add", "dana", "--role", "rep", password="correct horse battery\n"
    )
    assert added[:2] == (0, "added dana (rep)\n"), added
    short = await users_command(database, "add", "yossi", "--role", "admin", password="short\n")
    assert short[0] == 2 and "at least 10" in short[2]
    _, listed, _ = await users_command(database, "list")
    assert listed.split("\t")[:2] == ["dana", "rep"]
    assert (await users_command(database, "remove", "dana"))[1] == "removed dana\n"
    gone = await users_command(database, "remove", "dana")
    assert gone[0] == 2 and "no user" in gone[2]
    assert (await users_command(database, "list"))[1] == ""

    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    async with session_factory(engine)() as session:
        events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    await engine.dispose()
    assert [(e.actor, e.action, e.subject) for e in events] == [
        ("command line", "user_added", "dana"), ("command line", "user_removed", "dana"),
    ]  # fmt: skip


def test_python_m_bot_users_is_the_users_command(tmp_path: Path) -> None:
    env = os.environ | {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "users", "add", "dana", "--role", "ops"],
        input="correct horse battery\n", capture_output=True, text=True, env=env,
        cwd=PROJECT_DIR, timeout=120, check=False,
    )  # fmt: skip
    assert (listed.returncode, listed.stdout) == (0, "added dana (ops)\n"), listed.stderr
