"""When a person is brought in: each trigger of bot/handoff/triggers.py on the real app
and the fake Rasa server, through the chat API. The clock is Monday 08:00 in Israel,
before the showrooms open, so every promise says when the team is back."""

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.settings import PROJECT_DIR
from bot.storage.models import Handoff
from handlers.context import CATALOG, SESSIONS
from tests.conftest import RunningBot, monday_morning, on_fake, serve_with
from tests.fakes.rasa import FakeRasa


async def reasons(bot: RunningBot) -> list[str]:
    async with bot.app[SESSIONS]() as session:
        return list(await session.scalars(select(Handoff.reason).order_by(Handoff.id)))


def texts(answer: dict[str, Any]) -> list[str]:
    return [reply["text"] for reply in answer["replies"]]


def promised(bot: RunningBot, answer: dict[str, Any]) -> bool:
    later = bot.app[CATALOG].render("handoff.coming_later", "en", opens="{opens}")
    return texts(answer)[-1].startswith(later.split("{opens}")[0])


async def test_a_complaint_brings_in_a_person_after_the_bots_own_answer(
    fast_bot: RunningBot,
) -> None:
    answer = await fast_bot.chat("visitor-complaint-01", "this service is terrible")
    assert len(answer["replies"]) == 2 and promised(fast_bot, answer)
    assert texts(answer)[0] == fast_bot.app[CATALOG].render("complaint", "en")
    assert await reasons(fast_bot) == ["complaint"]


async def test_two_misunderstandings_in_a_row_bring_in_a_person_once(
    fast_bot: RunningBot,
) -> None:
    first = await fast_bot.chat("visitor-fallback-01", "blorp zzz")
    assert not promised(fast_bot, first) and await reasons(fast_bot) == []
    second = await fast_bot.chat("visitor-fallback-01", "qwerty uiop")
    assert promised(fast_bot, second)
    third = await fast_bot.chat("visitor-fallback-01", "asdf ghjk")
    assert not promised(fast_bot, third)  # one handoff is open: no second one
    assert await reasons(fast_bot) == ["fallbacks"]


async def test_misunderstandings_with_an_answer_between_are_not_in_a_row(
    fast_bot: RunningBot,
) -> None:
    for text in ("blorp zzz", "how much is it?", "qwerty uiop"):
        await fast_bot.chat("visitor-fallback-02", text)
    assert await reasons(fast_bot) == []


async def test_a_hot_lead_deciding_is_offered_a_person_once(fast_bot: RunningBot) -> None:
    sender = "visitor-hot-lead-01"
    for text in ("/ask_price", "/ask_financing", '/inform{"phone": "052-555-1234"}'):
        answer = await fast_bot.chat(sender, text)  # 5 + 10 + 15 points, considering
        assert "/request_human" not in payloads(answer)
    deciding = await fast_bot.chat(sender, "/ask_availability")  # +10: 40, deciding
    assert deciding["stage"] == "decision"
    assert payloads(deciding)[-1] == "/request_human"
    again = await fast_bot.chat(sender, "/ask_promotions")
    assert "/request_human" not in payloads(again)  # offered once

    accepted = await fast_bot.chat(sender, "/request_human")
    assert promised(fast_bot, accepted) and await reasons(fast_bot) == ["request_human"]
    lead = await fast_bot.lead(deciding["lead_id"])
    assert [t["kind"] for t in lead["touchpoints"]].count("handoff_offer") == 1


def payloads(answer: dict[str, Any]) -> list[str]:
    return [b["payload"] for reply in answer["replies"] for b in reply["buttons"]]


async def test_the_business_profile_turns_triggers_off(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    yaml = (PROJECT_DIR / "profiles" / "car_dealer.yml").read_text(encoding="utf-8")
    tuned = yaml.replace("complaint: true", "complaint: false").replace(
        "fallbacks_in_a_row: 2", "fallbacks_in_a_row: 0"
    )
    assert tuned != yaml
    profile = tmp_path / "dealer.yml"
    profile.write_text(tuned, encoding="utf-8")
    settings = on_fake(fake_rasa, tmp_path, business_profile=str(profile))
    async for bot in serve_with(fake_rasa, settings, ManualClock(monday_morning())):
        for text in ("this is terrible", "blorp zzz", "qwerty uiop", "asdf ghjk"):
            answer = await bot.chat("visitor-tuned-0001", text)
            assert not promised(bot, answer)
        assert await reasons(bot) == []
        await bot.chat("visitor-tuned-0001", "can I talk to a person?")  # still on
        assert await reasons(bot) == ["request_human"]
