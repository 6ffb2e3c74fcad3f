"""``make demo``: a living funnel for the console, made by driving the real chat.

Fills a fresh database with a few hundred simulated prospects (300 by default) in
English, Hebrew, Arabic, Persian and Romanian, on the web widget and on Telegram, from
several acquisition sources, over the last four weeks: they ask about the company and
the cars, compare and ask prices, book test drives, ask for a person, complain, praise;
reps take some handoffs, answer and hand back; some bookers buy and answer the NPS
question. Then it adds an admin user to the console. A newcomer runs ``make demo``,
then ``make run``, and opens http://127.0.0.1:8080/console/.

    make demo                                   # 300 prospects, about 5 minutes
    DEMO_PROSPECTS=50 make demo                 # fewer (or --prospects N)
    DEMO_FORCE=1 make demo                      # add to a database that has leads
    DEMO_PASSWORD=... make demo                 # the console password (else generated)

What is real and what is not:

* The app is the real one (``create_app``), started in this process on free ports with
  its own managed Rasa server on the trained model, on ``DATABASE_URL``: the database
  ``make run`` serves (``var/bot.db`` by default). Every message goes through the
  conversation service, Rasa, the booking form, the handoff triggers and the follow-up
  runner; nothing is written to the database behind the app's back.
* Web prospects talk over the widget's real WebSocket (``/ws``), frame by frame as
  ``widget.js`` does: the greeting shown, ``utm_source``, acks, the history on return.
* Telegram prospects are *simulated on the tests' fake Bot API server*
  (tests/fakes/bot_api.py): the app's real aiogram bot long-polls it, so ``/start
  src_<code>``, buttons, shared contacts and the .ics document take the real path, but
  no bot token is needed and nothing reaches Telegram. Their chat ids are made up.
* Reps work the inbox through the ops API (claim, answer, hand back) with a random
  token of this run, each step at its own time between the sessions; after a test
  drive they mark whether the prospect came (``POST /api/v1/bookings/{id}/attendance``)
  and purchases (``POST /api/v1/leads/{id}/purchase``).
* Time: the app runs on the demo's clock (``TravelClock``), four weeks in the past at
  first, a minute of it per real second, jumping forward between sessions of prospects
  (prospects of one session talk at the same time, ``--concurrency`` of them at most).
  So bookings are "tomorrow" for each prospect, the follow-up runner sends reminders,
  nudges and NPS questions when they fall due, and the prospects who come back later
  answer them. The clock never passes the real "now"; a booking still ahead when the
  demo ends gets its follow-ups from ``make run`` (to the web
  chat's outbox; on Telegram, with a real token, they fail: the chats do not exist).

A database that already has leads is refused unless ``--force`` (or ``DEMO_FORCE=1``):
the demo is for an empty one. The same seed (``--seed``) gives the same prospects.
"""

import argparse
import asyncio
import heapq
import os
import random
import secrets
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO
from zoneinfo import ZoneInfo

import aiohttp
import yaml
from aiohttp import WSMsgType, web
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.__main__ import create_app
from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.content.profile import load_profile
from bot.crm.contacts import phone as e164
from bot.crm.journey import STAGES
from bot.followups.schedule import NPS_AFTER, NUDGE_AFTER
from bot.logs import configure_logging
from bot.settings import Settings
from bot.staff import audit, users
from bot.storage.engine import create_engine, migrate, session_factory
from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint
from handlers.context import FOLLOWUPS
from tests.fakes.bot_api import Call, FakeBotAPI

SCRIPTS = Path(__file__).with_name("demo_scripts.yml")
ISRAEL = ZoneInfo("Asia/Jerusalem")  # the showrooms' time zone: when people chat
LANGUAGES = {"en": 30, "he": 25, "ar": 20, "fa": 12, "ro": 13}  # weights
BROWSER_LANGUAGE = {"en": "en-US", "he": "he-IL", "ar": "ar", "fa": "fa-IR", "ro": "ro-RO"}
CHANNELS = {"web": 55, "telegram": 45}
# Tracking codes on the widget's page (utm_source) or a Telegram deep link; None: the
# prospect came without one, and the bot asks "how did you hear about us?" at a
# natural moment, answered with one of its buttons (ANSWERED_SOURCES).
SOURCES = {"facebook_ads": 22, "google": 22, "instagram": 18, "referral": 10, "newsletter": 8,
           None: 20}  # fmt: skip
ANSWERED_SOURCES = ("instagram", "facebook", "google", "friend", "other")
REPS = ("Noa", "Amir", "Elena")
# The moves of each kind of prospect, in order: "a|b" is one of them, "a?" maybe.
# Each journey ends in a stage: browse awareness, compare and handoff consideration,
# decide and half_book decision, book decision (then retention or advocacy after the
# test drive, a purchase or the NPS answer), customer retention, fan advocacy.
JOURNEYS: dict[str, tuple[str, ...]] = {
    "browse": ("company|product_info", "product_info?", "bye"),
    "compare": ("product_info?", "price", "compare", "financing|reviews", "thank", "bye?"),
    "decide": ("price", "promotions|location|availability", "thank?"),
    "half_book": ("price?", "start_booking"),
    "book": ("price|compare|financing", "contact?", "booking", "thank"),
    "handoff": ("price|compare", "human", "thank?"),
    "customer": ("problem|service|warranty", "complaint?", "thank"),
    "fan": ("praise", "referral?", "thank"),
}
JOURNEY_WEIGHTS = {"browse": 14, "compare": 20, "decide": 10, "half_book": 8, "book": 26,
                   "handoff": 10, "customer": 8, "fan": 4}  # fmt: skip
# Busy hours of the showrooms' chat (Israel time): late morning and evening.
HOURS = {8: 2, 9: 5, 10: 8, 11: 9, 12: 8, 13: 6, 14: 6, 15: 6, 16: 6, 17: 5, 18: 5, 19: 7,
         20: 8, 21: 6, 22: 3}  # fmt: skip
BOOKING_HOURS = (10, 11, 12, 14, 15, 16, 17)
NPS_SCORES = {10: 25, 9: 25, 8: 15, 7: 10, 6: 5, 5: 4, 4: 2, 3: 2, 2: 1, 0: 1, None: 10}
RATINGS = {5: 50, 4: 35, 3: 10, 2: 5}

