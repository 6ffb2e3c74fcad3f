"""``python -m bot users ...``: the console's users from the command line.

    python -m bot users add NAME --role ROLE   (the password from standard input)
    python -m bot users list
    python -m bot users remove NAME

The password is read from stdin, never from the command line (``ps`` shows
that to every user of the machine): ``read -rs P; printf %s "$P" | python -m
bot users add dana --role rep``, or typed at the prompt.
"""

import argparse
import getpass
import sys

from bot.clock import Clock
from bot.settings import Settings
from bot.staff import audit, users
from bot.storage.engine import create_engine, migrate, session_factory


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bot users", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user; the password comes from stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users.ROLES)
    commands.add_parser("list", help="the users and their roles")
    remove = commands.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    return top


def read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\r\n")


async def run(argv: list[str], settings: Settings) -> int:
    args = parser().parse_args(argv)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            now = Clock().now()
            if args.command == "add":
                try:
                    await users.add(session, args.name, args.role, read_password(), now)
                except users.UserError as error:
                    print(f"error: {error}", file=sys.stderr)
                    return 2
                audit.record(session, "command line", "user_added", now, args.name, role=args.role)
                print(f"added {args.name} ({args.role})")
            elif args.command == "list":
                for user in await users.everyone(session):
                    print(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d}")
            elif not await users.remove(session, args.name):
                print(f"error: there is no user {args.name!r}", file=sys.stderr)
                return 2
            else:
                audit.record(session, "command line", "user_removed", now, args.name)
                print(f"removed {args.name}")
            await session.commit()
    finally:
        await engine.dispose()
    return 0
