"""The explainable lead score and the zombie flag."""

from datetime import UTC, datetime, timedelta

from bot.crm.scoring import Reason, score

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def messages(*intents: str | None, start: datetime = NOW, gap: timedelta = timedelta(minutes=1)):
    return [(start + i * gap, intent) for i, intent in enumerate(intents)]


def test_points_come_with_reasons_that_add_up() -> None:
    result = score(
        {"phone": "+972525551234", "name": "Dana", "email": None},
        messages("greet", "ask_price", "ask_price", "ask_financing", "book_appointment"),
        NOW + timedelta(minutes=5),
    )
    assert [r.reason for r in result.reasons] == [
        "shared a phone number",
        "shared their name",
        "asked to book",
        "asked about financing",
        "asked about prices",
    ]
    assert result.total == sum(r.points for r in result.reasons) == 50
    assert not result.zombie


def test_return_visits_count_and_complaints_cost() -> None:
    inbound = messages("greet", "complaint", "greet", gap=timedelta(hours=2))
    result = score({}, inbound, NOW + timedelta(hours=5))
    assert Reason(10, "came back 2 time(s)") in result.reasons
    assert Reason(-10, "complained") in result.reasons
    assert result.total == 0


def test_score_decays_after_a_week_of_silence() -> None:
    inbound = messages("book_appointment")
    fresh = score({"phone": "+40721123456"}, inbound, NOW + timedelta(days=1))
    stale = score({"phone": "+40721123456"}, inbound, NOW + timedelta(days=21))
    assert fresh.total == 30
    assert stale.total == 15  # one half-life (14 days) after the 7 quiet days
    assert stale.reasons[-1].reason == "inactive for 21 days"


def test_much_talk_without_progress_is_a_zombie_lead() -> None:
    chatty = messages(*(["ask_product_info", "ask_reviews", "greet"] * 5))
    assert score({}, chatty, NOW).zombie
    assert not score({"email": "a@b.co"}, chatty, NOW).zombie
    assert not score({}, chatty + messages("ask_availability"), NOW).zombie
