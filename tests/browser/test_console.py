"""The console in Debian's chromium: signing in through the form, and the roles."""

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import PASSWORD, RunningBot, console_page, with_staff

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
async def team(bot: RunningBot) -> RunningBot:
    return await with_staff(bot, {"console-admin": "admin", "console-rep": "rep"})


@pytest.mark.parametrize(("name", "users_page"), [("console-rep", 403), ("console-admin", 200)])
async def test_signing_in_through_the_form_and_what_each_role_may_open(
    team: RunningBot, browser: Browser, name: str, users_page: int
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{team.url}/console/users")
        await expect(page).to_have_url(f"{team.url}/console/login?next=/console/users")
        await page.fill("input[name=username]", name)
        await page.fill("input[name=password]", "not the password")
        await page.click("button[type=submit]")
        await expect(page.locator("[role=alert]")).to_have_text("Wrong name or password.")

        await page.fill("input[name=username]", name)
        await page.fill("input[name=password]", PASSWORD)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        response = await page.goto(f"{team.url}/console/users")
        assert response is not None and response.status == users_page
        if users_page == 200:
            await expect(page.locator("td", has_text="console-rep")).to_be_visible()
        await page.goto(f"{team.url}/console/")
        await expect(page.locator("#who")).to_contain_text(name)
        await page.click("text=Sign out")
        await expect(page.locator("input[name=password]")).to_be_visible()
    finally:
        await context.close()


async def test_a_transcript_reads_hebrew_and_arabic_right_to_left_and_html_as_text(
    team: RunningBot, browser: Browser
) -> None:
    await team.chat("console-visitor-mixed-01", "שלום, כמה עולה הקורולה?", "he")
    await team.chat("console-visitor-mixed-01", "مرحبا، أريد تجربة قيادة", "ar")
    sent = await team.chat(
        "console-visitor-mixed-01", "<img src=x onerror=\"document.title='pwned'\">"
    )
    async with console_page(browser, team, "console-rep") as page:
        await page.goto(f"{team.url}/console/conversations?q=%D7%A7%D7%95%D7%A8%D7%95%D7%9C%D7%94")
        await page.click(f"a[href='/console/conversations/{sent['conversation_id']}']")
        hebrew = page.locator("td.message", has_text="כמה עולה הקורולה")
        arabic = page.locator("td.message", has_text="أريد تجربة قيادة")
        for cell in (hebrew, arabic):
            assert await cell.evaluate("node => getComputedStyle(node).direction") == "rtl"
        english = page.locator("td.message", has_text="onerror")
        assert await english.evaluate("node => getComputedStyle(node).direction") == "ltr"
        await expect(english).to_have_text("<img src=x onerror=\"document.title='pwned'\">")
        assert await page.locator("#transcript img").count() == 0
        assert await page.title() != "pwned"
