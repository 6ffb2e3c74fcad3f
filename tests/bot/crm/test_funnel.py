"""The funnel's figures from a known set of leads: furthest stage reached, conversion and
drop-off, the breakdowns, speed to lead, bookings and no-shows, NPS and ratings."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import funnel
from bot.crm.conversations import Filters
from bot.storage.models import Booking, Conversation, Handoff, Lead, Touchpoint

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def _lead(session: AsyncSession, stage: str, channel: str, language: str,
                source: str | None, moved_through: tuple[str, ...] = (),
                days_ago: int = 1) -> Lead:  # fmt: skip
    """A lead, its conversation and the stage changes it went through."""
    at = NOW - timedelta(days=days_ago)
    lead = Lead(stage=stage, language=language, source=source, created_at=at, last_seen_at=at)
    session.add(lead)
    await session.flush()
    session.add(Conversation(lead_id=lead.id, channel=channel, external_id=f"{channel}-{lead.id}",
                             created_at=at))  # fmt: skip
    for before, after in zip(("awareness", *moved_through), moved_through, strict=False):
        session.add(Touchpoint(lead_id=lead.id, channel=channel, direction="event",
                               author="system", kind="stage_change",
                               data={"from": before, "to": after}, created_at=at))  # fmt: skip
    await session.flush()
    return lead


async def _conversation_of(session: AsyncSession, lead: Lead) -> int:
    found = await session.scalar(select(Conversation.id).where(Conversation.lead_id == lead.id))
    assert found is not None
    return found


async def test_each_stage_counts_every_lead_that_ever_reached_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await _lead(session, "awareness", "web", "en", "google")
        await _lead(session, "consideration", "web", "he", "google", ("consideration",))
        # asked a price again after deciding: back in consideration, yet it reached decision
        await _lead(session, "consideration", "telegram", "ar", None,
              ("consideration", "decision", "consideration"))  # fmt: skip
        await _lead(session, "advocacy", "telegram", "en", "facebook",
              ("consideration", "decision", "retention", "advocacy"))  # fmt: skip
        await _lead(session, "awareness", "web", "en", "google", days_ago=40)  # out of range
        report = await funnel.report(session, Filters(since=date(2026, 11, 1)), NOW)

    assert report.leads == 4
    assert [(s.stage, s.leads, s.dropped) for s in report.steps] == [
        ("awareness", 4, 0), ("consideration", 3, 1), ("decision", 2, 1),
        ("retention", 1, 1), ("advocacy", 1, 0),
    ]  # fmt: skip
    assert report.steps[0].conversion is None
    assert report.steps[1].conversion == 0.75 and report.steps[2].conversion == 2 / 3
    by_channel = {b.value: b for b in report.by["channel"]}
    assert by_channel["telegram"].leads == 2 and by_channel["telegram"].share("decision") == 1.0
    assert by_channel["web"].reached == {"awareness": 2, "consideration": 1, "decision": 0,
                                         "retention": 0, "advocacy": 0}  # fmt: skip
    assert {b.value: b.leads for b in report.by["source"]} == {"google": 2, "unknown": 1,
                                                               "facebook": 1}  # fmt: skip
    tables = report.tables()
    assert tables["stages"][1] == {"stage": "consideration", "leads": 3, "share": 0.75,
                                   "conversion": 0.75, "dropped": 1}  # fmt: skip
    assert tables["by_language"][0] == {"language": "en", "leads": 2, "awareness": 2,
        "consideration": 1, "decision": 1, "retention": 1, "advocacy": 1}  # fmt: skip


async def test_filters_pick_the_leads_of_a_channel_language_and_source(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await _lead(session, "awareness", "web", "en", "google")
        await _lead(session, "decision", "telegram", "fa", "google", ("decision",))
        await _lead(session, "decision", "telegram", "fa", "instagram", ("decision",))
        assert (await funnel.report(session, Filters(channel="telegram"), NOW)).leads == 2
        assert (await funnel.report(session, Filters(language="en"), NOW)).leads == 1
        both = Filters(channel="telegram", source="google")
        assert (await funnel.report(session, both, NOW)).leads == 1
        later = Filters(since=NOW.date())
        assert (await funnel.report(session, later, NOW)).leads == 0


async def test_speed_to_lead_bookings_no_shows_nps_and_ratings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        leads = [await _lead(session, "decision", "web", "en", None) for _ in range(4)]
        opened = NOW - timedelta(hours=5)
        for lead, claim_after, reply_after, status, rating in zip(
            leads,
            (60, 180, 600, None),
            (120, 240, None, None),
            ("closed", "closed", "claimed", "waiting"),
            (5, 3, None, None),
            strict=True,
        ):
            session.add(Handoff(
                lead_id=lead.id, conversation_id=await _conversation_of(session, lead),
                reason="asked",
                status=status, created_at=opened, satisfaction=rating,
                claimed_at=opened + timedelta(seconds=claim_after) if claim_after else None,
                first_reply_at=opened + timedelta(seconds=reply_after) if reply_after else None,
            ))  # fmt: skip
        for n, (lead, starts, status, came) in enumerate((
            (leads[0], NOW - timedelta(days=1), "confirmed", "attended"),
            (leads[1], NOW - timedelta(days=1), "confirmed", "no_show"),
            (leads[2], NOW - timedelta(hours=2), "confirmed", None),
            (leads[3], NOW + timedelta(days=1), "confirmed", None),
            (leads[3], NOW + timedelta(days=2), "cancelled", None),
        )):  # fmt: skip
            session.add(Booking(
                lead_id=lead.id, kind="test_drive", product_id="corolla", branch_id="tlv",
                starts_at=starts, ends_at=starts + timedelta(minutes=30), unit=n,
                status=status, attendance=came, token=f"token-{n}",
            ))  # fmt: skip
        for lead, score in zip(leads, (10, 9, 7, 3), strict=True):
            session.add(Touchpoint(lead_id=lead.id, channel="web", direction="event",
                                   author="prospect", kind="nps", data={"score": score},
                                   created_at=NOW))  # fmt: skip
        await session.flush()
        report = await funnel.report(session, Filters(), NOW)

    speed = report.speed
    assert (speed.handoffs, speed.waiting, speed.claimed, speed.expired) == (4, 1, 3, 0)
    assert speed.median_to_claim == 180 and speed.p90_to_claim == 600
    assert speed.median_to_first_reply == 180
    b = report.bookings
    assert (b.made, b.confirmed, b.cancelled, b.upcoming) == (5, 4, 1, 1)
    assert (b.attended, b.no_shows, b.unmarked, b.no_show_rate) == (1, 1, 1, 0.5)
    s = report.satisfaction
    assert (s.nps_answers, s.promoters, s.passives, s.detractors, s.nps) == (4, 2, 1, 1, 25.0)
    assert (s.ratings, s.average_rating) == (2, 4.0)


async def test_an_empty_range_gives_zeros_not_errors(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        report = await funnel.report(session, Filters(), NOW)
    assert report.leads == 0 and [s.leads for s in report.steps] == [0] * 5
    assert report.speed.median_to_claim is None and report.satisfaction.nps is None
    assert report.bookings.no_show_rate is None