SPEED = 60.0  # demo seconds per real second while a session talks
SESSION = timedelta(hours=6)  # prospects planned within this much talk in one session
STAGGER_SECONDS = 0.25  # real seconds between the starts of a session's prospects
TURN_SECONDS = 60.0  # a turn without an answer after this long counts as failed
TELEGRAM_POLL_SECONDS = 0.05
BOOKING_STEPS = 8  # questions of the booking form answered at most
SENDS = frozenset({"sendMessage", "sendDocument"})


class DemoError(Exception):
    """Something that stops the demo before it starts (a database with leads...)."""


class TurnFailed(Exception):
    """A message the app did not answer in time, or answered with an error frame."""


def weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


# -- what prospects say -------------------------------------------------------------


class Phrasebook:
    """The sentences of tools/demo_scripts.yml, filled in for one prospect."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def load(cls, path: Path = SCRIPTS) -> "Phrasebook":
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def languages(self) -> list[str]:
        return list(self.data)

    def moves(self, language: str) -> dict[str, list[str]]:
        return dict(self.data[language]["say"])

    def line(self, rng: random.Random, language: str, move: str, facts: dict[str, str]) -> str:
        return str(rng.choice(self.data[language]["say"][move]).format(**facts))

    def rep_line(self, rng: random.Random, language: str, kind: str, rep: str) -> str:
        return str(rng.choice(self.data[language]["rep"][kind]).format(rep=rep))

    def name(self, rng: random.Random, language: str) -> str:
        return str(rng.choice(self.data[language]["names"]))

    def product(self, language: str, product_id: str) -> str:
        return str(self.data[language]["products"][product_id])

    def branch(self, language: str, branch_id: str) -> str:
        return str(self.data[language]["branches"][branch_id])

    def when(self, rng: random.Random, language: str) -> str:
        hour = self.digits(language, str(rng.choice(BOOKING_HOURS)))
        return str(rng.choice(self.data[language]["when"]).format(hour=hour))

    def digits(self, language: str, text: str) -> str:
        """Persian prospects type Persian digits (۰۹۱۲...), as on their phones."""
        if self.data[language].get("digits") != "persian":
            return text
        return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    def phone(self, rng: random.Random, language: str) -> str:
        """A number as people of that language type it, valid for phonenumbers (drawn
        again until it is: not every prefix is a mobile network)."""
        pattern = str(self.data[language]["phone"])
        while True:
            typed = "".join(str(rng.randrange(10)) if ch == "X" else ch for ch in pattern)
            if e164(typed, language) is not None:
                return self.digits(language, typed)


# -- who the prospects are ----------------------------------------------------------


@dataclass
class Prospect:
    """One simulated person: who, where from, what they will do, and when they come."""

    number: int
    language: str
    channel: str
    source: str | None
    journey: str
    product: str
    other: str
    branch: str
    name: str
    phone: str
    first_visit: datetime
    nps: int | None  # what they answer to the NPS question after the test drive
    buys: bool  # a rep marks a purchase after the test drive
    rating: int  # what they give a rep who handed them back to the bot
    lead_id: int | None = None

    def facts(self, book: Phrasebook, rng: random.Random) -> dict[str, str]:
        """The words for a sentence's placeholders, in the prospect's language."""
        language = self.language
        return {
            "product": book.product(language, self.product),
            "other": book.product(language, self.other),
            "branch": book.branch(language, self.branch),
            "when": book.when(rng, language),
            "name": self.name,
            "phone": self.phone,
        }


def journeys_for(count: int, rng: random.Random) -> list[str]:
    """Every kind of journey once (so that even a small demo has every stage), then the
    rest by weight, shuffled."""
    kinds = list(JOURNEYS)[:count]
    kinds += [weighted(rng, JOURNEY_WEIGHTS) for _ in range(count - len(kinds))]
    rng.shuffle(kinds)
    return kinds


def visit_times(count: int, rng: random.Random, end: datetime, days: int) -> list[datetime]:
    """First visits over the last ``days`` days, more of them lately (a growing funnel),
    at the busy hours of the day in Israel; sorted, none after ``end``."""
    zone = ISRAEL
    times: list[datetime] = []
    while len(times) < count:
        ago = days * (1 - rng.random() ** 0.7)  # denser near the end
        day = (end - timedelta(days=ago)).astimezone(zone).date()
        hour = weighted(rng, HOURS)
        moment = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=zone)
        if end - timedelta(days=days) <= moment <= end:
            times.append(moment.astimezone(UTC))
    return sorted(times)


def plan(
    count: int, rng: random.Random, book: Phrasebook, products: Sequence[str],
    branches: Sequence[str], end: datetime, days: int,
) -> list[Prospect]:  # fmt: skip
    """The prospects of this demo, deterministic for a seed. The first ones alternate
    between the web and Telegram and go through the languages, so a small demo still
    has both channels and several languages."""
    kinds = journeys_for(count, rng)
    times = visit_times(count, rng, end, days)
    languages = book.languages()
    prospects = []
    for n, (kind, at) in enumerate(zip(kinds, times, strict=True)):
        early = n < len(JOURNEYS)
        language = languages[n % len(languages)] if early else weighted(rng, LANGUAGES)
        channel = ("web", "telegram")[n % 2] if early else weighted(rng, CHANNELS)
        product, other = rng.sample(list(products), 2)
        prospects.append(Prospect(
            number=n, language=language, channel=channel, source=weighted(rng, SOURCES),
            journey=kind, product=product, other=other, branch=rng.choice(list(branches)),
            name=book.name(rng, language), phone=book.phone(rng, language), first_visit=at,
            nps=weighted(rng, NPS_SCORES), buys=rng.random() < 0.4,
            rating=weighted(rng, RATINGS),
        ))  # fmt: skip
    return prospects


def awake(moment: datetime, rng: random.Random) -> datetime:
    """The moment, or the next morning if it falls in the night: people come back to a
    chat when they are up (in Israel, where the showrooms are)."""
    local = moment.astimezone(ISRAEL)
    if 8 <= local.hour < 23:
        return moment
    day = local.date() + timedelta(days=0 if local.hour < 8 else 1)
    hour, minute = rng.randint(8, 11), rng.randrange(60)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ISRAEL).astimezone(UTC)


def moves_of(journey: str, rng: random.Random) -> list[str]:
    """The journey's moves for one visit: one of each "a|b", each "a?" or not."""
    moves = []
    for step in JOURNEYS[journey]:
        optional = step.endswith("?")
        if optional and rng.random() < 0.5:
            continue
        moves.append(rng.choice(step.rstrip("?").split("|")))
    return moves


# -- the app's time ------------------------------------------------------------------


