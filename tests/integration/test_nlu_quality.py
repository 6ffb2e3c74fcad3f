"""Guards the model's understanding of each language against regressions.

Every held-out example (tests/nlu/<language>.yml, never trained on) goes
through the running server's parse. As in `make eval`, the classifier's best
intent is scored (a fallback below the confidence threshold counts as that
intent); the fallback rate is printed beside it. The floors sit a few points
under the figures measured when they were last set (see the README), so a
change to the training data or pipeline that hurts a language fails.
"""

from pathlib import Path

import pytest

from bot.dialogue.evaluation import figures, load_examples
from bot.settings import PROJECT_DIR
from handlers.context import RASA
from tests.conftest import RunningBot

pytestmark = pytest.mark.integration

# language: (accuracy, macro-F1). Training is seeded and the intent classifier is a
# deterministic fit, so a fresh `make train` gives the figures `make eval` printed
# (2026-12-07: ar 0.949, en 0.935, fa 0.928, he 0.949, ro 0.928): the floors are
# the 0.92 aimed at, and a language below it fails.
FLOORS = {
    "en": (0.92, 0.91),
    "he": (0.92, 0.91),
    "ar": (0.92, 0.91),
    "fa": (0.92, 0.91),
    "ro": (0.92, 0.91),
}


@pytest.mark.parametrize("language", FLOORS)
async def test_held_out_accuracy_per_language(bot: RunningBot, language: str) -> None:
    examples = load_examples(Path(PROJECT_DIR / "tests" / "nlu" / f"{language}.yml"))
    pairs, fallbacks = [], 0
    for text, intent in examples:
        parsed = await bot.app[RASA].parse(text)
        ranking = [r["name"] for r in parsed.get("intent_ranking") or []]
        fallbacks += ranking[:1] == ["nlu_fallback"]
        pairs.append((intent, next((r for r in ranking if r != "nlu_fallback"), None)))
    result = figures(pairs)
    print(
        f"{language}: accuracy {result.accuracy:.3f}, macro-F1 {result.macro_f1:.3f}, "
        f"fallback {fallbacks / len(examples):.3f}"
    )
    accuracy, macro_f1 = FLOORS[language]
    assert result.accuracy >= accuracy, result.confused
    assert result.macro_f1 >= macro_f1, result.confused
