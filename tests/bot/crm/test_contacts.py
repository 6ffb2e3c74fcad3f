"""Contact details from entities: phone numbers to E.164, emails, names."""

from bot.crm import contacts


def test_phone_numbers_become_e164_in_the_prospects_region() -> None:
    assert contacts.phone("052-555-1234", "he") == "+972525551234"
    assert contacts.phone("0721 123 456", "ro") == "+40721123456"
    assert contacts.phone("+40 721 123 456", "en") == "+40721123456"
    assert contacts.phone("0912 345 6789", "fa") == "+989123456789"
    assert contacts.phone("٠٥٢٥٥٥١٢٣٤", "ar") == "+972525551234"
    assert contacts.phone("۰۹۱۲۳۴۵۶۷۸۹", "fa") == "+989123456789"
    assert contacts.phone("12", "en") is None
    assert contacts.phone("tomorrow", "en") is None


def test_emails_and_names_are_checked() -> None:
    assert contacts.email(" Dana@Example.com. ") == "dana@example.com"
    assert contacts.email("dana@example") is None
    assert contacts.name("dana") == "Dana"
    assert contacts.name("<script>") is None
    assert contacts.name("x" * 101) is None


def test_a_pronoun_the_extractor_took_for_a_name_gives_way_to_the_name() -> None:
    entities = [{"entity": "name", "value": v} for v in ("I", "Dana")]  # "I'm Dana"
    assert contacts.from_entities(entities, "en") == {"name": "Dana"}
    assert contacts.name("אני") is None and contacts.name("J") is None


def test_only_valid_details_are_taken_from_entities() -> None:
    entities = [
        {"entity": "name", "value": "dana"},
        {"entity": "phone", "value": "052-555-1234"},
        {"entity": "email", "value": "not-an-email"},
        {"entity": "product", "value": "Tucson"},
        {"entity": "phone", "value": "050-000-0000"},
    ]
    assert contacts.from_entities(entities, "he") == {"name": "Dana", "phone": "+972525551234"}
