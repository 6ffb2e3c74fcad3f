"""`make demo` (tools/demo.py): its people and sentences, and a small demo end to end.

The fast tests check what the demo is made of: sentences in every language for every
move, none of them copied from the model's training or held-out data, valid phone
numbers, a plan with every journey, both channels and every language, a clock that
only moves forward, reps who take each handoff at its own time (on the real app and
the fake Rasa). The integration test runs the real thing small: 10 prospects
against the real app and its real Rasa server, on a fresh database.
"""

import random
import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.content.profile import load_profile
from bot.crm.contacts import phone as e164
from bot.settings import PROJECT_DIR
from bot.staff import users
from bot.storage.engine import create_engine, migrate, session_factory
from bot.storage.models import Booking, Conversation, Handoff, Lead, StaffUser
from handlers.context import SESSIONS
from tests.conftest import OPS_TOKEN, make_settings, on_fake, serve_with
from tests.fakes.rasa import FakeRasa
from tools import demo

DEALER = load_profile("car_dealer")
PRODUCTS = [p.id for p in DEALER.products]
BRANCHES = [b.id for b in DEALER.branches]
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\{[^}]*\}|\([^)]*\))")
# The moves the journeys and the booking use (tools/demo.py), each needed in every language.
MOVES = {step for moves in demo.JOURNEYS.values() for s in moves
         for step in s.rstrip("?").split("|")} - {"booking", "start_booking"}  # fmt: skip
MOVES |= {"book", "book_full", "name", "phone", "thank", "praise", "contact"}
FACTS = {"product", "other", "branch", "when", "name", "phone"}


@pytest.fixture(scope="module")
def book() -> demo.Phrasebook:
    return demo.Phrasebook.load()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def folded(text: str) -> str:
    return text.casefold().strip().rstrip("?!.").strip()


def model_examples() -> set[str]:
    """Every example of the training data (nlu/) and the held-out sets (tests/nlu/)."""
    found: set[str] = set()
    for path in [*(PROJECT_DIR / "nlu").glob("*.yml"), *(PROJECT_DIR / "tests/nlu").glob("*.yml")]:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(item.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    found.add(folded(ANNOTATION.sub(r"\1", line.strip()[2:])))
    return found


def test_every_language_has_every_move_with_known_placeholders(book: demo.Phrasebook) -> None:
    assert set(book.languages()) == set(demo.LANGUAGES)
    for language in book.languages():
        moves = book.moves(language)
        assert set(moves) >= MOVES, (language, MOVES - set(moves))
        for move, lines in moves.items():
            assert lines, (language, move)
            for line in lines:
                assert placeholders(line) <= FACTS, (language, move, line)
        assert set(book.data[language]["products"]) == set(PRODUCTS)
        assert set(book.data[language]["branches"]) == set(BRANCHES)
        for kind in ("hello", "answer"):
            assert all(placeholders(line) <= {"rep"} for line in book.data[language]["rep"][kind])


def test_no_sentence_is_one_the_model_was_trained_or_tested_on(book: demo.Phrasebook) -> None:
    examples, rng = model_examples(), random.Random(1)
    copied = set()
    for language in book.languages():
        for product in PRODUCTS:
            prospect = prospect_in(book, language, product)
            for move, lines in book.moves(language).items():
                for line in lines:
                    if move not in ("name", "phone"):  # a bare name or number is no sentence
                        text = line.format(**prospect.facts(book, rng))
                        if folded(text) in examples:
                            copied.add(text)
    assert not copied


def prospect_in(book: demo.Phrasebook, language: str, product: str) -> demo.Prospect:
    rng = random.Random(2)
    other = next(p for p in PRODUCTS if p != product)
    return demo.Prospect(
        number=0, language=language, channel="web", source=None, journey="book",
        product=product, other=other, branch="haifa", name=book.name(rng, language),
        phone=book.phone(rng, language), first_visit=datetime.now(UTC), nps=9, buys=False,
        rating=5,
    )  # fmt: skip


def test_phone_numbers_are_valid_and_typed_as_people_type_them(book: demo.Phrasebook) -> None:
    rng = random.Random(3)
    for language in book.languages():
        for _ in range(20):
            number = book.phone(rng, language)
            assert e164(number, language) is not None, (language, number)
            assert bool(re.search("[۰-۹]", number)) == (language == "fa"), number


def test_a_small_plan_has_every_journey_channel_and_language(book: demo.Phrasebook) -> None:
    end = datetime(2026, 11, 30, 12, tzinfo=UTC)
    prospects = demo.plan(8, random.Random(5), book, PRODUCTS, BRANCHES, end, 28)
    assert {p.journey for p in prospects} == set(demo.JOURNEYS)
    assert {p.channel for p in prospects} == {"web", "telegram"}
    assert {p.language for p in prospects} == set(demo.LANGUAGES)
    times = [p.first_visit for p in prospects]
    assert times == sorted(times) and end - timedelta(days=28) <= times[0] and times[-1] <= end
    assert all(8 <= t.astimezone(demo.ISRAEL).hour <= 22 for t in times)
    again = demo.plan(8, random.Random(5), book, PRODUCTS, BRANCHES, end, 28)
    assert [(p.journey, p.name, p.phone) for p in again] == [
        (p.journey, p.name, p.phone) for p in prospects
    ]


def test_the_clock_runs_fast_from_the_past_and_never_goes_back() -> None:
    start = datetime(2026, 11, 1, 10, tzinfo=UTC)
    clock = demo.TravelClock(start, speed=3600)
    first = clock.now()
    assert start <= first < start + timedelta(hours=1)
    clock.jump(start + timedelta(days=2))
    assert clock.now() >= start + timedelta(days=2)
    later = clock.now()
    clock.jump(start)  # back: ignored
    assert clock.now() >= later


def test_a_return_visit_in_the_night_moves_to_the_morning() -> None:
    rng = random.Random(4)
    night = datetime(2026, 11, 10, 2, 30, tzinfo=demo.ISRAEL)
    moved = demo.awake(night, rng).astimezone(demo.ISRAEL)
    assert (moved.date(), 8 <= moved.hour <= 11) == (night.date(), True)
    late = datetime(2026, 11, 10, 23, 30, tzinfo=demo.ISRAEL)
    assert demo.awake(late, rng).astimezone(demo.ISRAEL).date() == late.date() + timedelta(days=1)
    noon = datetime(2026, 11, 10, 12, tzinfo=demo.ISRAEL)
    assert demo.awake(noon, rng) == noon


def test_options_come_from_the_environment_but_never_the_password_from_argv() -> None:
    environ = {"DEMO_PROSPECTS": "40", "DEMO_FORCE": "1", "DEMO_PASSWORD": "s3cret-enough"}
    options = demo.options_from([], environ)
    assert (options.prospects, options.force, options.password) == (40, True, "s3cret-enough")
    assert demo.options_from(["--prospects", "7"], {}).prospects == 7
    assert demo.options_from([], {"DEMO_FORCE": "0"}).force is False


async def test_a_database_with_leads_is_refused(tmp_path: Path) -> None:
    """Refused before the app (and Rasa) starts: nothing is added to it."""
    settings = make_settings(tmp_path)
    engine = create_engine(settings.database_url)
    await migrate(engine)
    async with session_factory(engine)() as session:
        session.add(Lead())
        await session.commit()
    with pytest.raises(demo.DemoError, match="already has 1 leads"):
        await demo.run(settings, demo.Options(prospects=3))
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count(Lead.id))) == 1
    await engine.dispose()


