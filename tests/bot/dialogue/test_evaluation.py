"""The NLU figures that `make eval` and the quality guard report."""

from pathlib import Path

import pytest

from bot.dialogue.evaluation import (
    Scored,
    annotated,
    cutoff_table,
    cutoffs,
    entity_figures,
    figures,
    load_examples,
    plain,
)


def test_annotations_are_removed_from_examples() -> None:
    assert plain("how much is the [Tucson](product)") == "how much is the Tucson"
    assert plain('[corola]{"entity": "product", "value": "Corolla"} price') == "corola price"


def test_annotations_are_the_entities_expected() -> None:
    example = 'the [Tucson](product) on [Vineri]{"entity": "time", "value": "friday"}'
    assert annotated(example) == {("product", "tucson"), ("time", "vineri")}
    assert annotated("[Dana](name:Dana) here") == {("name", "dana")}
    assert annotated("no entity here") == frozenset()


def test_entity_figures_count_type_and_words() -> None:
    tucson, friday = ("product", "tucson"), ("time", "friday")
    pairs = [
        (frozenset({tucson, friday}), frozenset({tucson})),  # one missed
        (
            frozenset({tucson}),
            frozenset({("branch", "tucson")}),
        ),  # wrong type: a miss and a false find
        (frozenset(), frozenset()),
    ]
    found = entity_figures(pairs)
    assert (found.expected, round(found.precision, 3), round(found.recall, 3)) == (3, 0.5, 0.333)
    assert round(found.f1, 3) == 0.4
    assert entity_figures([]).f1 == 0.0


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


def test_the_fallbacks_trade_off_counts_what_each_setting_catches_and_hides() -> None:
    scored = [
        Scored("ask_price", "ask_price", 0.9, 0.8),  # sure and right
        Scored("ask_price", "ask_product_info", 0.3, 0.2),  # unsure and wrong
        Scored("greet", "greet", 0.32, 0.01),  # unsure and right, a near tie
        Scored("goodbye", "greet", 0.8, 0.7),  # sure and wrong: no threshold catches it
    ]
    loose, strict, ambiguous = cutoffs(scored, [(0.2, 0.0), (0.35, 0.0), (0.2, 0.05)])
    assert (loose.caught, loose.hidden, loose.wrong_left, loose.ratio) == (0, 0, 2, None)
    assert (strict.caught, strict.hidden, strict.wrong_left, strict.ratio) == (1, 1, 1, 1.0)
    assert (ambiguous.caught, ambiguous.hidden) == (0, 1)  # the tie falls back, the right one
    assert cutoff_table([strict], 4).splitlines()[1].split() == [
        "0.35",
        "0.00",
        "1",
        "1",
        "1.0",
        "1",
        "0.500",
    ]
