"""The console's conversations: filters, search, and the transcript with every message
as text (right to left where it is Hebrew or Arabic). The real app on the fake Rasa."""

import re
from datetime import timedelta

from bot.clock import ManualClock
from handlers.context import CLOCK
from tests.conftest import RunningBot, Staff

ROW = re.compile(r'<a href="/console/conversations/(\d+)">')


async def listed(browser: Staff, query: str = "") -> list[int]:
    status, page = await browser.get(f"/console/conversations{query}")
    assert status == 200, page
    return [int(n) for n in ROW.findall(page)]


async def test_conversations_are_filtered_and_searched(rita: Staff, fast_bot: RunningBot) -> None:
    hebrew = await fast_bot.chat("visitor-hebrew-000001", "שלום, כמה עולה הקורולה?", "he")
    english = await fast_bot.chat("visitor-english-00001", "how much is it? 100% sure")
    person = await fast_bot.chat("visitor-person-000001", "can I talk to a human?")
    ids = {k: v["conversation_id"] for k, v in
           (("he", hebrew), ("en", english), ("person", person))}  # fmt: skip

    assert sorted(await listed(rita)) == sorted(ids.values())
    assert await listed(rita, "?language=he") == [ids["he"]]
    assert await listed(rita, "?q=%D7%A7%D7%95%D7%A8%D7%95%D7%9C%D7%94") == [ids["he"]]  # קורולה
    assert await listed(rita, "?q=HOW+MUCH") == [ids["en"]]  # any case
    assert await listed(rita, "?q=100%25") == [ids["en"]]  # "%" is a character, not a wildcard
    assert await listed(rita, "?q=_") == []
    assert await listed(rita, "?outcome=handed_off") == [ids["person"]]
    assert sorted(await listed(rita, "?outcome=open")) == sorted([ids["he"], ids["en"]])
    assert await listed(rita, "?channel=telegram") == []
    assert await listed(rita, "?channel=api&stage=consideration") == [ids["en"]]
    today = fast_bot.app[CLOCK].now().date()
    assert len(await listed(rita, f"?since={today}&until={today}")) == 3
    assert await listed(rita, f"?since={today + timedelta(days=1)}") == []
    assert len(await listed(rita, "?since=not-a-date&outcome=nonsense")) == 3  # ignored

    clock = fast_bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=2))
    assert sorted(await listed(rita, "?outcome=abandoned")) == sorted([ids["he"], ids["en"]])


async def test_a_transcript_shows_every_message_as_text_in_its_direction(
    rita: Staff, fast_bot: RunningBot
) -> None:
    await fast_bot.chat("visitor-mixed-0000001", "שלום", "he")
    await fast_bot.chat("visitor-mixed-0000001", "مرحبا، كم السعر؟", "ar")
    await fast_bot.chat("visitor-mixed-0000001", "how much is it?", "en")
    sent = await fast_bot.chat(
        "visitor-mixed-0000001", "<script>alert(1)</script><img src=x onerror=alert(2)>"
    )
    status, page = await rita.get(f"/console/conversations/{sent['conversation_id']}")
    assert status == 200
    assert '<td class="message" dir="auto">שלום</td>' in page
    assert '<td class="message" dir="auto">مرحبا، كم السعر؟</td>' in page
    # the bot's Arabic answer is right to left whatever its first letters (a name, "₪")
    answers = re.findall(r'<td class="message" dir="(\w+)">[^<]*</td>\s*<td>(\w+)</td>', page)
    assert ("rtl", "ar") in answers and ("rtl", "en") not in answers
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "greet (1.00)" in page  # how the bot understood it
    assert "stage_change: awareness → consideration" in page
    assert (await rita.get("/console/conversations/999999"))[0] == 404
