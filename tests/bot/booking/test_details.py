"""Reading a booking out of one message, in the five languages."""

from datetime import datetime, time, timedelta

import pytest

from bot.booking import details
from bot.content.profile import Profile
from tests.conftest import monday_morning

NOW = monday_morning()  # 08:00 on a Monday in Israel
TUESDAY_11 = datetime.combine(NOW.date() + timedelta(days=1), time(11), NOW.tzinfo)

ONE_MESSAGE = {
    "en": "book a test drive of the RAV4 tomorrow at 11 at Tel Aviv, I'm Dana, 052-555-1234",
    "he": "אפשר לקבוע נסיעת מבחן בראב 4 מחר ב-11 בתל אביב? קוראים לי דנה, 052-555-1234",
    "ar": "بدي احجز تجربة قيادة RAV4 بكرة الساعة 11 في تل أبيب، اسمي دانا، 052-555-1234",
    "fa": "می‌خواهم تست درایو RAV4 را فردا ساعت ۱۱ در تل‌آویو رزرو کنم، اسمم دانا است، ۰۵۲-۵۵۵-۱۲۳۴",
    "ro": "vreau un test drive cu RAV4 mâine la ora 11 la Tel Aviv, mă numesc Dana, 052-555-1234",
}


@pytest.mark.parametrize("language", ONE_MESSAGE)
def test_one_message_carries_every_detail(dealer: Profile, language: str) -> None:
    found = details.read(
        dealer, ONE_MESSAGE[language], [], language, NOW, timezone="Asia/Jerusalem"
    )
    assert found.product is not None and found.product.id == "rav4"
    assert found.branch is not None and found.branch.id == "tel_aviv"
    assert found.when == TUESDAY_11
    assert found.phone == "+972525551234"
    assert found.name in {"Dana", "דנה", "دانا"}


def test_rasa_entities_and_button_payloads_come_first(dealer: Profile) -> None:
    entities = [
        {"entity": "product", "value": "tucson"},
        {"entity": "when", "value": TUESDAY_11.isoformat()},
        {"entity": "email", "value": "Dana@Example.com"},
    ]
    found = details.read(dealer, "/inform", entities, "en", NOW, timezone="Asia/Jerusalem")
    assert (found.product and found.product.id, found.when, found.email) == (
        "tucson",
        TUESDAY_11,
        "dana@example.com",
    )


def test_a_day_without_a_time_and_a_time_without_a_day(dealer: Profile) -> None:
    thursday = details.read(dealer, "thursday", [], "en", NOW, timezone="Asia/Jerusalem")
    assert thursday.day_only and thursday.has_day and thursday.when is not None
    assert thursday.when.weekday() == 3
    five = details.read(dealer, "at 5", [], "en", NOW, timezone="Asia/Jerusalem")
    assert five.when is not None and five.when.hour == 17 and not five.has_day


def test_names_only_from_clear_phrases_or_when_asked(dealer: Profile) -> None:
    def name(text: str, asked: str | None = None) -> str | None:
        return details.read(
            dealer, text, [], "en", NOW, timezone="Asia/Jerusalem", asked=asked
        ).name

    assert name("I'm interested in the corolla") is None
    assert name("my name is Yossi Levi") == "Yossi Levi"
    assert name("Dana Cohen", asked="name") == "Dana Cohen"
    assert name("Dana Cohen") is None  # not asked: could be anything
    assert name("אני רוצה נסיעת מבחן") is None


def test_a_broken_phone_number_is_noticed(dealer: Profile) -> None:
    found = details.read(dealer, "05255", [], "he", NOW, timezone="Asia/Jerusalem")
    assert found.phone is None and not found.contact_attempt
    found = details.read(dealer, "0525551", [], "he", NOW, timezone="Asia/Jerusalem")
    assert found.phone is None and found.contact_attempt
    found = details.read(dealer, "dana@", [], "en", NOW, timezone="Asia/Jerusalem")
    assert found.email is None and found.contact_attempt


KINDS = [
    ("how much is the hybrid?", "hybrid"),
    ("כמה עולה ההיברידית?", "hybrid"),  # the article in front, the feminine ending
    ("بكم الهايبرد", "hybrid"),
    ("قیمت ماشین هیبریدی چنده", "hybrid"),
    ("cat costa hibridul?", "hybrid"),  # Romanian's article at the end
    ("do u have anything electric", "electric"),
    ("יש לכם משהו חשמלי", "electric"),
    ("عندكم سيارة كهربائية؟", "electric"),
    ("ماشین برقی دارید", "electric"),
    ("aveți ceva electric?", "electric"),
    ("which SUV is the cheapest", "suv"),
    ("looking for a family car with a big boot", "family"),
]


@pytest.mark.parametrize(("text", "kind"), KINDS)
def test_a_kind_of_car_is_read_in_every_language(dealer: Profile, text: str, kind: str) -> None:
    found = details.kind_named(dealer, text)
    assert found is not None and found.id == kind


@pytest.mark.parametrize("text", ["every car you have", "what's the evening like", "hi"])
def test_short_aliases_match_whole_words_only(dealer: Profile, text: str) -> None:
    assert details.kind_named(dealer, text) is None  # "ev" is not in "every" nor "evening"


def test_a_kind_with_one_product_is_that_product_for_a_booking(dealer: Profile) -> None:
    found = details.read(dealer, "test drive the electric one tomorrow at 11", [], "en", NOW,
                         timezone="Asia/Jerusalem")  # fmt: skip
    assert found.product is not None and found.product.id == "id4"
    several = details.read(dealer, "test drive a hybrid", [], "en", NOW, timezone="Asia/Jerusalem")
    assert several.product is None  # Corolla or RAV4: the form asks which
