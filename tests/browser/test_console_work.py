"""The team's daily work on the console in Debian's chromium, on the real app and its real
Rasa server: two reps' inboxes following each other live, the funnel and a CSV download,
merging a web lead into the Telegram lead that shared the same phone, and erasing a lead
down to Rasa's tracker."""

import csv
import io

import aiohttp
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from bot.crm import leads
from bot.storage.models import Handoff
from handlers.context import RASA, SESSIONS
from tests.conftest import RunningBot, console_page, with_staff
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.telegram_people import Prospect

pytestmark = [pytest.mark.integration, pytest.mark.browser]
TEAM = {"work-rep-anna": "rep", "work-rep-ben": "rep", "work-ops-olga": "ops"}


@pytest.fixture(scope="module")
async def team(bot: RunningBot) -> RunningBot:
    return await with_staff(bot, TEAM)


async def handoff_of(bot: RunningBot, conversation_id: int) -> int:
    async with bot.app[SESSIONS]() as session:
        found = await session.scalars(
            select(Handoff.id).where(Handoff.conversation_id == conversation_id)
        )
        [handoff] = found.all()
        return handoff


async def tracker_events(bot: RunningBot, conversation_id: int) -> list[dict]:  # type: ignore[type-arg]
    """What the real Rasa server remembers of the conversation."""
    rasa = bot.app[RASA]
    url = f"{rasa.base_url}/conversations/{conversation_id}/tracker"
    async with aiohttp.ClientSession() as http, http.get(url, params={"token": rasa.token}) as got:
        assert got.status == 200, await got.text()
        return (await got.json())["events"]  # type: ignore[no-any-return]


async def test_two_reps_inboxes_follow_a_handoff_live_from_waiting_to_taken(
    team: RunningBot, browser: Browser
) -> None:
    async with (
        console_page(browser, team, "work-rep-anna") as anna,
        console_page(browser, team, "work-rep-ben") as ben,
    ):
        for page in (anna, ben):
            await page.goto(f"{team.url}/console/handoffs?tab=waiting")
            await expect(page.locator("#live")).to_have_class("on")  # the event stream is open

        said = await team.chat("work-visitor-inbox-01", "i want to talk to a person")
        card = f"#handoff-{await handoff_of(team, said['conversation_id'])}"
        for page in (anna, ben):  # no reload: the event redraws the list
            await expect(page.locator(card)).to_be_visible()
            await expect(page.locator(card)).to_contain_text("i want to talk to a person")

        await anna.click(f"{card} button.claim")
        await expect(ben.locator(card)).to_have_count(0)  # gone from ben's waiting list
        await anna.goto(f"{team.url}/console/handoffs?tab=mine")
        await expect(anna.locator(card)).to_have_attribute("data-status", "claimed")

        await ben.goto(f"{team.url}/console/handoffs?tab=all")
        await expect(ben.locator("#live")).to_have_class("on")
        await expect(ben.locator(card)).to_contain_text("work-rep-anna")
        await anna.click(f"{card} button.release")  # handed back: ben's list follows
        await expect(ben.locator(card)).to_have_attribute("data-status", "closed")


async def test_ops_read_the_funnel_and_download_a_chart_as_csv(
    team: RunningBot, browser: Browser
) -> None:
    await team.chat("work-visitor-funnel-01", "how much is the corolla?")
    async with console_page(browser, team, "work-ops-olga") as page:
        await page.goto(f"{team.url}/console/funnel")
        await expect(page.locator("h1")).to_have_text("The journey funnel")
        leads = int(await page.locator("#total strong").inner_text())
        assert leads >= 1
        bars = page.locator("#stages svg rect")
        await expect(bars).to_have_count(5)
        awareness = await bars.first.locator("title").text_content()
        assert awareness == f"awareness: {leads}"  # every lead starts aware

        async with page.expect_download() as waiting:
            await page.click("#stages a.download")
        download = await waiting.value
        assert download.suggested_filename.endswith(".csv")
        text = (await download.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["stage"] for row in rows] == [
        "awareness", "consideration", "decision", "retention", "advocacy",
    ]  # fmt: skip
    assert int(rows[0]["leads"]) == leads
    assert int(rows[1]["leads"]) >= 1  # the corolla question is consideration