class TravelClock(Clock):
    """The app's clock during the demo: it starts in the past and runs ``speed`` times
    faster than real time, so a conversation takes minutes rather than a second; between
    sessions ``jump`` moves it forward to the next session's time (never back: bookings,
    follow-ups and touchpoints rely on time moving forward)."""

    def __init__(self, start: datetime, speed: float = SPEED) -> None:
        self._speed = speed
        self._anchor, self._real = start.astimezone(UTC), time.monotonic()

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=(time.monotonic() - self._real) * self._speed)

    def jump(self, moment: datetime) -> None:
        if moment > self.now():
            self._anchor, self._real = moment.astimezone(UTC), time.monotonic()


# -- the channels, as a prospect uses them -------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A message from the bot (or a rep) as the prospect sees it, on either channel."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)
    calendar: bool = False  # the booking's .ics invite came with it
    asks_phone: bool = False  # Telegram's "share my phone number" keyboard
    message_id: int | None = None  # Telegram: the message whose buttons are pressed

    def payloads(self, prefix: str) -> list[str]:
        return [payload for _, payload in self.buttons if payload.startswith(prefix)]


class Channel(Protocol):
    name: str
    external_id: str

    async def open(self) -> list[Reply]: ...
    async def say(self, text: str) -> list[Reply]: ...
    async def press(self, reply: Reply, payload: str) -> list[Reply]: ...
    async def share_phone(self, phone: str, name: str) -> list[Reply]: ...
    async def close(self) -> None: ...


class WebVisitor:
    """A visitor of the page with the widget, speaking the widget's frames over the real
    WebSocket: a new visitor's first message says the greeting was shown, every message
    carries the page's utm_source, every reply is acknowledged (so it is "delivered")."""

    name = "web"

    def __init__(self, http: aiohttp.ClientSession, app_url: str, prospect: Prospect,
                 page_url: str) -> None:  # fmt: skip
        self.http, self.app_url, self.prospect = http, app_url, prospect
        self.external_id = uuid.uuid4().hex
        self.page = page_url + (f"?utm_source={prospect.source}" if prospect.source else "")
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.new = True

    async def open(self) -> list[Reply]:
        """Connect; what arrived while the visitor was away comes after the history."""
        lang = BROWSER_LANGUAGE[self.prospect.language]
        query = {"visitor": self.external_id, "lang": lang}
        self.ws = await self.http.ws_connect(f"{self.app_url}/ws", params=query)
        history = await self._frame(TURN_SECONDS)
        if history is None or history.get("type") != "history":
            raise TurnFailed(f"expected the history frame, got {history}")
        if self.new:
            return []
        waiting = []
        while (frame := await self._frame(0.5)) is not None:
            if frame.get("type") == "reply":
                waiting.append(frame)
        return await self._acknowledge(waiting)

    async def say(self, text: str) -> list[Reply]:
        message_id = uuid.uuid4().hex
        frame: dict[str, Any] = {"type": "message", "id": message_id, "text": text,
                                 "page": self.page, "utm_source": self.prospect.source}  # fmt: skip
        if self.new:
            frame["greeted"] = self.prospect.language
            self.new = False
        assert self.ws is not None
        await self.ws.send_json(frame)
        replies = []
        while True:
            answer = await self._frame(TURN_SECONDS)
            if answer is None:
                raise TurnFailed("no answer on the web chat")
            if answer.get("type") == "reply":
                replies.append(answer)
            elif answer.get("type") == "error":
                raise TurnFailed(str(answer.get("error")))
            elif answer.get("type") == "done" and answer.get("id") == message_id:
                return await self._acknowledge(replies)

    async def press(self, reply: Reply, payload: str) -> list[Reply]:
        return await self.say(payload)  # the widget sends a button's payload as the text

    async def share_phone(self, phone: str, name: str) -> list[Reply]:
        return await self.say(phone)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def _frame(self, seconds: float) -> dict[str, Any] | None:
        assert self.ws is not None
        try:
            message = await self.ws.receive(timeout=seconds)
        except TimeoutError:
            return None
        if message.type != WSMsgType.TEXT:
            return None
        data = message.json()
        return data if isinstance(data, dict) else None

    async def _acknowledge(self, frames: list[dict[str, Any]]) -> list[Reply]:
        if frames and self.ws is not None:
            await self.ws.send_json({"type": "ack", "ids": [f["id"] for f in frames]})
        return [web_reply(frame) for frame in frames]


def web_reply(frame: dict[str, Any]) -> Reply:
    buttons = tuple((str(b["title"]), str(b["payload"])) for b in frame.get("buttons") or [])
    calendar = (frame.get("attachment") or {}).get("kind") == "calendar"
    return Reply(str(frame.get("text") or ""), buttons, calendar=calendar)


class TelegramUser:
    """A Telegram user in a private chat with the bot, on the fake Bot API server: each
    step is an update the app's aiogram bot polls, answered when the database says the
    turn is done and its replies were confirmed (Telegram gives no "done" of its own)."""

    name = "telegram"

    def __init__(self, api: FakeBotAPI, records: "Records", prospect: Prospect,
                 chat_id: int) -> None:  # fmt: skip
        self.api, self.records, self.prospect, self.chat_id = api, records, prospect, chat_id
        self.external_id = str(chat_id)
        self.cursor = len(api.calls)

    async def open(self) -> list[Reply]:
        """What the bot sent while the prospect was away (follow-ups, a rep's words)."""
        return self._received()

    async def say(self, text: str) -> list[Reply]:
        language = self.prospect.language
        return await self._push(self.api.message_update(self.chat_id, text, language_code=language))

    async def press(self, reply: Reply, payload: str) -> list[Reply]:
        update = self.api.callback_update(
            self.chat_id, payload, language_code=self.prospect.language,
            message_id=reply.message_id or 1,
        )  # fmt: skip
        return await self._push(update)

    async def share_phone(self, phone: str, name: str) -> list[Reply]:
        """The "share my phone number" button: Telegram sends the contact card."""
        number = e164(phone, self.prospect.language) or phone
        card = {"phone_number": number.lstrip("+"), "first_name": name, "user_id": self.chat_id}
        update = self.api.message_update(
            self.chat_id, None, language_code=self.prospect.language, contact=card
        )
        return await self._push(update)

    async def close(self) -> None:
        return None

    async def _push(self, update: dict[str, Any]) -> list[Reply]:
        update_id = self.api.push_update(update)
        await self.records.telegram_turn_done(self.chat_id, update_id, TURN_SECONDS)
        return self._received()

    def _received(self) -> list[Reply]:
        """The bot's messages to this chat since last time. The cursor stops before a send
        still under way (its answer not known yet), which is then read next time."""
        calls, mine = self.api.calls, []
        end = len(calls)
        for index in range(self.cursor, len(calls)):
            call = calls[index]
            if call.method in SENDS and call.status == 0:
                end = index
                break
            if call.method in SENDS and call.status == 200 and self._to_me(call):
                mine.append(telegram_reply(call))
        self.cursor = end
        return mine

    def _to_me(self, call: Call) -> bool:
        return call.params.get("chat_id") in (self.chat_id, str(self.chat_id))


