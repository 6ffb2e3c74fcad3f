"""Dates and times as prospects type them, in five languages (Israel time)."""

from datetime import UTC, datetime

import pytest

from bot.booking.dates import parse_when

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 10:00 in Tel Aviv


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "tomorrow at 5", "Tue 2026-11-24 17:00"),
        ("en", "next monday morning", "Mon 2026-11-30 10:00"),
        ("en", "dec 15 at 11am", "Tue 2026-12-15 11:00"),
        ("en", "15/12 at 11", "Tue 2026-12-15 11:00"),
        ("en", "thursday 4pm", "Thu 2026-11-26 16:00"),
        ("en", "in 2 days at 10", "Wed 2026-11-25 10:00"),
        ("en", "at 17:30", "Mon 2026-11-23 17:30"),
        ("en", "at 9", "Tue 2026-11-24 09:00"),  # 9:00 today has passed
        ("he", "מחר ב5", "Tue 2026-11-24 17:00"),
        ("he", "מחר בשעה 17:00", "Tue 2026-11-24 17:00"),
        ("he", "יום ראשון בבוקר", "Sun 2026-11-29 10:00"),
        ("he", "ביום חמישי ב-11", "Thu 2026-11-26 11:00"),
        ("he", "ב-15/12 ב-11", "Tue 2026-12-15 11:00"),
        ("ar", "بكرة الساعة 5", "Tue 2026-11-24 17:00"),
        ("ar", "غدا الساعة ١١", "Tue 2026-11-24 11:00"),
        ("ar", "يوم الخميس الصبح", "Thu 2026-11-26 10:00"),
        ("ar", "لبعد بكرة الساعة 3", "Wed 2026-11-25 15:00"),
        ("he", "למחרתיים ב-15", "Wed 2026-11-25 15:00"),
        ("he", "ולמחר ב-9", "Tue 2026-11-24 09:00"),
        ("fa", "فردا ساعت ۵", "Tue 2026-11-24 17:00"),
        ("fa", "دوشنبه صبح", "Mon 2026-11-30 10:00"),
        ("fa", "پنجشنبه ساعت ۱۱", "Thu 2026-11-26 11:00"),
        ("ro", "maine la 5", "Tue 2026-11-24 17:00"),
        ("ro", "mâine la ora 11", "Tue 2026-11-24 11:00"),
        ("ro", "luni dimineata", "Mon 2026-11-30 10:00"),
        ("ro", "pe 15.12 la ora 11", "Tue 2026-12-15 11:00"),
        ("ro", "joi la 16:00", "Thu 2026-11-26 16:00"),
    ],
)
def test_parse_when(language: str, text: str, expected: str) -> None:
    found = parse_when(text, language, "Asia/Jerusalem", NOW)
    assert found is not None
    assert found.strftime("%a %Y-%m-%d %H:%M") == expected
    assert found.utcoffset() is not None


@pytest.mark.parametrize("text", ["hello", "052-555-1234", "31/02 at 10", ""])
def test_no_moment_or_an_impossible_one_is_none(text: str) -> None:
    assert parse_when(text, "en", "Asia/Jerusalem", NOW) is None


def test_the_branch_time_zone_decides_the_instant() -> None:
    london = parse_when("tomorrow at 11", "en", "Europe/London", NOW)
    tel_aviv = parse_when("tomorrow at 11", "en", "Asia/Jerusalem", NOW)
    assert london is not None and tel_aviv is not None
    assert london.hour == tel_aviv.hour == 11
    assert (london - tel_aviv).total_seconds() == 2 * 3600