async def test_a_short_password_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(demo.DemoError, match="at least 10 characters"):
        await demo.run(make_settings(tmp_path), demo.Options(prospects=3, password="short"))


@pytest.mark.integration
async def test_a_small_demo_fills_a_fresh_database_through_the_real_chat(tmp_path: Path) -> None:
    """10 prospects against the real app and its own Rasa server (about a minute)."""
    settings = make_settings(tmp_path)
    password = "demo-password-for-the-test"
    options = demo.Options(prospects=10, concurrency=5, password=password)
    outcome = await demo.run(settings, options)

    assert outcome.tally.turns > 30 and outcome.tally.failed == 0, outcome.tally
    engine = create_engine(settings.database_url)
    async with engine.connect() as connection:

        async def values(column: Any) -> set[Any]:
            return set(await connection.scalars(select(column).distinct()))

        async def count(query: Any) -> int:
            return int(await connection.scalar(query) or 0)

        assert await count(select(func.count(Lead.id))) == 10
        assert len(await values(Lead.stage)) >= 4, await values(Lead.stage)
        assert await values(Conversation.channel) == {"web", "telegram"}
        assert len(await values(Lead.language)) == 5
        assert len(await values(Lead.source) - {None}) >= 3
        assert await count(select(func.count(Handoff.id))) >= 1
        confirmed = select(func.count(Booking.id)).where(Booking.status == "confirmed")
        assert await count(confirmed) >= 1
    async with session_factory(engine)() as session:
        admin = await session.scalar(select(StaffUser).where(StaffUser.name == "demo"))
        assert admin is not None and admin.role == "admin"
        assert await users.authenticate(session, "demo", password) is not None
    await engine.dispose()
    assert outcome.summary.leads == 10 and outcome.password is None  # it was given


async def test_the_demos_reps_take_and_hand_back_each_handoff_at_its_own_time(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    """Not at the next session of chats: the funnel's speed to lead is the reps'."""
    start = datetime.now(UTC) - timedelta(days=3)
    clock = demo.TravelClock(start, speed=1.0)
    ran: list[datetime] = []  # when the app's own work ran, once before each step

    async def meanwhile() -> None:
        ran.append(clock.now())

    async for running in serve_with(fake_rasa, on_fake(fake_rasa, tmp_path), clock):
        said = await running.chat("demo-visitor-desk-01", "can I talk to a human?")
        ops = demo.OpsClient(running.http, running.url, OPS_TOKEN)
        desk = demo.Desk(ops, demo.Phrasebook.load(), clock, random.Random(1), demo.Tally())
        async with running.app[SESSIONS]() as session:
            [handoff] = await session.scalars(
                select(Handoff).where(Handoff.conversation_id == said["conversation_id"])
            )
        desk.plans[handoff.id] = demo.HandoffPlan(
            timedelta(minutes=20), answers=True, release_after=timedelta(minutes=50)
        )
        await desk.work(start + timedelta(hours=6), meanwhile)
        async with running.app[SESSIONS]() as session:
            done = await session.get(Handoff, handoff.id)
            assert done is not None and done.claimed_at and done.closed_at
            taken, closed = done.claimed_at - done.created_at, done.closed_at - done.created_at
    assert timedelta(minutes=20) <= taken < timedelta(minutes=21)
    assert timedelta(minutes=50) <= closed < timedelta(minutes=51)
    assert len(ran) == 2 and clock.now() < start + timedelta(hours=1)  # not the 6 hours
    assert desk.tally.claims == 1 and desk.tally.rep_messages == 2 and desk.tally.releases == 1
