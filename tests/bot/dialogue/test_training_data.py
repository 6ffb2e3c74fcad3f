"""The training data (nlu/) and the held-out sets (tests/nlu/) the figures are measured on.

A held-out example that is also a training example, even with other capitals,
accents, punctuation or spacing, or one a letter or a word away from one, would make
`make eval` and the live guard measure memory, not understanding; one sentence under
two intents teaches the model both.
"""

import difflib
import re
import unicodedata
from collections import defaultdict

import pytest

from bot.conversation.language import SUPPORTED_LANGUAGES
from bot.dialogue.evaluation import load_examples
from bot.settings import PROJECT_DIR

TRAINING = sorted((PROJECT_DIR / "nlu").glob("*.yml"))
HELD_OUT = {path.stem: path for path in sorted((PROJECT_DIR / "tests" / "nlu").glob("*.yml"))}


NEAR_COPY = 0.9  # difflib ratio; 0.8 would flag "i need to cancel" and "i have to cancel"


def folded(text: str) -> str:
    """The sentence with case, accents and vowel marks, punctuation and spacing set aside."""
    text = unicodedata.normalize("NFKD", text).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def training_examples() -> dict[str, set[str]]:
    """Each folded training sentence with the intents it is an example of."""
    intents: dict[str, set[str]] = defaultdict(set)
    for path in TRAINING:
        for text, intent in load_examples(path):
            intents[folded(text)].add(intent)
    return intents


def test_every_language_has_training_data_and_a_held_out_set() -> None:
    assert {p.stem for p in TRAINING} >= set(SUPPORTED_LANGUAGES)
    assert set(HELD_OUT) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_held_out_example_is_a_training_example(language: str) -> None:
    trained = training_examples()
    leaked = [text for text, _ in load_examples(HELD_OUT[language]) if folded(text) in trained]
    assert not leaked, f"{len(leaked)} held-out examples are also trained on: {leaked[:10]}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_no_held_out_example_is_a_near_copy_of_a_training_example(language: str) -> None:
    trained = {folded(text) for text, _ in load_examples(PROJECT_DIR / "nlu" / f"{language}.yml")}
    near = []
    for text, _ in load_examples(HELD_OUT[language]):
        matcher = difflib.SequenceMatcher(None, "", folded(text))
        for sentence in trained:
            matcher.set_seq1(sentence)  # the cheap upper bounds first: 7 s, not 70
            if (
                matcher.real_quick_ratio() >= NEAR_COPY
                and matcher.quick_ratio() >= NEAR_COPY
                and matcher.ratio() >= NEAR_COPY
            ):
                near.append(sentence)  # the training line to delete; the held-out one stays unseen
    assert not near, f"{len(near)} training lines nearly copy held-out examples: {near[:10]}"


def test_no_training_sentence_teaches_two_intents() -> None:
    both = {text: sorted(i) for text, i in training_examples().items() if len(i) > 1}
    assert not both, both


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_held_out_set_covers_every_intent_it_is_scored_on(language: str) -> None:
    trained = {intent for path in TRAINING for _, intent in load_examples(path)}
    held = {intent for _, intent in load_examples(HELD_OUT[language])}
    assert held <= trained, held - trained
