"""What one prospect message says about a booking: product, branch, time, name, contact.

Rasa's entity extractor finds these in many messages, but not reliably enough
to book on: a one-message booking ("test drive of the RAV4 tomorrow at 11 in
Tel Aviv, I'm Dana, 052-555-1234") must be understood whole, in five
languages. So the entities Rasa found come first, and the message text is read
as well: product and branch names (with the aliases in the business profile),
the date and time (bot.when), phone numbers (phonenumbers' matcher) and emails.
Names are the hardest; beyond Rasa's ``name`` entity only explicit phrases
("my name is", "קוראים לי", "اسمي", "اسمم", "mă numesc") are trusted, or the
whole short answer when the bot has just asked for the name.
"""

import contextlib
import functools
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import phonenumbers

from bot.booking.dates import parse_when, plain, time_of_day
from bot.content.profile import Branch, Kind, Product, Profile
from bot.crm import contacts

EMAIL_IN_TEXT = re.compile(r"[^@\s,;:<>()]+@[^@\s,;:<>()]+\.[A-Za-z]{2,}")
NAME_PHRASES = re.compile(
    r"(?:\bmy name is|\bname is|\bi'?m|\bi am|\bthis is|קוראים לי|שמי|השם שלי|אני|اسمي|إسمي|انا|أنا"
    r"|اسمم|اسم من|\bmă numesc|\bma numesc|\bnumele meu (?:e|este)|\bsunt)\s+"
    r"([^\s,.;:!?،؛\d@]+(?:\s+[^\s,.;:!?،؛\d@]+)?)",
    re.IGNORECASE,
)
# Letters Hebrew and Arabic write in front of a name: "בתל אביב" (in Tel Aviv), "بحيفا".
PREFIXES = r"(?:[ובלהמשכ]{1,2}-?|[وبل]|ال)?"
# Words that follow "I'm"/"אני"/"انا"/"sunt" and are not names.
NOT_NAMES = frozenset((
    "a", "an", "the", "interested", "looking", "here", "back", "ready", "not", "just", "also",
    "still", "want", "would", "available", "free", "coming", "going", "thinking", "trying",
    "calling", "writing", "from", "in", "at", "with",
    "רוצה", "מעוניין", "מעוניינת", "מחפש", "מחפשת", "צריך", "צריכה", "פה", "כאן", "לא", "גם",
    "רק", "חושב", "חושבת", "מתעניין",
    "مهتم", "مهتمة", "ابغى", "أبغى", "بدي", "اريد", "أريد", "هنا", "ابحث", "أبحث", "عايز",
    "عاوز", "محتاج",
    "می‌خواهم", "میخواهم", "دنبال", "علاقه", "هستم", "اینجا", "است", "هست",
    "interesat", "interesata", "aici", "gata", "in", "la", "de", "cu",
))  # fmt: skip


@dataclass
class Details:
    product: Product | None = None
    branch: Branch | None = None
    when: datetime | None = None
    day_only: bool = False  # a day was named but no time of day
    has_day: bool = False  # a day was named (else a time alone means today or tomorrow)
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    contact_attempt: bool = False  # digits or an @ that made no valid phone or email

    def any(self) -> bool:
        return any((self.product, self.branch, self.when, self.name, self.phone, self.email))


def read(
    profile: Profile,
    text: str,
    entities: list[dict[str, Any]],
    language: str,
    now: datetime,
    *,
    timezone: str,
    asked: str | None = None,
) -> Details:
    """Everything booking-related in one message; ``asked`` is the slot the bot just asked for."""
    details = Details()
    by_kind = {e.get("entity"): str(e.get("value")) for e in entities if e.get("value")}
    details.product = profile.find_product(by_kind.get("product")) or _named(profile.products, text)
    kind = kind_named(profile, text) if details.product is None else None
    if kind is not None and len(kind.products) == 1:  # "test drive the electric one": ID.4
        details.product = profile.find_product(kind.products[0])
    details.branch = profile.find_branch(by_kind.get("branch")) or _named(profile.branches, text)
    rest = _read_contacts(details, text, by_kind, language)
    if details.branch is not None:
        timezone = details.branch.timezone
    _read_when(details, rest, by_kind.get("when"), language, timezone, now)
    details.name = contacts.name(by_kind["name"]) if "name" in by_kind else None
    details.name = details.name or _name_in(rest) or (_bare_name(rest) if asked == "name" else None)
    return details


