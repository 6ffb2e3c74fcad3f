"""Rasa's SQL tracker store, seen from the app: where each Rasa keeps its dialogues,
and how a conversation is erased from it.

Rasa keeps each conversation's dialogue state (a booking form half-way, the
slots) in a tracker store. The in-memory one forgets everything when Rasa
restarts, so the app gives every Rasa process an SQL one (``endpoints.yml``
reads ``RASA_TRACKER_URL``): its own SQLite file by default, or one shared
PostgreSQL database in production. Rasa's HTTP API cannot delete a tracker, and
the SQL store only ever appends events, so erasing a lead deletes its rows
here, in the table Rasa's ``SQLTrackerStore`` writes (``events``).
"""

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def _async_url(url: str) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = ASYNC_DRIVERS.get(backend)
    if driver is None:
        raise ValueError(f"unsupported tracker store database: {backend}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


async def forget(url: str, sender: str) -> int:
    """Delete every stored event of ``sender``; how many there were."""
    engine = create_async_engine(_async_url(url))
    try:
        async with engine.begin() as connection:
            result = await connection.execute(
                text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender}
            )
            return result.rowcount
    except (OperationalError, ProgrammingError) as error:
        if "events" in str(error):  # Rasa never stored a turn there yet: nothing to erase
            return 0
        raise
    finally:
        await engine.dispose()
