"""The NLU figures that `make eval` and the quality guard report."""

from pathlib import Path

import pytest

from bot.dialogue.evaluation import figures, load_examples, plain


def test_annotations_are_removed_from_examples() -> None:
    assert plain("how much is the [Tucson](product)") == "how much is the Tucson"
    assert plain('[corola]{"entity": "product", "value": "Corolla"} price') == "corola price"


def test_examples_are_read_from_rasa_yaml(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n      - '
        "[Dana](name) here\n  - regex: phone\n    examples: |\n      - \\d+\n",
        encoding="utf-8",
    )
    assert load_examples(path) == [("hi", "greet"), ("Dana here", "greet")]


def test_accuracy_macro_f1_and_confusions() -> None:
    pairs: list[tuple[str, str | None]] = [
        ("greet", "greet"),
        ("greet", "goodbye"),
        ("goodbye", "goodbye"),
        ("goodbye", "goodbye"),
    ]
    result = figures(pairs)
    assert result.accuracy == 0.75
    # greet: precision 1, recall 0.5 -> F1 2/3; goodbye: precision 2/3, recall 1 -> F1 0.8
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert result.confused == [("greet", "goodbye", 1)]
    assert figures([]).examples == 0
