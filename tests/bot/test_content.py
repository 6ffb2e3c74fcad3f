"""The catalog, journey rules and language choice."""

import pytest

from bot.catalog import Catalog
from bot.journey import stage_after
from bot.language import SUPPORTED_LANGUAGES, choose_language, normalise


def test_every_catalog_key_exists_in_every_language() -> None:
    catalog = Catalog.load("en")
    missing = {
        key: sorted(set(SUPPORTED_LANGUAGES) - catalog.languages(key))
        for key in catalog.entries
        if set(SUPPORTED_LANGUAGES) - catalog.languages(key)
    }
    assert missing == {}


def test_every_response_in_the_domain_names_a_catalog_key() -> None:
    import yaml

    from bot.settings import PROJECT_DIR

    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    keys = {
        variant["custom"]["key"]
        for variants in domain["responses"].values()
        for variant in variants
    }
    assert keys - set(Catalog.load("en").entries) == set()


def test_render_fills_placeholders_and_falls_back_to_the_default_language() -> None:
    catalog = Catalog({"k": {"en": "{n} cars"}}, default_language="en")
    assert catalog.render("k", "ro", n=3) == "3 cars"
    with pytest.raises(KeyError):
        catalog.render("unknown", "en")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("he-IL", "he"),
        ("iw", "he"),
        ("AR", "ar"),
        ("fa_IR", "fa"),
        ("ro", "ro"),
        ("de", None),
        ("", None),
    ],
)
def test_channel_language_hints_are_normalised(hint: str, expected: str | None) -> None:
    assert normalise(hint) == expected


def test_hint_beats_history_which_beats_the_default() -> None:
    assert choose_language("ar", "he", "en") == "ar"
    assert choose_language(None, "he", "en") == "he"
    assert choose_language("de", None, "en") == "en"


def test_stage_moves_both_ways_and_small_talk_keeps_it() -> None:
    assert stage_after("awareness", "ask_price") == "consideration"
    assert stage_after("consideration", "book_appointment") == "decision"
    assert stage_after("decision", "compare_products") == "consideration"
    assert stage_after("decision", "greet") == "decision"
    assert stage_after("retention", None) == "retention"