def telegram_reply(call: Call) -> Reply:
    if call.method == "sendDocument":
        return Reply(str(call.params.get("caption") or ""), calendar=True)
    markup = call.params.get("reply_markup") or {}
    keys = [key for row in markup.get("inline_keyboard", []) for key in row]
    wants_phone = any(
        key.get("request_contact") for row in markup.get("keyboard", []) for key in row
    )
    return Reply(
        str(call.params.get("text") or ""),
        tuple((str(k["text"]), str(k.get("callback_data", ""))) for k in keys),
        asks_phone=wants_phone,
        message_id=int(call.result["message_id"]),
    )


# -- what the demo reads from the database -------------------------------------------


class Records:
    """Reads of the demo: whether a Telegram turn is done, a lead's id and booking, and
    the report's counts. On an engine of its own without the app's BEGIN IMMEDIATE
    (bot.storage.engine), so that polling never queues behind the app's writers."""

    def __init__(self, database_url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(database_url)

    async def close(self) -> None:
        await self.engine.dispose()

    async def telegram_turn_done(self, chat_id: int, update_id: int, seconds: float) -> None:
        """Wait until the update's message was answered and Telegram took every reply."""
        inbound = (
            select(Touchpoint.id, Touchpoint.status)
            .join(Conversation, Conversation.id == Touchpoint.conversation_id)
            .where(Conversation.channel == "telegram",
                   Conversation.external_id == str(chat_id),
                   Touchpoint.idempotency_key == f"tg:{update_id}")
        )  # fmt: skip
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            async with self.engine.connect() as connection:
                row = (await connection.execute(inbound)).first()
                if row is not None and row.status != "received":
                    queued = await connection.scalar(
                        select(func.count()).where(Touchpoint.reply_to_id == row.id,
                                                   Touchpoint.status == "queued")
                    )  # fmt: skip
                    if not queued:
                        return
            await asyncio.sleep(TELEGRAM_POLL_SECONDS)
        raise TurnFailed(f"Telegram update {update_id} unanswered after {seconds:.0f} s")

    async def lead_of(self, channel: str, external_id: str) -> int | None:
        query = select(Conversation.lead_id).where(
            Conversation.channel == channel, Conversation.external_id == external_id
        )
        async with self.engine.connect() as connection:
            return await connection.scalar(query)

    async def latest_booking(self, lead_id: int) -> int | None:
        """The lead's latest confirmed booking, the one a rep marks as attended or not."""
        query = (
            select(Booking.id)
            .where(Booking.lead_id == lead_id, Booking.status == "confirmed")
            .order_by(Booking.starts_at.desc())
            .limit(1)
        )
        async with self.engine.connect() as connection:
            return await connection.scalar(query)

    async def booking_ends(self, lead_id: int) -> datetime | None:
        """When the lead's latest confirmed test drive ends (the NPS question follows)."""
        query = select(func.max(Booking.ends_at)).where(
            Booking.lead_id == lead_id, Booking.status == "confirmed"
        )
        async with self.engine.connect() as connection:
            found = await connection.scalar(query)
        if isinstance(found, str):  # SQLite hands an aggregate back as text
            found = datetime.fromisoformat(found)
        return found.replace(tzinfo=found.tzinfo or UTC) if found else None

    async def counts(self) -> "Summary":
        async with self.engine.connect() as connection:

            async def grouped(column: Any, *where: Any) -> dict[str, int]:
                query = select(column, func.count()).where(*where).group_by(column)
                rows = (await connection.execute(query)).all()
                return {str(key): int(count) for key, count in rows}

            return Summary(
                stages=await grouped(Lead.stage),
                languages=await grouped(Lead.language),
                sources=await grouped(Lead.source),
                channels=await grouped(Conversation.channel),
                bookings=await grouped(Booking.status),
                handoffs=await grouped(Handoff.status),
                events=await grouped(Touchpoint.kind, Touchpoint.kind.in_(("nps", "purchase"))),
                touchpoints=int(await connection.scalar(select(func.count(Touchpoint.id))) or 0),
            )


@dataclass
class Summary:
    """What the database has after the demo (all of it, not only this run's)."""

    stages: dict[str, int]
    languages: dict[str, int]
    sources: dict[str, int]
    channels: dict[str, int]
    bookings: dict[str, int]
    handoffs: dict[str, int]
    events: dict[str, int]
    touchpoints: int

    @property
    def leads(self) -> int:
        return sum(self.stages.values())


# -- a visit -------------------------------------------------------------------------


@dataclass
class Tally:
    """What the demo did and what came of it, for the progress bar and the report."""

    planned: int = 0
    visits: int = 0
    turns: int = 0
    answered: int = 0
    relayed: int = 0  # no answer from the bot: a rep has the conversation
    failed: int = 0
    claims: int = 0
    attendance: Counter[str] = field(default_factory=Counter)  # attended / no_show marked
    rep_messages: int = 0
    releases: int = 0
    purchases: int = 0
    errors: Counter[str] = field(default_factory=Counter)


class Talk:
    """One visit of one prospect: the journey's moves said through their channel, reacting
    to the bot as a person would: a source question gets one of its buttons, the booking
    form's questions their answers (a button, the name, the number)."""

    def __init__(self, prospect: Prospect, channel: Channel, book: Phrasebook,
                 catalog: Catalog, rng: random.Random, tally: Tally) -> None:  # fmt: skip
        self.prospect, self.channel, self.book = prospect, channel, book
        self.catalog, self.rng, self.tally = catalog, rng, tally
        self.booked = False
        self.asked_person = False  # asked for a person, or complained: a handoff

    async def first(self) -> None:
        await self.channel.open()
        if self.channel.name == "telegram":  # Telegram's Start button, with the link's code
            source = self.prospect.source
            await self.send("/start" + (f" src_{source}" if source else ""))
        for move in moves_of(self.prospect.journey, self.rng):
            if move == "booking":
                await self.booking(full=self.rng.random() < 0.45)
            elif move == "start_booking":
                await self.booking(full=False, leave_at_time=True)
            else:
                self.asked_person |= move in ("human", "complaint")
                await self.say(move)

    async def after_booking(self) -> None:
        """The day after the test drive: the NPS question is waiting; answer it, maybe
        with a word of praise."""
        inbox = await self.channel.open()
        question = next((r for r in inbox if r.payloads("nps:")), None)
        score = self.prospect.nps
        if question is None or score is None:
            await self.say("thank")
            return
        if self.rng.random() < 0.7:
            await self.press(question, f"nps:{score}")
        else:
            await self.send(self.book.digits(self.prospect.language, str(score)))
        if score >= 9 and self.rng.random() < 0.5:
            await self.say("praise")

    async def after_handoff(self) -> None:
        """Back later: a rep may have answered and handed back, asking for a rating."""
        inbox = await self.channel.open()
        question = next((r for r in inbox if r.payloads("csat:")), None)
        if question is not None:
            await self.press(question, f"csat:{self.prospect.rating}")
        else:
            await self.say("thank")

    async def after_nudge(self) -> None:
        """Back after "shall we finish?": press its button and finish the booking."""
        inbox = await self.channel.open()
        nudge = next((r for r in inbox if r.payloads("/book_appointment")), None)
        if nudge is not None:
            await self.complete(await self.press(nudge, "/book_appointment"))

    async def booking(self, full: bool, leave_at_time: bool = False) -> None:
        """All details in one message, or step by step answering the form's questions;
        ``leave_at_time``: leave when the form asks for a time (the nudge comes later)."""
        replies = await self.say("book_full" if full else "book")
        await self.complete(replies, leave_at_time)

    async def complete(self, replies: list[Reply], leave_at_time: bool = False) -> None:
        for _ in range(BOOKING_STEPS):
            if any(r.calendar for r in replies):
                self.booked = True
                return
            if not replies:
                return
            question = replies[-1]
            times = question.payloads('/inform{"when"')
            if times and leave_at_time:
                return
            answer = self.answer(question, times)
            if answer is None:
                return
            replies = await answer

    def answer(self, question: Reply, times: list[str]) -> Awaitable[list[Reply]] | None:
        """The turn that answers one question of the booking form, or None (not one)."""
        prospect = self.prospect
        if times:
            return self.press(question, self.rng.choice(times[:3]))
        for kind, wanted in (("product", prospect.product), ("branch", prospect.branch)):
            offered = question.payloads(f'/inform{{"{kind}"')
            if offered:
                mine = [p for p in offered if f'"{wanted}"' in p]
                return self.press(question, (mine or offered)[0])
        if question.asks_phone and self.rng.random() < 0.6:
            return self.turn(self.channel.share_phone(prospect.phone, prospect.name))
        if self.asks(question, "booking.ask_name"):
            return self.send(prospect.name)
        if self.asks(question, "booking.ask_contact", "booking.bad_contact"):
            return self.send(prospect.phone)
        return None

    def asks(self, reply: Reply, *keys: str) -> bool:
        return any(reply.text == self.catalog.render(k, self.prospect.language) for k in keys)

    async def say(self, move: str) -> list[Reply]:
        facts = self.prospect.facts(self.book, self.rng)
        return await self.send(self.book.line(self.rng, self.prospect.language, move, facts))

    async def send(self, text: str) -> list[Reply]:
        return await self.turn(self.channel.say(text))

    async def press(self, reply: Reply, payload: str) -> list[Reply]:
        return await self.turn(self.channel.press(reply, payload))

    async def turn(self, step: Awaitable[list[Reply]]) -> list[Reply]:
        """One message and its answer, counted; then a source question is answered."""
        self.tally.turns += 1
        try:
            replies = await step
        except (TurnFailed, aiohttp.ClientError) as error:
            self.tally.failed += 1
            self.tally.errors[type(error).__name__ + ": " + str(error)[:80]] += 1
            return []
        unavailable = self.catalog.render("rasa_unavailable", self.prospect.language)
        if any(r.text == unavailable for r in replies):
            self.tally.failed += 1
        elif replies:
            self.tally.answered += 1
        else:
            self.tally.relayed += 1
        asked = next((r for r in replies if r.payloads("source:")), None)
        if asked is not None and self.rng.random() < 0.8:
            return await self.press(asked, f"source:{self.rng.choice(ANSWERED_SOURCES)}")
        return replies


# -- the reps ------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffPlan:
    """What the reps will do with one handoff, drawn when they first see it."""

    claim_after: timedelta | None  # None: nobody takes it (it waits, then expires)
    answers: bool
    release_after: timedelta | None  # None: the rep keeps the conversation


class OpsClient:
    """The ops API with this run's token, as the reps' tools and the team use it."""

    def __init__(self, http: aiohttp.ClientSession, app_url: str, token: str) -> None:
        self.http, self.base = http, f"{app_url}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON answer, or None when the API refused (a handoff another rep took)."""
        async with self.http.request(
            method, self.base + path, json=body, headers=self.headers
        ) as response:
            if response.status >= 400:
                return None
            return await response.json()


class Desk:
    """The demo's sales reps working the inbox between sessions, through the ops API:
    most handoffs are taken within minutes to a couple of hours, answered in the
    prospect's language, many handed back to the bot; some are never taken, so the
    inbox has work waiting when the demo ends."""

    def __init__(self, ops: OpsClient, book: Phrasebook, clock: Clock, rng: random.Random,
                 tally: Tally) -> None:  # fmt: skip
        self.ops, self.book, self.clock, self.rng, self.tally = ops, book, clock, rng, tally
        self.plans: dict[int, HandoffPlan] = {}

    def draw(self) -> HandoffPlan:
        rng = self.rng
        if rng.random() < 0.2:
            return HandoffPlan(None, False, None)
        claim = timedelta(minutes=rng.randint(2, 120))
        release = claim + timedelta(minutes=rng.randint(10, 180)) if rng.random() < 0.6 else None
        return HandoffPlan(claim, rng.random() < 0.9, release)

    async def work(self, until: datetime, meanwhile: Callable[[], Awaitable[None]]) -> None:
        """The reps' work up to ``until``, each step at its own time: a handoff is taken
        twenty minutes after it came, not when the next prospects happen to chat (the
        funnel's speed to lead is then the reps', not the demo's). ``meanwhile`` runs at
        each step's time first: what the app does on its own by then (a handoff's timers)."""
        done: set[tuple[int, str]] = set()  # a refused step is not tried again and again
        while True:
            listing = await self.ops.call("GET", "/handoffs?status=open") or {"handoffs": []}
            due = [(at, card) for card in listing["handoffs"]
                   if (card["id"], card["status"]) not in done
                   and (at := self.due(card)) is not None and at <= until]  # fmt: skip
            if not due:
                return
            at, card = min(due, key=lambda pair: pair[0])
            self.clock.jump(at)
            await meanwhile()
            done.add((card["id"], card["status"]))
            if card["status"] == "waiting":
                await self.take(card, self.plans[card["id"]])
            else:
                await self.release(card)

    def due(self, card: dict[str, Any]) -> datetime | None:
        """When the reps' next step on this handoff comes, if they take one."""
        plan = self.plans.setdefault(card["id"], self.draw())
        opened = datetime.fromisoformat(card["created_at"])
        if card["status"] == "waiting" and plan.claim_after:
            return opened + plan.claim_after
        if card["status"] == "claimed" and plan.release_after:
            return opened + plan.release_after
        return None

    async def release(self, card: dict[str, Any]) -> None:
        body = {"rep": card["rep"]}
        if await self.ops.call("POST", f"/handoffs/{card['id']}/release", body) is not None:
            self.tally.releases += 1

    async def take(self, card: dict[str, Any], plan: HandoffPlan) -> None:
        rep, handoff = self.rng.choice(REPS), card["id"]
        if await self.ops.call("POST", f"/handoffs/{handoff}/claim", {"rep": rep}) is None:
            return
        self.tally.claims += 1
        if not plan.answers:
            return
        language = card["lead"].get("language") or "en"
        for kind in ("hello", "answer"):
            text = self.book.rep_line(self.rng, language, kind, rep)
            body = {"rep": rep, "text": text}
            if await self.ops.call("POST", f"/handoffs/{handoff}/messages", body) is not None:
                self.tally.rep_messages += 1


# -- the whole simulation ------------------------------------------------------------


@dataclass
class Target:
    """The running app the demo drives, with what it needs to drive it."""

    app: web.Application
    url: str
    api: FakeBotAPI
    clock: TravelClock
    ops_token: str
    catalog: Catalog
    database_url: str
    page_url: str  # where the widget's page is, as make run serves it


@dataclass(order=True)
class Visit:
    at: datetime
    order: int
    kind: str = field(compare=False)  # first | booked | handed_off | nudged
    prospect: Prospect = field(compare=False)
    channel: Channel | None = field(compare=False, default=None)


class Simulation:
    """Sessions of prospects, in time order: jump the clock to the session, send the
    follow-ups that fell due, let the reps work, then let the session's prospects talk
    at once (a quarter of a real second apart). A visit that ends with a booking, a
    handoff or a half-done booking plans the prospect's next visit."""

    def __init__(self, target: Target, prospects: list[Prospect], book: Phrasebook,
                 seed: int, concurrency: int, end: datetime,
                 progress: Callable[[Tally, datetime], None]) -> None:  # fmt: skip
        self.target, self.book, self.seed = target, book, seed
        self.rng = random.Random(seed)  # noqa: S311 - made-up people, not secrets
        self.concurrency, self.progress = concurrency, progress
        self.tally = Tally()
        self.end = end  # the demo's "now": nothing is planned after it
        self.queue: list[Visit] = []
        self.counter = 0
        self.records = Records(target.database_url)
        self.chat_ids: set[int] = set()
        for prospect in prospects:
            self.schedule(prospect.first_visit, "first", prospect, self.rng)

    def schedule(self, at: datetime, kind: str, prospect: Prospect, rng: random.Random,
                 channel: Channel | None = None) -> None:  # fmt: skip
        at = awake(at, rng)
        if at > self.end:
            return  # after the demo's "now": that visit has not happened yet
        self.counter += 1
        heapq.heappush(self.queue, Visit(at, self.counter, kind, prospect, channel))
        self.tally.planned += 1

    async def run(self, http: aiohttp.ClientSession) -> Tally:
        ops = OpsClient(http, self.target.url, self.target.ops_token)
        desk = Desk(ops, self.book, self.target.clock, self.rng, self.tally)
        try:
            while self.queue:
                session = self.next_session()
                await self.between(desk, session[0].at)
                talks = [self.visit(http, ops, v, n * STAGGER_SECONDS)
                         for n, v in enumerate(session)]  # fmt: skip
                await asyncio.gather(*talks)
        finally:
            await self.records.close()
        return self.tally

    def next_session(self) -> list[Visit]:
        first = heapq.heappop(self.queue)
        session = [first]
        while (self.queue and len(session) < self.concurrency
               and self.queue[0].at <= first.at + SESSION):  # fmt: skip
            session.append(heapq.heappop(self.queue))
        return session

    async def between(self, desk: Desk, until: datetime) -> None:
        """What happens while nobody chats, in time order, up to the next session: the
        reps' steps, each at its time, and the follow-ups due (reminders, NPS, nudges,
        a handoff's timers)."""
        await desk.work(until, self.follow_ups)
        self.target.clock.jump(until)
        await self.follow_ups()

    async def follow_ups(self) -> None:
        runner = self.target.app[FOLLOWUPS]
        while await runner.run_due():
            pass

    async def visit(self, http: aiohttp.ClientSession, ops: OpsClient, visit: Visit,
                    delay: float) -> None:  # fmt: skip
        await asyncio.sleep(delay)
        prospect = visit.prospect
        channel = visit.channel or self.channel_for(http, prospect)
        # Each visit draws from its own generator: the same seed, the same conversations,
        # whichever order the session's visits happen to finish in.
        rng = random.Random(f"{self.seed}:{prospect.number}:{visit.kind}")  # noqa: S311
        talk = Talk(prospect, channel, self.book, self.target.catalog, rng, self.tally)
        try:
            if visit.kind == "booked" and prospect.lead_id is not None:
                came = await self.attendance(ops, prospect.lead_id, rng)
                if came and prospect.buys:
                    await self.purchase(ops, prospect.lead_id)
            await self.talk(talk, visit.kind)
        except (TurnFailed, aiohttp.ClientError, TimeoutError) as error:
            self.tally.errors[type(error).__name__ + ": " + str(error)[:80]] += 1
        finally:
            await channel.close()
        await self.next_visit(talk, visit, channel)
        self.tally.visits += 1
        self.progress(self.tally, self.target.clock.now())

    async def attendance(self, ops: OpsClient, lead_id: int, rng: random.Random) -> bool:
        """A rep marks whether the prospect came to the test drive: most did, some are
        no-shows (the funnel's no-show rate), and now and then nobody marks it."""
        booking = await self.records.latest_booking(lead_id)
        draw = rng.random()
        if booking is None or draw >= 0.9:
            return booking is not None
        came = "attended" if draw < 0.78 else "no_show"
        if await ops.call("POST", f"/bookings/{booking}/attendance", {"attendance": came}):
            self.tally.attendance[came] += 1
        return came == "attended"

    async def purchase(self, ops: OpsClient, lead_id: int) -> None:
        """A rep marks that the test driver bought the car (before they answer the NPS)."""
        if await ops.call("POST", f"/leads/{lead_id}/purchase") is not None:
            self.tally.purchases += 1

    @staticmethod
    async def talk(talk: Talk, kind: str) -> None:
        steps = {"first": talk.first, "booked": talk.after_booking,
                 "handed_off": talk.after_handoff, "nudged": talk.after_nudge}  # fmt: skip
        await steps[kind]()

    def channel_for(self, http: aiohttp.ClientSession, prospect: Prospect) -> Channel:
        target = self.target
        if prospect.channel == "web":
            return WebVisitor(http, target.url, prospect, target.page_url)
        chat_id = secrets.randbelow(8_000_000_000) + 1_000_000_000
        while chat_id in self.chat_ids:
            chat_id += 1
        self.chat_ids.add(chat_id)
        return TelegramUser(target.api, self.records, prospect, chat_id)

    async def next_visit(self, talk: Talk, visit: Visit, channel: Channel) -> None:
        """Who comes back, and when: a day or so after the test drive (the NPS question
        is there by then), hours after asking for a person, after the nudge."""
        prospect, rng, now = visit.prospect, talk.rng, self.target.clock.now()
        if prospect.lead_id is None:
            prospect.lead_id = await self.records.lead_of(channel.name, channel.external_id)
        if talk.booked and prospect.lead_id is not None and rng.random() < 0.85:
            ends = await self.records.booking_ends(prospect.lead_id)
            if ends is not None:
                later = ends + NPS_AFTER + SESSION + timedelta(hours=rng.uniform(1, 20))
                self.schedule(later, "booked", prospect, rng, channel)
        elif talk.asked_person and rng.random() < 0.6:
            later = now + SESSION + timedelta(hours=rng.uniform(2, 24))
            self.schedule(later, "handed_off", prospect, rng, channel)
        if visit.kind == "first" and prospect.journey == "half_book" and rng.random() < 0.5:
            later = now + NUDGE_AFTER + SESSION + timedelta(hours=rng.uniform(1, 12))
            self.schedule(later, "nudged", prospect, rng, channel)


# -- running it ----------------------------------------------------------------------


@dataclass
class Options:
    prospects: int = 300
    concurrency: int = 12
    days: int = 28
    seed: int = 12
    force: bool = False
    user: str = "demo"
    password: str | None = None  # None: a generated one


@dataclass
class Outcome:
    tally: Tally
    summary: Summary
    seconds: float
    startup_seconds: float
    user_created: bool
    password: str | None  # the generated password, to show once; None if not generated


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shown(database_url: str) -> str:
    """The database URL without its password, fit for a terminal."""
    return make_url(database_url).render_as_string(hide_password=True)


async def leads_in(database_url: str) -> int:
    """How many leads the database has (it is created and migrated if new)."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count(Lead.id))) or 0)
    finally:
        await engine.dispose()


def demo_settings(settings: Settings, api: FakeBotAPI, ops_token: str) -> Settings:
    """The app's settings for the demo: the same database and business, free ports (so a
    running ``make run`` is not disturbed), Telegram on the fake Bot API, the follow-up
    runner left to the demo (it runs it after each jump of the clock), links in handoff
    cards pointing where ``make run`` serves. An external Rasa (RASA_URL) calls the app
    back on its configured port, so then that port is kept."""
    update: dict[str, Any] = {
        "bot_api_token": SecretStr(ops_token),
        "telegram_bot_token": SecretStr(api.token),
        "telegram_api_url": api.url,
        "telegram_webhook_url": None,
        "telegram_reps_chat_id": None,
        "followup_interval_seconds": 24 * 3600.0,
        "public_url": settings.base_url,
        "address_throttle_messages": 10**9,  # every simulated visitor comes from here
    }
    if settings.rasa_managed:
        update |= {"port": free_port(), "rasa_port": free_port()}
    return settings.model_copy(update=update)


async def ensure_user(database_url: str, name: str, password: str) -> bool:
    """The console's admin for the newcomer, as ``python -m bot users add`` makes one;
    an existing user is left as it is (False)."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            if await users.find(session, name) is not None:
                return False
            now = Clock().now()
            await users.add(session, name, "admin", password, now)
            audit.record(session, "make demo", "user_added", now, name, role="admin")
            await session.commit()
            return True
    finally:
        await engine.dispose()


