"""Nothing lost, nothing doubled: the conversation service against the fake Rasa server.

Each test breaks the path the way it breaks for real (a channel delivering a
message again, a process that died mid-turn, the database restarting while
Rasa thinks) and counts what was sent, stored and asked.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content.profile import Profile
from bot.conversation.language import LanguageChooser
from bot.conversation.messages import InboundMessage
from bot.conversation.service import ConversationService
from bot.crm import leads, touchpoints
from bot.dialogue.rasa_client import RasaClient
from bot.storage.engine import create_engine, migrate, session_factory
from bot.storage.models import Touchpoint, utcnow
from tests.conftest import PostgresServer, conversation_service
from tests.fakes.rasa import Call, FakeRasa


@pytest.fixture
async def rasa_client(fake_rasa: FakeRasa) -> AsyncIterator[RasaClient]:
    client = RasaClient(fake_rasa.url, fake_rasa.token, timeout_seconds=5)
    yield client
    await client.close()


@pytest.fixture
def service(
    sessions: async_sessionmaker[AsyncSession],
    rasa_client: RasaClient,
    dealer: Profile,
    languages: LanguageChooser,
) -> ConversationService:
    return conversation_service(sessions, rasa_client, dealer, languages)


async def count(sessions: async_sessionmaker[AsyncSession], direction: str) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Touchpoint)
        return int(await session.scalar(query.where(Touchpoint.direction == direction)) or 0)


def message(text: str, key: str | None = "tg:1001") -> InboundMessage:
    return InboundMessage("telegram", "501", text, idempotency_key=key)


async def test_an_answer_from_rasa_moves_the_stage_and_ends_with_the_next_step(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    result = await service.handle(message("how much is it?"))

    assert result.stage == "consideration"
    [reply] = result.replies
    assert "₪139,900" in reply.text and reply.key == "ask_price"  # awareness: from-price
    assert reply.buttons[-1].payload == "/compare_products"
    assert fake_rasa.calls[0].metadata == {
        "language": "en", "lead_id": result.lead_id, "stage": "awareness", "channel": "telegram"
    }  # fmt: skip
    async with sessions() as session:
        rows = list(await session.scalars(select(Touchpoint).order_by(Touchpoint.id)))
    inbound = rows[0]
    assert (inbound.intent, inbound.status, inbound.idempotency_key) == (
        "ask_price", "done", "tg:1001"
    )  # fmt: skip
    assert [r.kind for r in rows[1:]] == ["stage_change", "message"]
    assert (rows[2].status, rows[2].reply_to_id) == ("queued", inbound.id)


async def test_a_message_delivered_twice_is_stored_once_and_asked_once(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    first = await service.handle(message("how much is it?"))
    again = await service.handle(message("how much is it?"))

    assert len(fake_rasa.calls) == 1
    assert await count(sessions, "in") == 1
    assert again.replayed and not first.replayed
    assert again.outbound_ids == first.outbound_ids
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert again.undelivered() == list(zip(first.outbound_ids, first.replies, strict=True))
    await service.delivered(first.outbound_ids)
    assert (await service.handle(message("how much is it?"))).undelivered() == []


async def test_a_redelivery_while_the_first_is_still_answered_waits_for_it(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    fake_rasa.delay = 0.3
    first, again = await asyncio.gather(
        service.handle(message("how much is it?")), service.handle(message("how much is it?"))
    )
    assert len(fake_rasa.calls) == 1
    assert await count(sessions, "in") == 1
    assert again.outbound_ids == first.outbound_ids


async def test_a_message_whose_turn_never_finished_is_answered_when_it_comes_again(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    """The process died after storing the message: the channel's redelivery answers it."""
    async with sessions() as session:
        conversation = await leads.conversation_for(session, "telegram", "501", utcnow())
        await session.flush()
        touchpoints.record(
            session, conversation, direction="in", author="prospect", text="how much is it?",
            language="en", stage="awareness", status="received", idempotency_key="tg:1001",
            at=utcnow(),
        )  # fmt: skip
        await session.commit()

    result = await service.handle(message("how much is it?"))

    assert not result.replayed and result.replies[0].key == "ask_price"
    assert len(fake_rasa.calls) == 1
    assert await count(sessions, "in") == 1


@pytest.mark.parametrize("text", ["5", "hello", "how much is it?"])
async def test_no_database_connection_is_held_while_rasa_is_asked(
    service: ConversationService, engine: AsyncEngine, fake_rasa: FakeRasa, text: str
) -> None:
    """Rasa's actions write to the same database: a transaction held open across the call
    would hold SQLite's write lock while our own action webhook waits for it."""
    held: list[int] = []

    async def look(_call: Call) -> None:
        held.append(engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]

    fake_rasa.during_turn = look
    await service.handle(message(text, key=None))
    assert held == [0]


async def test_messages_without_a_key_are_each_stored(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    await service.handle(message("how much is it?", key=None))
    await service.handle(message("how much is it?", key=None))
    assert len(fake_rasa.calls) == 2 and await count(sessions, "in") == 2


async def test_a_failed_rasa_answer_is_kept_and_not_asked_again_on_redelivery(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession], fake_rasa: FakeRasa
) -> None:
    fake_rasa.fail_next = 1
    first = await service.handle(message("how much is it?"))
    again = await service.handle(message("how much is it?"))
    assert "a person from our team will follow up" in first.replies[0].text
    assert again.replayed and again.outbound_ids == first.outbound_ids
    assert len(fake_rasa.calls) == 1


@pytest.mark.postgres
async def test_a_turn_retried_across_a_database_restart_stores_once_and_asks_rasa_once(
    fake_rasa: FakeRasa, rasa_client: RasaClient, dealer: Profile, languages: LanguageChooser
) -> None:
    """PostgreSQL stops while the turn is inside Rasa and comes back a few seconds later:
    the turn waits, then stores its replies; the message is stored once, Rasa asked once."""
    server = PostgresServer()  # its own server: this test stops it
    engine = create_engine(f"{server.url}/postgres")
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        service = conversation_service(sessions, rasa_client, dealer, languages)
        service.patience = 60

        async def restart(_call: Call) -> None:
            await asyncio.to_thread(server.stop)
            asyncio.get_running_loop().call_later(3, server.start)

        fake_rasa.during_turn = restart
        result = await asyncio.wait_for(service.handle(message("how much is it?")), 90)

        assert result.replies[0].key == "ask_price"
        assert len(fake_rasa.calls) == 1
        assert await count(sessions, "in") == 1
        assert await count(sessions, "out") == 1
    finally:
        await engine.dispose()
        server.remove()


async def test_an_everyday_turn_is_two_transactions_of_a_few_statements(
    service: ConversationService, engine: AsyncEngine
) -> None:
    """The cost of a turn in round trips to the database, counted, not timed: one
    transaction before Rasa, one after, each row read once and written once."""
    await service.handle(message("hello", key="tg:1"))
    statements: list[str] = []
    transactions: list[object] = []

    def executed(connection: object, cursor: object, sql: str, *_: object) -> None:
        if not sql.startswith("BEGIN"):
            statements.append(" ".join(sql.split())[:70])

    def began(connection: object) -> None:
        transactions.append(connection)

    event.listen(engine.sync_engine, "before_cursor_execute", executed)
    event.listen(engine.sync_engine, "begin", began)
    try:
        await service.handle(message("how much is it?", key="tg:2"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", executed)
        event.remove(engine.sync_engine, "begin", began)
    assert len(transactions) == 2
    assert len(statements) <= 10, statements
