"""The web chat widget in Debian's chromium, driven by Playwright, against the real bot."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    WebSocketRoute,
    expect,
)
from sqlalchemy import select

from bot.clock import ManualClock
from bot.storage.models import Booking, Conversation
from handlers.context import CATALOG, CLOCK, FOLLOWUPS, SESSIONS
from tests.conftest import RunningBot

pytestmark = [pytest.mark.integration, pytest.mark.browser]


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


async def ask(page: Page, text: str) -> Locator:
    """Send ``text`` and wait for the first bubble of the answer (the bot's or a rep's)."""
    await expect(page.locator("#jb-log")).to_have_attribute("aria-busy", "false")  # it has
    answers = page.locator(".jb-bot, .jb-rep")  # shown the history, or greeted a newcomer
    before = await answers.count()
    await send(page, text)
    await expect(answers).not_to_have_count(before, timeout=20000)
    return answers.nth(before)


async def test_a_visitor_chats_in_the_widget(bot: RunningBot, page: Page, tmp_path: Path) -> None:
    await page.goto(f"{bot.url}/")
    bubble = await ask(page, "hi")
    await expect(bubble).to_contain_text("virtual assistant")
    assert await bubble.get_attribute("dir") == "auto"
    await page.screenshot(path=str(tmp_path / "widget.png"))  # for a look when it fails


async def test_html_typed_by_a_visitor_is_shown_as_text(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    payload = "<img src=x onerror=\"document.title='pwned'\">"
    await ask(page, payload)
    await expect(page.locator(".jb-me").first).to_have_text(payload)
    assert await page.locator("#jb-log img").count() == 0
    assert await page.title() != "pwned"


async def test_the_visitor_is_the_same_lead_after_a_reload(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    visitor = await page.evaluate("localStorage.getItem('journeybot.visitor')")
    hello = await (await ask(page, "hello")).text_content()
    await page.reload()
    assert await page.evaluate("localStorage.getItem('journeybot.visitor')") == visitor
    # The conversation so far is on the screen again, the greeting not shown twice.
    await expect(page.locator(".jb-me")).to_have_text(["hello"])
    await expect(page.locator(".jb-bot").last).to_have_text(hello or "")
    await expect(page.locator(".jb-bot")).to_have_count(2)  # the greeting answered, the reply
    await expect(await ask(page, "bye")).to_contain_text("Thanks")

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
    reply = await ask(page, "שלום, כמה עולה RAV4?")
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
    await ask(page, "my name is Avi, 052-555-4321")
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
    await expect(await ask(page, "can i get a representative")).to_contain_text("colleague")
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
    await expect(page.locator("#jb-state")).to_have_text("<b>Dana</b> is with you")
    assert await page.locator("#jb-log b, #jb-log script").count() == 0
    assert await page.title() != "pwned"
    await bot.ops("POST", f"/handoffs/{handoff['id']}/release", json={"rep": "<b>Dana</b>"})
    rating = page.locator(".jb-buttons").last.locator("button")
    await expect(rating).to_have_text(["1", "2", "3", "4", "5"])  # how was the help?
    await expect(page.locator("#jb-state")).to_have_text("Virtual assistant")  # the bot again
    await rating.nth(4).click()
    await expect(page.locator(".jb-bot").last).to_have_text(
        bot.app[CATALOG].render("handoff.rated", "en")
    )


WIDGET_WORDS = {  # what a visitor with that browser language sees before saying anything
    "he-IL": ("he", "rtl"), "ar": ("ar", "rtl"), "en-US": ("en", "ltr"),
}  # fmt: skip


@pytest.mark.parametrize("page", sorted(WIDGET_WORDS), indirect=True)
async def test_the_widget_speaks_the_visitors_language_and_greets_them(
    bot: RunningBot, page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    language, direction = WIDGET_WORDS[request.node.callspec.params["page"]]
    catalog = bot.app[CATALOG]
    word = lambda key, **params: catalog.render(f"widget.{key}", language, **params)  # noqa: E731
    await page.goto(f"{bot.url}/")

    root = page.locator("#jb-root")
    await expect(root).to_have_attribute("dir", direction)
    await expect(page.locator("#jb-title")).to_have_text(word("title"))
    await expect(page.locator("#jb-state")).to_have_text(word("assistant"))
    await expect(page.locator("#jb-input")).to_have_attribute("placeholder", word("placeholder"))
    await expect(page.locator("#jb-send")).to_have_text(word("send"))
    await expect(page.locator("#jb-close")).to_have_attribute("aria-label", word("close"))
    greeting = page.locator(".jb-bot").first
    await expect(greeting).to_have_text(catalog.render("greet", language))
    panel_direction = await page.locator("#jb-panel").evaluate(
        "node => getComputedStyle(node).direction"
    )
    assert panel_direction == direction
    await page.screenshot(path=str(tmp_path / f"widget-{language}.png"))

    await page.click("#jb-close")  # closed and opened with the keyboard-reachable button
    await expect(page.locator("#jb-panel")).to_be_hidden()
    await expect(page.locator("#jb-toggle")).to_have_text(word("open"))
    await page.locator("#jb-toggle").press("Enter")
    await expect(page.locator("#jb-input")).to_be_focused()
    assert await conversation_of(bot, page) is None  # a greeting nobody answered is no lead


async def conversation_of(bot: RunningBot, page: Page) -> Conversation | None:
    visitor = await page.evaluate("localStorage.getItem('journeybot.visitor')")
    async with bot.app[SESSIONS]() as session:
        return await session.scalar(
            select(Conversation).where(
                Conversation.channel == "web", Conversation.external_id == visitor
            )
        )


async def test_a_message_typed_while_the_connection_is_down_is_sent_when_it_is_back(
    bot: RunningBot, page: Page
) -> None:
    """The socket goes down (Playwright's WebSocket routing stands between page and app);
    the header says so, the message waits in the widget and is answered once, after."""
    down = asyncio.Event()
    routes: list[WebSocketRoute] = []

    async def route(ws: WebSocketRoute) -> None:
        if down.is_set():
            await ws.close()
            return
        ws.connect_to_server()
        routes.append(ws)

    await page.route_web_socket(re.compile(r"/ws\?"), route)
    await page.goto(f"{bot.url}/")
    await ask(page, "hi")
    down.set()
    for ws in routes:
        await ws.close()
    await expect(page.locator("#jb-state")).to_have_text("Reconnecting…")

    await send(page, "where is your showroom?")
    await page.wait_for_timeout(1500)
    down.clear()  # back: the widget's next retry connects and sends what waits
    answer = page.locator(".jb-bot").nth(2)
    await expect(answer).to_be_visible(timeout=30000)
    await expect(page.locator("#jb-state")).to_have_text("Virtual assistant")
    conversation = await conversation_of(bot, page)
    assert conversation is not None
    lead = await bot.lead(conversation.lead_id)
    inbound = [t["text"] for t in lead["touchpoints"] if t["direction"] == "in"]
    assert inbound == ["hi", "where is your showroom?"]


async def test_the_widget_shows_that_the_bot_is_typing_until_the_answer_comes(
    bot: RunningBot, page: Page
) -> None:
    """The app's answer is held back on its way to the page, so the indicator is seen."""
    held: list[str | bytes] = []
    release = asyncio.Event()
    pages: list[WebSocketRoute] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if not release.is_set() and (held or '"type": "reply"' in str(message)):
                held.append(message)  # the answer and what follows it wait
            else:
                ws.send(message)

        server.on_message(to_page)
        pages.append(ws)

    await page.route_web_socket(re.compile(r"/ws\?"), route)
    await page.goto(f"{bot.url}/")
    await send(page, "how much is the corolla?")
    typing = page.locator(".jb-typing")
    await expect(typing).to_have_text("Typing…")
    for _ in range(200):  # the answer has come from the app, and waits
        if held:
            break
        await asyncio.sleep(0.05)
    await expect(typing).to_be_visible()
    release.set()
    for message in held:
        pages[-1].send(message)
    await expect(page.locator(".jb-bot").nth(1)).to_contain_text("Corolla")
    await expect(typing).to_have_count(0)


async def test_a_reply_that_went_into_a_dropped_socket_comes_once_after_reconnecting(
    bot: RunningBot, page: Page
) -> None:
    """The connection drops just as the answer is on its way (the answer never reaches
    the page); on the next connect the app sends it again, and it is shown once."""
    dropped: list[str] = []

    async def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        async def to_page(message: str | bytes) -> None:
            if not dropped and '"type": "reply"' in str(message) and "showroom" in ask_text:
                dropped.append(str(message))
                await ws.close()  # lost with the connection
                return
            ws.send(message)

        server.on_message(to_page)

    ask_text = ""
    await page.route_web_socket(re.compile(r"/ws\?"), route)
    await page.goto(f"{bot.url}/")
    await ask(page, "hi")
    ask_text = "where is your showroom?"
    answer = await ask(page, ask_text)
    assert dropped and json.loads(dropped[0])["text"] == await answer.text_content()
    await page.wait_for_timeout(1000)  # nothing comes twice
    await expect(page.locator(".jb-bot").filter(has_text=dropped_text(dropped))).to_have_count(1)
    conversation = await conversation_of(bot, page)
    assert conversation is not None
    lead = await bot.lead(conversation.lead_id)
    [reply] = [t for t in lead["touchpoints"] if t["text"] == json.loads(dropped[0])["text"]]
    assert reply["status"] == "delivered"  # acknowledged by the widget, after the reconnect


def dropped_text(dropped: list[str]) -> str:
    return str(json.loads(dropped[0])["text"])[:40]


async def test_the_widget_follows_a_language_switch_mid_chat(bot: RunningBot, page: Page) -> None:
    await page.goto(f"{bot.url}/")
    await expect(page.locator("#jb-root")).to_have_attribute("dir", "ltr")
    await ask(page, "שלום, כמה עולה הקורולה?")
    catalog = bot.app[CATALOG]
    await expect(page.locator("#jb-root")).to_have_attribute("dir", "rtl")
    await expect(page.locator("#jb-send")).to_have_text(catalog.render("widget.send", "he"))


async def test_the_embedding_page_sets_colour_and_corner_and_phones_get_full_screen(
    bot: RunningBot, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 375, "height": 700})
    page = await context.new_page()
    try:
        await page.goto(f"{bot.url}/healthz")  # any page of the app's origin
        await page.set_content(
            f'<script src="{bot.url}/widget.js" data-color="#0a7d4f" data-position="start">'
            "</script>"
        )
        toggle = page.locator("#jb-toggle")
        await expect(toggle).to_be_visible()
        colour = await toggle.evaluate("node => getComputedStyle(node).backgroundColor")
        assert colour == "rgb(10, 125, 79)"
        box = await toggle.bounding_box()
        assert box is not None and box["x"] < 100  # the start corner: left, in English
        await toggle.click()
        panel = await page.locator("#jb-panel").bounding_box()
        assert panel is not None and (panel["width"], panel["height"]) == (375, 700)
    finally:
        await context.close()
