"""Journey stage rules: forward, back, and staying put."""

import pytest

from bot.crm.journey import STAGE_BY_INTENT, STAGES, stage_after


@pytest.mark.parametrize(
    ("current", "intent", "expected"),
    [
        ("awareness", "ask_price", "consideration"),
        ("awareness", "ask_product_info", "awareness"),
        ("consideration", "book_appointment", "decision"),
        ("decision", "compare_products", "consideration"),  # comparing again: a step back
        ("decision", "ask_reviews", "consideration"),
        ("decision", "ask_price", "decision"),  # the price is part of deciding
        ("decision", "ask_financing", "decision"),
        ("decision", "ask_product_info", "decision"),
        ("decision", "ask_warranty", "retention"),
        ("retention", "give_feedback", "advocacy"),
        ("advocacy", "ask_price", "consideration"),  # a customer's next purchase
        ("advocacy", "greet", "advocacy"),
        ("retention", None, "retention"),
    ],
)
def test_stage_after(current: str, intent: str | None, expected: str) -> None:
    assert stage_after(current, intent) == expected


def test_the_intent_rules_reach_every_stage_but_the_starting_one() -> None:
    """Awareness is where leads start; no question sends a lead back there."""
    assert set(STAGES) - set(STAGE_BY_INTENT.values()) == {"awareness"}
