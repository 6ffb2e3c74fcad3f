"""Choosing the reply language: hints, history and the detector."""

import pytest

from bot.conversation.language import LanguageChooser, normalise


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("כמה עולה RAV4?", "he"),
        ("كم سعر RAV4؟", "ar"),
        ("قیمت RAV4 چنده؟", "fa"),
        ("buna ziua, cat costa un Tucson?", "ro"),
        ("how much is the tucson", "en"),
    ],
)
def test_first_message_is_detected(languages: LanguageChooser, text: str, expected: str) -> None:
    assert languages.choose(text, None, None, "en") == expected


def test_short_ambiguous_messages_keep_the_known_language(languages: LanguageChooser) -> None:
    assert languages.choose("ok", None, "he", "en") == "he"
    assert languages.choose("052-555-1234", None, "fa", "en") == "fa"
    assert languages.choose("hi", "ro-RO", None, "en") == "ro"
    assert languages.choose("سلام", None, "ar", "en") == "ar"


def test_a_clear_switch_mid_chat_is_followed(languages: LanguageChooser) -> None:
    assert languages.choose("what does the RAV4 cost", None, "he", "en") == "en"
    assert languages.choose("multumesc frumos", None, "en", "en") == "ro"
    assert languages.choose("שלום", None, "en", "en") == "he"


def test_no_words_at_all_falls_back(languages: LanguageChooser) -> None:
    assert languages.choose("10", None, None, "en") == "en"
    assert languages.choose("👍", "ar", None, "en") == "ar"
