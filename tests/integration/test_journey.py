"""A prospect through all five journey stages, and back once, in each language."""

import pytest

from bot.content.catalog import Catalog
from bot.content.profile import load_profile
from bot.conversation.wording import NEXT_STEP_PAYLOAD
from tests.conftest import RunningBot

pytestmark = pytest.mark.integration

# (message, intent it should be understood as, stage afterwards)
JOURNEYS = {
    "en": [
        ("hello", "greet", "awareness"),
        ("what does your company do", "ask_company", "awareness"),
        ("how much is the Tucson", "ask_price", "consideration"),
        ("i want to book a test drive", "book_appointment", "decision"),
        ("which is better the RAV4 or the Tucson", "compare_products", "consideration"),
        ("any deals this month", "ask_promotions", "decision"),
        ("how long is the warranty on my car", "ask_warranty", "retention"),
        ("i love my new car, great experience", "give_feedback", "advocacy"),
    ],
    "he": [
        ("שלום", "greet", "awareness"),
        ("מה החברה שלכם עושה", "ask_company", "awareness"),
        ("כמה עולה Tucson", "ask_price", "consideration"),
        ("אני רוצה לקבוע נסיעת מבחן", "book_appointment", "decision"),
        ("מה עדיף RAV4 או Tucson", "compare_products", "consideration"),
        ("יש מבצעים החודש", "ask_promotions", "decision"),
        ("כמה זמן האחריות על הרכב שלי", "ask_warranty", "retention"),
        ("אני מאוד מרוצה מהרכב, חוויה מעולה", "give_feedback", "advocacy"),
    ],
    "ar": [
        ("مرحبا", "greet", "awareness"),
        ("شو بتعمل شركتكم", "ask_company", "awareness"),
        ("كم سعر Tucson", "ask_price", "consideration"),
        ("بدي احجز تجربة قيادة", "book_appointment", "decision"),
        ("ايهما افضل RAV4 ولا Tucson", "compare_products", "consideration"),
        ("في عروض هالشهر", "ask_promotions", "decision"),
        ("كم مدة الضمان على سيارتي", "ask_warranty", "retention"),
        ("انا مبسوط كتير من السيارة، تجربة رائعة", "give_feedback", "advocacy"),
    ],
    "fa": [
        ("سلام وقت بخیر", "greet", "awareness"),
        ("شرکت شما چیکار میکنه", "ask_company", "awareness"),
        ("قیمت Tucson چنده", "ask_price", "consideration"),
        ("میخوام تست درایو رزرو کنم", "book_appointment", "decision"),
        ("RAV4 بهتره یا Tucson", "compare_products", "consideration"),
        ("این ماه تخفیف دارین", "ask_promotions", "decision"),
        ("گارانتی ماشینم چند ساله", "ask_warranty", "retention"),
        ("از ماشینم خیلی راضیم، تجربه عالی بود", "give_feedback", "advocacy"),
    ],
    "ro": [
        ("buna ziua", "greet", "awareness"),
        ("cu ce se ocupa firma voastra", "ask_company", "awareness"),
        ("cat costa Tucson", "ask_price", "consideration"),
        ("vreau sa programez un test drive", "book_appointment", "decision"),
        ("care e mai bun RAV4 sau Tucson", "compare_products", "consideration"),
        ("aveti oferte luna asta", "ask_promotions", "decision"),
        ("cat e garantia la masina mea", "ask_warranty", "retention"),
        ("sunt foarte multumit de masina, experienta super", "give_feedback", "advocacy"),
    ],
}


@pytest.mark.parametrize("language", JOURNEYS)
async def test_all_five_stages_and_a_step_back(bot: RunningBot, language: str) -> None:
    catalog = Catalog.load(load_profile(bot.settings.business_profile), "en")
    sender = f"journey-{language}"
    stage_before = "awareness"
    for text, intent, stage in JOURNEYS[language]:
        reply = await bot.chat(sender, text)

        assert (reply["language"], reply["stage"]) == (language, stage), text
        first = reply["replies"][0]["text"]
        buttons = reply["replies"][0]["buttons"]
        if intent == "book_appointment":  # the booking form starts: which model?
            assert first == catalog.render("booking.ask_product", language), text
            assert buttons[0]["payload"] == '/inform{"product": "corolla"}'
            stage_before = stage
            continue
        if intent != "greet":
            product = "Tucson" if "Tucson" in text else None
            expected = catalog.render(intent, language, stage_before, product=product)
            assert first == expected, f"{text!r} was not answered as {intent}"
        assert buttons[-1]["payload"] == NEXT_STEP_PAYLOAD[stage]
        assert buttons[-1]["title"] == catalog.render(f"next_step.{stage}", language)
        stage_before = stage

    lead = await bot.lead(reply["lead_id"])
    moves = [
        (t["data"]["from"], t["data"]["to"])
        for t in lead["touchpoints"]
        if t["kind"] == "stage_change"
    ]
    assert moves == [
        ("awareness", "consideration"),
        ("consideration", "decision"),
        ("decision", "consideration"),
        ("consideration", "decision"),
        ("decision", "retention"),
        ("retention", "advocacy"),
    ]
    inbound = [t for t in lead["touchpoints"] if t["direction"] == "in"]
    assert [t["intent"] for t in inbound] == [intent for _, intent, _ in JOURNEYS[language]]
    assert {t["language"] for t in inbound} == {language}
    # praise is a natural moment to ask, once, how they heard about us
    assert reply["replies"][-1]["text"] == catalog.render("source_question", language)
    assert reply["replies"][-1]["buttons"][0]["payload"] == "source:instagram"


async def test_score_reasons_and_source_are_in_the_lead(bot: RunningBot) -> None:
    sender = "journey-score"
    await bot.chat(sender, "hi", language="en")
    await bot.chat(sender, "how much is the RAV4")
    reply = await bot.chat(sender, "I'm Dana, 052-555-1234, dana@example.com")
    picked = await bot.chat(sender, "source:instagram")

    lead = await bot.lead(reply["lead_id"])
    assert (lead["name"], lead["phone"], lead["email"]) == (
        "Dana",
        "+972525551234",
        "dana@example.com",
    )
    assert reply["replies"][0]["text"].startswith("Thanks, noted: Dana, +972525551234")
    reasons = {r["reason"]: r["points"] for r in lead["score_reasons"]}
    assert reasons == {
        "shared a phone number": 15,
        "shared an email": 10,
        "shared their name": 5,
        "asked about prices": 5,
    }
    assert lead["score"] == 35 and lead["zombie"] is False
    assert (
        lead["source"] == "instagram" and picked["replies"][0]["text"] == "Thanks for telling us!"
    )


async def test_the_language_follows_a_switch_mid_chat(bot: RunningBot) -> None:
    first = await bot.chat("journey-switch", "how much is the Corolla")
    switched = await bot.chat("journey-switch", "buna, as vrea sa stiu cat costa Tucson")
    assert (first["language"], switched["language"]) == ("en", "ro")
    assert switched["replies"][0]["text"].startswith("Iată prețurile actuale")