async def test_a_rep_merges_the_web_lead_into_the_telegram_lead_that_shared_its_phone(
    team: RunningBot, browser: Browser, live_bot_api: FakeBotAPI
) -> None:
    web = await team.chat("work-visitor-merge-01", "pls have someone call me back on 052-555-7788")
    assert (await team.lead(web["lead_id"]))["phone"] == "+972525557788"
    maya = Prospect(live_bot_api, 900_771, "en")
    await maya.says("hello")
    await maya.says(None, contact={"phone_number": "972525557788", "first_name": "Maya",
                                   "user_id": 900_771})  # fmt: skip
    async with team.app[SESSIONS]() as session:
        conversation = await leads.find_conversation(session, "telegram", "900771")
        assert conversation is not None
        telegram = conversation.lead_id

    async with console_page(browser, team, "work-rep-anna") as page:
        await page.goto(f"{team.url}/console/leads/{telegram}")
        offer = page.locator("#merge")
        await expect(offer).to_contain_text("+972525557788")
        async with page.expect_navigation():
            await offer.locator("button", has_text=f"Merge #{web['lead_id']}").click()
        await expect(page).to_have_url(f"{team.url}/console/leads/{telegram}")
        timeline = page.locator("#timeline")
        await expect(timeline).to_contain_text("pls have someone call me back")  # the web words
        await expect(timeline).to_contain_text("hello")  # and the Telegram ones
        await expect(page.locator("#merge")).to_have_count(0)
        gone = await page.goto(f"{team.url}/console/leads/{web['lead_id']}")
        assert gone is not None and gone.status == 404


async def test_ops_erase_a_lead_from_the_console_and_rasa_forgets_it_too(
    team: RunningBot, browser: Browser
) -> None:
    said = await team.chat("work-visitor-erase-01", "how much is the corolla? I am Dana")
    lead_id, conversation_id = said["lead_id"], said["conversation_id"]
    assert any(e["event"] == "user" for e in await tracker_events(team, conversation_id))

    async with console_page(browser, team, "work-ops-olga") as page:
        await page.goto(f"{team.url}/console/leads/{lead_id}")
        erase = page.locator("#erase")
        await erase.locator("input[name=confirm]").fill("1")  # not this lead's number
        async with page.expect_navigation():
            await erase.locator("button[type=submit]").click()
        await expect(page.locator("#error")).to_have_text(
            "Type the lead's number to confirm the erasure."
        )
        assert (await team.lead(lead_id))["id"] == lead_id  # nothing erased

        await erase.locator("input[name=confirm]").fill(str(lead_id))  # the page, again
        async with page.expect_navigation():
            await erase.locator("button[type=submit]").click()
        await expect(page).to_have_url(f"{team.url}/console/conversations?erased={lead_id}")
        await expect(page.locator("body")).to_contain_text(f"Lead {lead_id} was erased")
    assert not [e for e in await tracker_events(team, conversation_id) if e["event"] == "user"]
    assert (await team.ops("GET", f"/leads/{lead_id}"))[0] == 404


async def test_ops_filter_and_search_the_conversations_and_download_what_they_see(
    team: RunningBot, browser: Browser
) -> None:
    source = "work-filters"
    hebrew = await team.chat("work-visitor-filter-he", "כמה עולה הקורולה?", "he", source)
    english = await team.chat("work-visitor-filter-en", "a zebra corolla?", "en", source)
    await team.chat("work-visitor-filter-ar", "مرحبا", "ar", source)
    rows = "#conversations tbody tr"
    async with console_page(browser, team, "work-ops-olga") as page:
        await page.goto(f"{team.url}/console/conversations")
        await page.fill("#filters input[name=source]", source)
        await page.click("#filters button[type=submit]")
        await expect(page.locator(rows)).to_have_count(3)

        await page.select_option("#filters select[name=language]", "he")
        await page.click("#filters button[type=submit]")
        assert "language=he" in page.url and f"source={source}" in page.url  # a link to share
        await expect(page.locator(rows)).to_have_count(1)
        await expect(page.locator(rows)).to_contain_text(str(hebrew["conversation_id"]))

        await page.select_option("#filters select[name=language]", "")
        await page.fill("#filters input[name=q]", "ZeBrA")  # any case
        await page.click("#filters button[type=submit]")
        await expect(page.locator(rows)).to_have_count(1)
        await expect(page.locator(rows).first).to_contain_text(str(english["conversation_id"]))

        async with page.expect_download() as waiting:
            await page.click("#download-csv")
        text = (await (await waiting.value).path()).read_text(encoding="utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text, newline="")))  # the filters came along
    assert int(row["conversation_id"]) == english["conversation_id"]
