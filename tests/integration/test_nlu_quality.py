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

FLOORS = {  # language: (accuracy, macro-F1): measured 2026-12-07 minus ~0.03
    "en": (0.90, 0.90),
    "he": (0.92, 0.92),
    "ar": (0.87, 0.88),
    "fa": (0.90, 0.90),
    "ro": (0.88, 0.88),
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
