"""The content catalog, per business profile and language."""

import re

import pytest
import yaml

from bot.content.catalog import CONTENT_DIR, Catalog
from bot.content.profile import Profile, load_profile
from bot.conversation.language import SUPPORTED_LANGUAGES
from bot.settings import PROJECT_DIR

STAGED = re.compile(r"^(any|awareness|consideration|decision|retention|advocacy)$")


def english_keys(profile: Profile) -> dict[str, object]:
    entries: dict[str, object] = {}
    for folder in ("common", profile.id):
        entries |= yaml.safe_load((CONTENT_DIR / folder / "en.yml").read_text(encoding="utf-8"))
    return entries


def test_every_key_exists_in_every_language_for_every_profile(profile: Profile) -> None:
    catalog = Catalog.load(profile, "en")
    reference = english_keys(profile)
    for language in SUPPORTED_LANGUAGES:
        entries = catalog.entries[language]
        assert set(entries) == set(reference), f"{profile.id}/{language}"
        for key, value in reference.items():
            if isinstance(value, dict):
                assert isinstance(entries[key], dict), f"{profile.id}/{language}/{key}"
                assert set(entries[key]) == set(value), f"{profile.id}/{language}/{key}"  # type: ignore[arg-type]
                assert all(STAGED.match(stage) for stage in value)


def test_translations_use_the_same_placeholders(profile: Profile) -> None:
    catalog = Catalog.load(profile, "en")
    for key, value in english_keys(profile).items():
        stages = list(value) if isinstance(value, dict) else [None]
        for stage in stages:
            expected = catalog.placeholders(key, "en", stage)
            for language in SUPPORTED_LANGUAGES:
                assert catalog.placeholders(key, language, stage) == expected, (
                    f"{profile.id}/{language}/{key}/{stage}"
                )


def test_every_key_renders_in_every_language_and_stage(profile: Profile) -> None:
    catalog = Catalog.load(profile, "en")
    params = {
        "length": 5000, "limit": 4000, "details": "Dana", "name": "Dana", "branch": "Haifa",
        "address": "40 HaHistadrut Blvd", "when": "Tue 24.11, 11:00", "wanted": "Tue 24.11",
        "rep": "Noa", "opens": "Sunday 09:00", "id": 7, "reason": "asked for a person",
        "age": "12 min", "text": "Is the red one still there?", "days": 7,
    }  # fmt: skip
    for key in english_keys(profile):
        for language in SUPPORTED_LANGUAGES:
            for stage in ("awareness", "consideration", "decision", "retention", "advocacy"):
                text = catalog.render(key, language, stage, **params)
                assert text and "{" not in text, f"{profile.id}/{language}/{key}"


def test_every_domain_response_and_product_has_content(profile: Profile) -> None:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    keys = {v["custom"]["key"] for variants in domain["responses"].values() for v in variants}
    keys |= {f"features.{p.id}" for p in profile.products}
    keys |= {f"next_step.{stage}" for stage in ("awareness", "consideration", "decision")}
    assert keys - set(english_keys(profile)) == set()


def test_the_price_answer_depends_on_the_stage(dealer: Profile) -> None:
    catalog = Catalog.load(dealer, "en")
    awareness = catalog.render("ask_price", "en", "awareness", product="Tucson")
    decision = catalog.render("ask_price", "en", "decision", product="Tucson")
    retention = catalog.render("ask_price", "en", "retention", product="Tucson")

    assert "start at ₪139,900" in awareness and "learn" not in decision
    assert decision.startswith("The Tucson is ₪179,900.") and "free first-year service" in decision
    assert retention.startswith("Here are our current prices:\n• Corolla: ₪139,900")


def test_facts_follow_the_language(dealer: Profile) -> None:
    catalog = Catalog.load(dealer, "en")
    assert "Sun–Thu 09:00-19:00, Fri 09:00-13:00" in catalog.render("ask_location_hours", "en")
    assert "Dum–Joi 09:00-19:00, Vin 09:00-13:00" in catalog.render("ask_location_hours", "ro")
    assert "SUV complet electric" in catalog.render("ask_product_info", "ro", product="ID.4")


def test_missing_keys_raise_and_languages_fall_back(dealer: Profile) -> None:
    catalog = Catalog(dealer, {"en": {"k": "{business}"}, "ro": {}}, default_language="en")
    assert catalog.render("k", "ro") == "Carmel Motors"
    with pytest.raises(KeyError):
        catalog.render("unknown", "en")


def test_both_profiles_load_with_consistent_facts() -> None:
    for name in ("car_dealer", "software"):
        profile = load_profile(name)
        assert profile.product(profile.featured_product).id == profile.featured_product
        assert profile.product("no such thing").id == profile.featured_product
        assert profile.product("rav4" if name == "car_dealer" else "pulse crm").name in {
            "RAV4",
            "Pulse CRM",
        }


def test_a_kind_narrows_the_price_list_and_the_comparison(dealer: Profile) -> None:
    catalog = Catalog.load(dealer, "en")
    hybrids = catalog.render("ask_price", "en", "consideration", kind_products=["corolla", "rav4"])
    assert "• Corolla: ₪139,900\n• RAV4: ₪189,900\n" in hybrids and "Tucson" not in hybrids
    suvs = catalog.render("kind_models", "ro", kind_products=["rav4", "tucson"])
    assert "RAV4" in suvs and "Tucson" in suvs and "Corolla" not in suvs
    awareness = catalog.render("ask_price", "en", "awareness", kind_products=["rav4", "tucson"])
    assert "start at ₪179,900; the RAV4 is ₪189,900" in awareness  # the kind's cheapest


def test_a_kind_must_name_products_the_business_sells(dealer: Profile) -> None:
    data = dealer.model_dump() | {"kinds": [{"id": "van", "products": ["transit"],
                                             "aliases": ["van"]}]}  # fmt: skip
    with pytest.raises(ValueError, match="unknown products"):
        Profile.model_validate(data)
