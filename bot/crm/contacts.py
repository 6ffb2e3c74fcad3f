"""Contact details a prospect types: names, phone numbers (E.164) and emails.

Rasa finds them as entities; this module checks and normalises them so they
can be stored on the lead and never asked for again.
"""

import re
import unicodedata

import phonenumbers

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# Where a number without a country code most likely comes from, by language.
REGION_BY_LANGUAGE = {"he": "IL", "ar": "IL", "fa": "IR", "ro": "RO", "en": "IL"}


def ascii_digits(text: str) -> str:
    """Eastern Arabic and Persian digits (٠٥٢, ۰۹۱) to 0-9; phonenumbers expects ASCII."""
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)


def phone(raw: str, language: str, fallback_region: str = "IL") -> str | None:
    """The number in E.164 (+972525551234), or None when it is not a valid number."""
    text = ascii_digits(raw)
    for region in dict.fromkeys(
        (REGION_BY_LANGUAGE.get(language, fallback_region), fallback_region)
    ):
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def email(raw: str) -> str | None:
    value = raw.strip().strip(".,;").lower()
    return value if EMAIL.match(value) and len(value) <= 254 else None


# What an entity extractor sometimes takes for a name in "I'm Dana" or "انا دانا".
PRONOUNS = frozenset({"i", "im", "i'm", "me", "אני", "انا", "أنا", "من", "eu"})


def name(raw: str) -> str | None:
    value = " ".join(raw.split()).strip(".,;!?،؛")
    if len(value) < 2 or len(value) > 100 or value.casefold() in PRONOUNS:
        return None
    if any(ch.isdigit() or ch in "@<>" for ch in value):
        return None
    return value[:1].upper() + value[1:]


def from_entities(entities: list[dict[str, object]], language: str) -> dict[str, str]:
    """The valid contact details among a message's entities: {"name"|"phone"|"email": value}."""
    found: dict[str, str] = {}
    for entity in entities:
        kind, raw = entity.get("entity"), entity.get("value")
        if not isinstance(kind, str) or not isinstance(raw, str) or kind in found:
            continue
        if kind == "phone":
            value = phone(raw, language)
        elif kind == "email":
            value = email(raw)
        elif kind == "name":
            value = name(raw)
        else:
            continue
        if value:
            found[kind] = value
    return found
