"""The conversation service on a real database, with Rasa down (nothing on its port)."""

from limits.aio.storage import MemoryStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.profile import Profile
from bot.conversation.language import LanguageChooser
from bot.conversation.messages import InboundMessage, clean_text
from bot.conversation.service import ConversationService
from bot.conversation.throttle import Throttle
from bot.conversation.turn import Turn
from bot.crm import leads
from bot.dialogue.rasa_client import RasaClient
from bot.storage.models import Conversation, Lead, Touchpoint
from tests.conftest import conversation_service


async def stored(sessions: async_sessionmaker[AsyncSession], lead_id: int) -> list[Touchpoint]:
    async with sessions() as session:
        query = select(Touchpoint).where(Touchpoint.lead_id == lead_id).order_by(Touchpoint.id)
        return list(await session.scalars(query))


async def test_rasa_down_gets_a_polite_reply_and_the_message_is_kept(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await service.handle(InboundMessage("api", "p1", "I want a test drive"))

    assert len(result.replies) == 1
    assert "a person from our team will follow up" in result.replies[0].text
    inbound, outbound = await stored(sessions, result.lead_id)
    assert (inbound.direction, inbound.text, inbound.status) == (
        "in",
        "I want a test drive",
        "failed",
    )
    assert "Rasa did not answer" in inbound.data["error"]
    assert (outbound.direction, outbound.author, outbound.text) == (
        "out",
        "bot",
        result.replies[0].text,
    )


async def test_the_same_sender_is_one_lead_and_channels_are_separate(
    service: ConversationService,
) -> None:
    first = await service.handle(InboundMessage("api", "p2", "hello"))
    again = await service.handle(InboundMessage("api", "p2", "hello?"))
    elsewhere = await service.handle(InboundMessage("web", "p2", "hello"))

    assert (again.lead_id, again.conversation_id) == (first.lead_id, first.conversation_id)
    assert elsewhere.lead_id != first.lead_id


async def test_too_long_message_is_stored_whole_and_answered_with_the_limit(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = "x" * 51  # the fixture's limit is 50 characters
    result = await service.handle(InboundMessage("api", "p3", text))

    assert "51 characters; the limit is 50" in result.replies[0].text
    inbound = (await stored(sessions, result.lead_id))[0]
    assert (inbound.text, inbound.status) == (text, "rejected")


async def test_empty_and_control_only_messages_get_asked_for_text(
    service: ConversationService,
) -> None:
    result = await service.handle(InboundMessage("api", "p4", "\x00\x1b  \x07"))
    assert result.replies[0].text == "I didn't receive any text. What would you like to ask?"


async def test_language_hint_picks_the_reply_language_and_is_remembered(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hinted = await service.handle(InboundMessage("api", "p5", "", language_hint="he-IL"))
    later = await service.handle(InboundMessage("api", "p5", ""))

    assert hinted.language == later.language == "he"
    assert hinted.replies[0].text.startswith("לא קיבלתי טקסט.")
    assert [t.language for t in await stored(sessions, hinted.lead_id)] == ["he"] * 4


async def test_a_conversation_owned_by_a_human_is_not_answered_by_the_bot(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await service.handle(InboundMessage("api", "p6", "hi"))
    async with sessions() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        conversation.owner = "human"
        await session.commit()

    result = await service.handle(InboundMessage("api", "p6", "can I talk to Dana?"))

    assert result.replies == []
    last = (await stored(sessions, first.lead_id))[-1]
    assert (last.text, last.status) == ("can I talk to Dana?", "for_rep")


def test_clean_text_drops_controls_but_keeps_text_joiners_and_line_breaks() -> None:
    persian = "می\u200cخواهم"  # zero-width non-joiner is part of the word
    assert clean_text(f"\x00 {persian}\nok\x1b[31m ") == f"{persian}\nok[31m"
    assert clean_text("<script>alert(1)</script>") == "<script>alert(1)</script>"


async def test_a_source_from_the_channel_is_stored_once(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await service.handle(InboundMessage("web", "p7", "", metadata={"source": "Instagram"}))
    await service.handle(InboundMessage("web", "p7", "", metadata={"source": "google"}))

    async with sessions() as session:
        lead = await leads.get_lead(session, first.lead_id)
        assert lead is not None and lead.source == "instagram"
    events = [t for t in await stored(sessions, first.lead_id) if t.kind == "source"]
    assert [e.data for e in events] == [{"source": "instagram", "how": "web"}]


async def test_the_answer_to_how_did_you_hear_is_taken_without_rasa(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await service.handle(InboundMessage("api", "p8", "source:friend", language_hint="ro"))

    assert result.replies[0].text == "Mulțumim că ne-ai spus!"
    assert result.replies[0].buttons[-1].payload == "/ask_product_info"  # the next best step
    async with sessions() as session:
        lead = await leads.get_lead(session, result.lead_id)
        assert lead is not None and lead.source == "friend"


async def test_a_bug_after_the_message_is_stored_still_gets_a_polite_reply(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def broken(turn: Turn) -> bool:
        raise ValueError("a bug in a problem check")

    service.steps.insert(0, broken)
    result = await service.handle(InboundMessage("api", "p9", "do you have the RAV4 in red?"))

    assert "a person from our team will follow up" in result.replies[0].text
    inbound, outbound = await stored(sessions, result.lead_id)
    assert (inbound.text, inbound.status) == ("do you have the RAV4 in red?", "failed")
    assert "a bug in a problem check" in inbound.data["error"]
    assert outbound.text == result.replies[0].text


async def test_a_sticker_is_stored_and_answered_with_what_the_bot_can_read(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    result = await service.handle(
        InboundMessage("telegram", "42", "", language_hint="he", content="sticker")
    )

    assert result.replies[0].text.startswith("כרגע אני קורא רק הודעות טקסט")
    inbound, _reply = await stored(sessions, result.lead_id)
    assert (inbound.kind, inbound.status, inbound.direction) == ("sticker", "rejected", "in")


async def test_a_held_message_is_stored_and_only_the_first_gets_the_notice(
    sessions: async_sessionmaker[AsyncSession],
    dead_rasa: RasaClient,
    dealer: Profile,
    languages: LanguageChooser,
) -> None:
    budget = Throttle("telegram", 1, 60, MemoryStorage())
    service = conversation_service(sessions, dead_rasa, dealer, languages, telegram=budget)
    await service.handle(InboundMessage("telegram", "43", "hello"))  # within the budget
    first = await service.handle(InboundMessage("telegram", "43", "spam 1"))
    second = await service.handle(InboundMessage("telegram", "43", "spam 2"))
    web = await service.handle(InboundMessage("web", "43", "hello"))  # another channel

    assert "a person from our team" in web.replies[0].text  # Rasa is down: not throttled
    assert [r.text for r in first.replies] == [
        "You're sending messages faster than I can answer. I've saved them all; "
        "give me a minute and I'll be with you again."
    ]
    assert second.replies == []
    kept = [
        (t.text, t.status) for t in await stored(sessions, first.lead_id) if t.direction == "in"
    ]
    assert kept == [("hello", "failed"), ("spam 1", "throttled"), ("spam 2", "throttled")]


async def test_a_shared_phone_is_saved_on_the_lead_before_anything_else(
    service: ConversationService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    message = InboundMessage(
        "telegram", "44", "972525551234", metadata={"shared_phone": "972525551234"}
    )
    result = await service.handle(message)  # Rasa is down here: the phone is kept anyway

    async with sessions() as session:
        lead = await session.get(Lead, result.lead_id)
        assert lead is not None and lead.phone == "+972525551234"
    events = [t.data for t in await stored(sessions, result.lead_id) if t.kind == "contact"]
    assert events == [{"phone": "+972525551234", "how": "shared"}]
