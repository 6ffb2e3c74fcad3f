"""The web chat widget in Debian's chromium, driven by Playwright, against the real bot."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage.models import Booking, Conversation
from handlers.context import CLOCK, FOLLOWUPS, SESSIONS
from tests.conftest import RunningBot

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(params=["en-US"])
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser tab whose language is the parameter (the widget sends it as a hint)."""
    context = await browser.new_context(locale=request.param)
    page = await context.new_page()
    yield page
    await context.close()


async def send(page: Page, text: str) -> None:
    await page.fill("#jb-input", text)
    await page.click("#jb-send")


async def test_a_visitor_chats_in_the_widget(bot: RunningBot, page: Page, tmp_path: Path) -> None:
    await page.goto(f"{bot.url}/")
    await send(page, "hi")
    await expect(page.locator(".jb-bot").first).to_contain_text("virtual assistant", timeout=20000)
    bubble = page.locator(".jb-bot").first
    assert await bubble.get_attribute("dir") == "auto"
    await page.screenshot(path=str(tmp_path / "widget.png"))  # for a look when it fails


async def test_html_typed_by_a_visitor_is_shown_as_text(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    payload = "<img src=x onerror=\"document.title='pwned'\">"
    await send(page, payload)
    await expect(page.locator(".jb-me").first).to_have_text(payload)
    await expect(page.locator(".jb-bot").first).to_be_visible(timeout=20000)
    assert await page.locator("#jb-log img").count() == 0
    assert await page.title() != "pwned"


async def test_the_visitor_is_the_same_lead_after_a_reload(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    visitor = await page.evaluate("localStorage.getItem('journeybot.visitor')")
    await send(page, "hello")
    await expect(page.locator(".jb-bot").first).to_be_visible(timeout=20000)
    await page.reload()
    assert await page.evaluate("localStorage.getItem('journeybot.visitor')") == visitor
    await send(page, "bye")
    await expect(page.locator(".jb-bot").first).to_contain_text("Thanks", timeout=20000)

    async with bot.app[SESSIONS]() as session:
        conversation = await session.scalar(
            select(Conversation).where(
                Conversation.channel == "web", Conversation.external_id == visitor
            )
        )
        assert conversation is not None
    lead = await bot.lead(conversation.lead_id)
    assert [t["text"] for t in lead["touchpoints"] if t["direction"] == "in"] == ["hello", "bye"]


@pytest.mark.parametrize("page", ["he-IL"], indirect=True)
async def test_a_hebrew_visitor_reads_right_to_left(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    await send(page, "שלום, כמה עולה RAV4?")
    reply = page.locator(".jb-bot").first
    await expect(reply).to_be_visible(timeout=20000)
    text = await reply.text_content()
    assert text and any("\u0590" <= ch <= "\u05ff" for ch in text)  # answered in Hebrew
    direction = await reply.evaluate("node => getComputedStyle(node).direction")
    assert direction == "rtl"
    buttons = page.locator(".jb-buttons button")
    assert await buttons.count() >= 1  # the next best step


async def test_booking_in_the_widget_with_buttons_and_a_reminder_pushed_live(
    bot: RunningBot, page: Page
) -> None:
    await page.goto(f"{bot.url}/")
    await send(page, "my name is Avi, 052-555-4321")
    await expect(page.locator(".jb-bot").first).to_be_visible(timeout=20000)
    await send(page, "I want to test drive the Octavia in Tel Aviv")
    times = page.locator(".jb-buttons").last.locator("button")
    await expect(times).to_have_count(4, timeout=20000)
    await times.nth(3).click()  # a few hours ahead at least: there is time for a reminder
    link = page.locator("a.jb-attachment")
    await expect(link).to_be_visible(timeout=20000)
    href = await link.get_attribute("href")
    assert href and href.startswith(f"{bot.url}/bookings/") and href.endswith(".ics")
    invite = await page.request.get(href)
    assert invite.ok and "BEGIN:VEVENT" in await invite.text()

    # Before the drive, the reminder reaches the open widget without a reload.
    clock = bot.app[CLOCK]
    assert isinstance(clock, ManualClock)
    visitor = await page.evaluate("localStorage.getItem('journeybot.visitor')")
    async with bot.app[SESSIONS]() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.external_id == visitor)
        )
        assert conversation is not None
        made = await session.scalar(select(Booking).where(Booking.lead_id == conversation.lead_id))
        assert made is not None
    before = clock.now()
    try:
        clock.set(made.starts_at - timedelta(hours=1, minutes=59))
        await bot.app[FOLLOWUPS].run_due()
    finally:
        clock.set(before)
    await expect(page.locator(".jb-bot").last).to_contain_text("A reminder", timeout=10000)


async def test_a_reps_words_appear_live_under_their_name_as_text(
    bot: RunningBot, page: Page
) -> None:
    await page.goto(f"{bot.url}/")
    await send(page, "can i get a representative")
    await expect(page.locator(".jb-bot").last).to_contain_text("colleague", timeout=20000)
    visitor = await page.evaluate("localStorage.getItem('journeybot.visitor')")
    async with bot.app[SESSIONS]() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.external_id == visitor)
        )
    assert conversation is not None
    status, listing = await bot.ops("GET", "/handoffs?status=waiting")
    [handoff] = [h for h in listing["handoffs"] if h["conversation_id"] == conversation.id]

    await bot.ops("POST", f"/handoffs/{handoff['id']}/claim", json={"rep": "<b>Dana</b>"})
    words = "Hi, Dana here <script>document.title='pwned'</script>"
    status, said = await bot.ops(
        "POST", f"/handoffs/{handoff['id']}/messages", json={"rep": "<b>Dana</b>", "text": words}
    )
    assert status == 200 and said["delivery"] == "sent"  # to the open widget
    await expect(page.locator(".jb-rep").last).to_have_text(words)
    await expect(page.locator(".jb-author").last).to_have_text("<b>Dana</b>")
    assert await page.locator("#jb-log b, #jb-log script").count() == 0
    assert await page.title() != "pwned"
    await bot.ops("POST", f"/handoffs/{handoff['id']}/release", json={"rep": "<b>Dana</b>"})