def kind_named(profile: Profile, text: str) -> Kind | None:
    """The kind of product the text asks for ("the hybrid"), the earliest mention winning;
    an alias of four letters or more may be the start of a longer, inflected word."""
    found: Kind | None = _named(profile.kinds, text, inflected=True)
    return found


def _named(
    items: list[Product] | list[Branch] | list[Kind], text: str, *, inflected: bool = False
) -> Any:
    """The item the text names, the earliest mention winning; ``inflected``: a name of
    four letters or more also matches as the start of a longer word."""
    folded = plain(text)
    found: list[tuple[int, Any]] = []
    for item in items:
        for name in item.names():
            match = _name_pattern(name, inflected).search(folded)
            if match:
                found.append((match.start(), item))
                break
    return min(found, key=lambda pair: pair[0])[1] if found else None


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str, inflected: bool) -> re.Pattern[str]:
    """Built once per name: every turn looks for every product, kind and branch."""
    ending = r"\w*" if inflected and len(name) >= 4 else ""
    return re.compile(rf"(?<!\w){PREFIXES}{re.escape(plain(name))}{ending}(?!\w)")


def _read_contacts(details: Details, text: str, by_kind: dict[Any, str], language: str) -> str:
    """Fill phone and email; return the text without them, so their digits are not a time."""
    digits = contacts.ascii_digits(text)
    if "email" in by_kind:
        details.email = contacts.email(by_kind["email"])
    for match in EMAIL_IN_TEXT.finditer(digits):
        details.email = details.email or contacts.email(match.group())
        digits = digits.replace(match.group(), " ")
    if "phone" in by_kind:
        details.phone = contacts.phone(by_kind["phone"], language)
    region = contacts.REGION_BY_LANGUAGE.get(language, "IL")
    for region_tried in dict.fromkeys((region, "IL")):
        for found in phonenumbers.PhoneNumberMatcher(digits, region_tried):
            details.phone = details.phone or phonenumbers.format_number(
                found.number, phonenumbers.PhoneNumberFormat.E164
            )
            digits = digits.replace(found.raw_string, " ")
    leftover_digits = re.search(r"\d{6,}|\+\d", digits)
    details.contact_attempt = bool(leftover_digits or "@" in digits)
    return digits


def _read_when(
    details: Details,
    text: str,
    button_value: str | None,
    language: str,
    timezone: str,
    now: datetime,
) -> None:
    if button_value:
        with contextlib.suppress(ValueError):
            details.when = datetime.fromisoformat(button_value)
        if details.when is not None and details.when.tzinfo is not None:
            return
        details.when = None
    text = _without_names(text)
    found = parse_when(text, language, timezone, now)
    if found is None:
        return
    details.when = found
    details.day_only = found.time() == time(0)
    at, without_time = time_of_day(plain(text))
    details.has_day = at is None or parse_when(without_time, language, timezone, now) is not None


def _without_names(text: str) -> str:
    """Drop "my name is X" so a name is never read as a month or weekday."""
    return NAME_PHRASES.sub(" ", text)


def _name_in(text: str) -> str | None:
    for match in NAME_PHRASES.finditer(text):
        words = []
        for word in match.group(1).split():
            if word.casefold() in NOT_NAMES:
                break
            words.append(word)
        if words:
            return contacts.name(" ".join(words))
    return None


def _bare_name(text: str) -> str | None:
    """A short answer to "what name?" is the name itself."""
    words = text.split()
    if not 1 <= len(words) <= 3 or any(w.casefold() in NOT_NAMES for w in words):
        return None
    return contacts.name(text)