async def check(settings: Settings, options: Options) -> None:
    """Refuse (DemoError) what the demo must not do, before it starts anything: touch a
    database that has leads (unless forced), make a password too short to sign in with,
    talk about test drives to another business."""
    if options.password is not None and len(options.password) < users.MIN_PASSWORD:
        raise DemoError(f"DEMO_PASSWORD needs at least {users.MIN_PASSWORD} characters")
    if load_profile(settings.business_profile).id != "car_dealer":
        raise DemoError("the demo's prospects want test drives: run it with the car_dealer "
                        "business profile (the default BUSINESS_PROFILE)")  # fmt: skip
    existing = await leads_in(settings.database_url)
    if existing and not options.force:
        raise DemoError(
            f"{shown(settings.database_url)} already has {existing} leads: the demo fills a "
            "fresh database. Point DATABASE_URL at a new one, or set DEMO_FORCE=1 (--force) "
            "to add to this one."
        )


async def run(settings: Settings, options: Options,
              progress: Callable[[Tally, datetime], None] | None = None) -> Outcome:  # fmt: skip
    """The whole demo on ``settings``' database; raises DemoError (see ``check``) before
    starting anything."""
    await check(settings, options)
    password = options.password or secrets.token_urlsafe(12)
    profile = load_profile(settings.business_profile)
    started = time.monotonic()
    rng = random.Random(options.seed)  # noqa: S311 - made-up people, not secrets
    book = Phrasebook.load()
    end = datetime.now(UTC) - timedelta(minutes=45)
    prospects = plan(options.prospects, rng, book, [p.id for p in profile.products],
                     [b.id for b in profile.branches], end, options.days)  # fmt: skip
    clock = TravelClock(end - timedelta(days=options.days, hours=1))
    async with FakeBotAPI() as api:
        token = secrets.token_urlsafe(24)
        app_settings = demo_settings(settings, api, token)
        runner = web.AppRunner(create_app(app_settings, clock), access_log=None)
        await runner.setup()  # migrations, Rasa's start (30-60 s)
        try:
            await web.TCPSite(runner, app_settings.host, app_settings.port).start()
            startup = time.monotonic() - started
            url = f"http://{app_settings.host}:{app_settings.port}"
            catalog = Catalog.load(profile, settings.default_language)
            target = Target(runner.app, url, api, clock, token, catalog,
                            settings.database_url, f"{settings.base_url}/")  # fmt: skip
            simulation = Simulation(
                target, prospects, book, options.seed, options.concurrency, end,
                progress or (lambda tally, now: None),
            )  # fmt: skip
            async with aiohttp.ClientSession() as http:
                tally = await simulation.run(http)
        finally:
            await runner.cleanup()
    created = await ensure_user(settings.database_url, options.user, password)
    records = Records(settings.database_url)
    try:
        summary = await records.counts()
    finally:
        await records.close()
    return Outcome(tally, summary, time.monotonic() - started, startup, created,
                   password if created and options.password is None else None)  # fmt: skip


