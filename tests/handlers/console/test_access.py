"""The console's door: sign-in with argon2-checked passwords, encrypted cookie sessions,
CSRF on every form, rate limits, roles per page and the audit log. The real app."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from bot.staff import users
from bot.storage.models import AuditEvent
from handlers.context import CLOCK, SESSIONS
from tests.conftest import PASSWORD, RunningBot, Staff


@pytest.fixture
async def team(fast_bot: RunningBot) -> RunningBot:
    async with fast_bot.app[SESSIONS]() as session:
        now = fast_bot.app[CLOCK].now()
        for name, role in (("ada", "admin"), ("olga", "ops"), ("rita", "rep")):
            await users.add(session, name, role, PASSWORD, now)
        await session.commit()
    return fast_bot


@pytest.fixture
async def browser(team: RunningBot) -> AsyncIterator[Staff]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Staff(team, http)


async def audit(bot: RunningBot) -> list[tuple[str, str]]:
    async with bot.app[SESSIONS]() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action) for e in events]


async def test_the_console_sends_strangers_to_sign_in(browser: Staff) -> None:
    status, _ = await browser.get("/console/users")
    assert status == 302
    async with browser.http.get(f"{browser.bot.url}/console/users") as response:
        assert str(response.url).endswith("/console/login?next=/console/users")
        assert 'name="password"' in await response.text()


async def test_signing_in_opens_the_console_and_signing_out_closes_it(browser: Staff) -> None:
    assert await browser.sign_in("rita", next_="/console/") == 303
    status, page = await browser.get("/console/")
    assert status == 200 and "rita (rep)" in page
    cookie = next(c for c in browser.http.cookie_jar if c.key == "journey_console")
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and "rita" not in cookie.value
    status, _, _ = await browser.post("/console/logout", {"csrf": await browser.csrf("/console/")})
    assert status == 303
    assert (await browser.get("/console/"))[0] == 302
    assert await audit(browser.bot) == [("rita", "login"), ("rita", "logout")]


async def test_a_wrong_password_is_refused_and_recorded(browser: Staff) -> None:
    assert await browser.sign_in("rita", "not her password") == 401
    assert await browser.sign_in("nobody", PASSWORD) == 401
    assert (await browser.get("/console/"))[0] == 302
    assert await audit(browser.bot) == [("rita", "login_failed"), ("nobody", "login_failed")]


async def test_guessing_a_password_is_slowed_down(browser: Staff) -> None:
    statuses = [await browser.sign_in("rita", f"guess number {n}") for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert await browser.sign_in("rita") == 429  # even the right one, for a minute
    assert await browser.sign_in("olga") == 303  # others are not locked out


async def test_a_form_without_its_csrf_token_is_refused(browser: Staff) -> None:
    status, _, _ = await browser.post("/console/login", {"username": "ada", "password": PASSWORD})
    assert status == 403
    await browser.sign_in("ada")
    form = {"username": "eve", "role": "admin", "password": "long enough pw", "csrf": "forged"}
    assert (await browser.post("/console/users", form))[0] == 403
    async with browser.bot.app[SESSIONS]() as session:
        assert await users.find(session, "eve") is None


@pytest.mark.parametrize(("name", "status"), [("rita", 403), ("olga", 403), ("ada", 200)])
async def test_only_admins_manage_users(browser: Staff, name: str, status: int) -> None:
    await browser.sign_in(name)
    assert (await browser.get("/console/users"))[0] == status


async def test_an_admin_adds_and_removes_a_user_who_can_then_sign_in_or_not(
    browser: Staff, team: RunningBot
) -> None:
    await browser.sign_in("ada")
    csrf = await browser.csrf("/console/users")
    form = {"username": "noa", "role": "rep", "password": "another long one", "csrf": csrf}
    assert (await browser.post("/console/users", form))[0] == 303
    short = form | {"username": "tal", "password": "short"}
    status, _, page = await browser.post("/console/users", short)
    assert status == 400 and "at least 10 characters" in page

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        noa = Staff(team, http)
        assert await noa.sign_in("noa", "another long one") == 303
        assert (await browser.post("/console/users/remove", {"username": "noa", "csrf": csrf}))[
            0
        ] == 303
        assert (await noa.get("/console/"))[0] == 302  # removed: out at once
    assert ("ada", "user_added") in await audit(team)
    assert ("ada", "user_removed") in await audit(team)


async def test_names_are_shown_as_text_and_pages_refuse_framing(browser: Staff) -> None:
    async with browser.bot.app[SESSIONS]() as session:
        now = browser.bot.app[CLOCK].now()
        await users.add(session, "<script>x</script>", "rep", PASSWORD, now)
        await session.commit()
    await browser.sign_in("ada")
    async with browser.http.get(f"{browser.bot.url}/console/users") as response:
        page = await response.text()
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


async def test_signing_in_goes_back_only_to_a_console_page(browser: Staff) -> None:
    form = {"username": "rita", "password": PASSWORD, "csrf": await browser.csrf()}
    _, location, _ = await browser.post("/console/login?next=https://evil.example/", form)
    assert location == "/console/"
