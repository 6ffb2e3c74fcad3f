"""Dates and times as prospects type them, in five languages, in a branch's time zone.

dateparser handles weekday and month names and numeric dates in all five
languages, but measured on what people type in chat it fails on the rest:
"tomorrow at 5" keeps the current time of day, Hebrew "מחר ב5" becomes the
1st of May, colloquial Arabic "بكرة" and Romanian "luni dimineata" are not
understood, and "15/12 at 11" lands in 2111. So this module reads the time of
day ("at 5", "ב5", "الساعة 5", "ساعت ۵", "la ora 11", "17:00", "11am"), day
parts ("morning", "בבוקר", "الصبح", "صبح", "dimineata"), relative days
("tomorrow", "מחר", "بكرة", "فردا", "mâine") and day-first numeric dates
itself, and gives dateparser only what is left (weekday and month names).
"""

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from bot.crm.contacts import ascii_digits

RELATIVE_DAYS = {
    0: ("today", "tonight", "היום", "הערב", "اليوم", "النهارده", "امروز", "امشب", "azi", "astazi"),
    1: ("tomorrow", "tmrw", "tmr", "מחר", "بكرة", "بكره", "غدا", "غداً", "bokra", "فردا",
        "farda", "maine", "mine"),
    2: ("day after tomorrow", "מחרתיים", "بعد بكرة", "بعد بكره", "بعد غد", "پس فردا",
        "پس‌فردا", "poimaine"),
}  # fmt: skip
DAY_PARTS = {
    10: ("morning", "בבוקר", "בוקר", "الصبح", "صباحا", "صباحاً", "الصباح", "صبح", "dimineata",
         "dimineaţa"),
    12: ("noon", "midday", "בצהריים", "צהריים", "الظهر", "ظهر", "pranz", "la pranz"),
    15: ("afternoon", "אחר הצהריים", "אחה\"צ", "العصر", "بعد الظهر", "بعدازظهر", "بعد از ظهر",
         "عصر", "dupa-amiaza", "dupa amiaza", "dupamasa"),
    18: ("evening", "בערב", "ערב", "المسا", "مساء", "المساء", "شب", "seara", "diseara"),
}  # fmt: skip
# The time of day, tried in this order: with a marker ("at 5", "ב5", "בשעה 17:00",
# "الساعة 5", "ساعت ۵", "la ora 11"), with am/pm ("11am"), bare with a colon ("17:00").
# A bare "15.12" is a date, not a time.
TIME_PATTERNS = (
    re.compile(
        r"(?:\b(?:at|around)\s+|(?<![\w:])ב-?|בשעה\s*|الساعة\s*|ساعت\s*|\bla\s+ora\s+"
        r"|\bora\s+|\bla\s+|@\s*)(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?![\d/]|\.\d)"
    ),
    re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?!\w)"),
    re.compile(r"\b(\d{1,2}):(\d{2})\b()"),
)
NUMERIC_DATE = re.compile(r"(?<![\d.:/])(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?(?![\d:])")
# Words around a day name that dateparser does not expect: "ביום חמישי", "يوم الخميس", "pe 15.12".
FILLERS = re.compile(r"(?<!\w)(?:on|this|the|ביום|يوم|في|روز|pe|in)(?!\w)")
OPENING = 8  # without am/pm, "at 5" in a showroom means 17:00, "at 9" means 09:00


def plain(text: str) -> str:
    """Lower case, ASCII digits, no diacritics (Romanian typed both ways)."""
    text = unicodedata.normalize("NFKD", ascii_digits(text).casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def time_of_day(text: str) -> tuple[time | None, str]:
    """The time the prospect named and the text without it."""
    for pattern in TIME_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = (match.group(3) or "").replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        elif not meridiem and hour < OPENING:
            hour += 12
        if hour < 24 and minute < 60:
            return time(hour, minute), text[: match.start()] + " " + text[match.end() :]
    for hour, words in DAY_PARTS.items():
        for word in sorted(words, key=len, reverse=True):
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
                return time(hour), text.replace(word, " ")
    return None, text


def numeric_date(text: str, today: date) -> date | None:
    """'15.12', '15/12/2026': day first, as in all five languages; the next such day."""
    match = NUMERIC_DATE.search(text)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(2))
    year = int(match.group(3)) if match.group(3) else today.year
    year += 2000 if year < 100 else 0
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if match.group(3) is None and found < today:
        found = found.replace(year=found.year + 1)
    return found


def relative_day(text: str) -> tuple[int | None, str]:
    for offset in (2, 1, 0):  # longest phrases first: "day after tomorrow" holds "tomorrow"
        for word in RELATIVE_DAYS[offset]:
            # Hebrew and Arabic glue "to", "and", "in" to the word: "למחרתיים", "لبعد بكرة".
            if re.search(rf"(?<!\w)(?:[ולב]|[لوب])?{re.escape(word)}(?!\w)", text):
                return offset, text.replace(word, " ")
    return None, text


def parse_when(text: str, language: str, timezone: str, now: datetime) -> datetime | None:
    """The moment a prospect means, aware, in ``timezone``; None when there is none.

    A time without a day means today, or tomorrow once that time has passed.
    A day without a time is returned at midnight: the caller asks for the time.
    """
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    text = plain(text)
    at, rest = time_of_day(text)
    offset, rest = relative_day(rest)
    day: date | None = None
    if offset is not None:
        day = local_now.date() + timedelta(days=offset)
    elif NUMERIC_DATE.search(rest):
        day = numeric_date(rest, local_now.date())
        if day is None:
            return None  # "31/02": better to ask again than to guess
    elif re.search(r"\w", rest := FILLERS.sub(" ", rest)):
        found = dateparser.parse(
            rest.strip(),
            languages=[language, "en"] if language != "en" else ["en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "RELATIVE_BASE": local_now.replace(tzinfo=None),
            },
        )
        day = found.date() if found else None
    if day is None and at is None:
        return None
    if day is None:
        assert at is not None
        day = local_now.date() if at > local_now.time() else local_now.date() + timedelta(days=1)
    return datetime.combine(day, at or time(0), tzinfo=zone)