# -- the terminal --------------------------------------------------------------------


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; in a pipe or a log, a line
    every tenth of the way. The total grows as prospects plan to come back."""

    WIDTH = 30

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream, self.started = stream, time.monotonic()
        self.live, self.last_tenth = stream.isatty(), -1

    def __call__(self, tally: Tally, now: datetime) -> None:
        share = tally.visits / max(tally.planned, 1)
        filled = round(share * self.WIDTH)
        local = now.astimezone(ISRAEL)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {tally.visits}/{tally.planned} "
            f"visits · {tally.turns} turns · {tally.failed} failed · "
            f"{time.monotonic() - self.started:.0f} s · demo clock {local:%a %d %b %H:%M}"
        )
        if self.live:
            self.stream.write("\r" + line.ljust(120)[:150])
        elif int(share * 10) > self.last_tenth:
            self.last_tenth = int(share * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def listed(counts: dict[str, int], order: Sequence[str] = ()) -> str:
    keys = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return " · ".join(f"{'unknown' if k == 'None' else k} {counts[k]}" for k in keys) or "none"


def report(outcome: Outcome, settings: Settings, options: Options) -> str:
    """What was sent and what the database has, honestly, with how to sign in."""
    t, s = outcome.tally, outcome.summary
    nps, purchases = s.events.get("nps", 0), s.events.get("purchase", 0)
    lines = [
        f"make demo: {outcome.seconds:.0f} s in all ({outcome.startup_seconds:.0f} s starting "
        f"the app and Rasa), seed {options.seed}",
        f"  sent:     {options.prospects} prospects, {t.visits} visits, {t.turns} messages; "
        f"{t.answered} answered, {t.relayed} to a rep, {t.failed} failed",
        f"  reps:     {t.claims} handoffs taken, {t.rep_messages} messages, "
        f"{t.releases} handed back; {t.purchases} purchases marked; "
        f"{t.attendance['attended']} came, {t.attendance['no_show']} no-shows marked",
        f"the database ({shown(settings.database_url)}) now has {s.leads} leads, "
        f"{s.touchpoints} touchpoints:",
        f"  stage:    {listed(s.stages, STAGES)}",
        f"  channel:  {listed(s.channels)} (conversations)",
        f"  language: {listed(s.languages, tuple(LANGUAGES))}",
        f"  source:   {listed(s.sources)}",
        f"  bookings: {listed(s.bookings)}",
        f"  handoffs: {listed(s.handoffs, ('waiting', 'claimed', 'closed', 'expired'))}",
        f"  NPS answers {nps}, purchases {purchases}",
    ]
    lines += [f"  error x{n}: {error}" for error, n in t.errors.most_common(3)]
    console = f"{settings.base_url}/console/"
    if outcome.password is not None:
        lines.append(f"console: {console}  user {options.user!r}, password {outcome.password}"
                     "  (shown once; DEMO_PASSWORD=... chooses it)")  # fmt: skip
    elif outcome.user_created:
        lines.append(f"console: {console}  user {options.user!r}, the password in DEMO_PASSWORD")
    else:
        lines.append(f"console: {console}  user {options.user!r} existed: password unchanged")
    lines.append("now `make run` serves this database; open the console and sign in.")
    return "\n".join(lines)


def options_from(argv: list[str], environ: dict[str, str]) -> Options:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int,
                        default=int(environ.get("DEMO_PROSPECTS", "300")))  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=12, help="prospects at once")
    parser.add_argument("--days", type=int, default=28, help="how far back the demo starts")
    parser.add_argument("--seed", type=int, default=12, help="the same seed, the same people")
    parser.add_argument("--force", action="store_true",
                        default=environ.get("DEMO_FORCE", "") not in ("", "0"),
                        help="add to a database that already has leads")  # fmt: skip
    parser.add_argument("--user", default="demo", help="the console admin to create")
    args = parser.parse_args(argv)
    return Options(
        prospects=max(1, args.prospects), concurrency=max(1, args.concurrency),
        days=max(1, args.days), seed=args.seed, force=args.force, user=args.user,
        password=environ.get("DEMO_PASSWORD") or None,
    )  # fmt: skip


async def cli(settings: Settings, options: Options) -> int:
    try:
        await check(settings, options)
    except DemoError as error:
        print(f"make demo: {error}", file=sys.stderr)
        return 2
    print(f"make demo: {options.prospects} prospects into {shown(settings.database_url)}; "
          "starting the app and its Rasa server (30-60 s) ...", flush=True)  # fmt: skip
    bar = ProgressBar()
    try:
        outcome = await run(settings, options, bar)
    finally:
        bar.finish()
    print(report(outcome, settings, options))
    return 0


def main() -> None:
    settings = Settings()
    options = options_from(sys.argv[1:], dict(os.environ))
    configure_logging("WARNING", settings.log_json)  # the app's INFO lines would bury the bar
    sys.exit(asyncio.run(cli(settings, options)))


if __name__ == "__main__":
    main()
