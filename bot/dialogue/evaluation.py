"""NLU quality figures: accuracy, macro-F1 and the most confused intents, per language,
and how well the entities are found.

Used by ``make eval`` (on Rasa's own test output) and by the regression test
(on the running server's parses), so both report the same numbers.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain(example: str) -> str:
    """'how much is the [Tucson](product)' -> 'how much is the Tucson'."""
    return ANNOTATION.sub(r"\1", example).strip()


Entity = tuple[str, str]  # (entity type, the words as written, casefolded)


def annotated(example: str) -> frozenset[Entity]:
    """'the [Tucson](product) on [friday]{"entity": "time"}' -> {(product, tucson),
    (time, friday)}: what an entity extractor should find in the plain text."""
    found = set()
    for match in ANNOTATION.finditer(example):
        label = match.group(0)[len(match.group(1)) + 2 :]
        if label.startswith("{"):
            kind = str(json.loads(label).get("entity", ""))
        else:
            kind = label[1:-1].split(":")[0]
        found.add((kind, match.group(1).casefold()))
    return frozenset(found)


def annotated_examples(path: Path) -> list[tuple[str, str, frozenset[Entity]]]:
    """(plain text, intent, entities) of each example of a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            if line.strip().startswith("- "):
                example = line.strip()[2:]
                examples.append((plain(example), block["intent"], annotated(example)))
    return examples


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file, annotations removed."""
    return [(text, intent) for text, intent, _ in annotated_examples(path)]


@dataclass(frozen=True)
class EntityFigures:
    precision: float
    recall: float
    f1: float
    expected: int


def entity_figures(pairs: list[tuple[frozenset[Entity], frozenset[Entity]]]) -> EntityFigures:
    """Micro-averaged over (expected, found) per example: an entity counts when its type
    and its words match."""
    hits = sum(len(expected & found) for expected, found in pairs)
    expected = sum(len(e) for e, _ in pairs)
    found = sum(len(f) for _, f in pairs)
    precision = hits / found if found else 0.0
    recall = hits / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EntityFigures(precision, recall, f1, expected)


@dataclass(frozen=True)
class Figures:
    examples: int
    accuracy: float
    macro_f1: float
    confused: list[tuple[str, str, int]]  # (true, predicted, count), most frequent first


def figures(pairs: list[tuple[str, str | None]], top: int = 5) -> Figures:
    """Figures for (true intent, predicted intent) pairs; a fallback counts as wrong."""
    if not pairs:
        return Figures(0, 0.0, 0.0, [])
    correct = sum(1 for truth, guess in pairs if truth == guess)
    scores = []
    for intent in sorted({truth for truth, _ in pairs}):
        tp = sum(1 for t, g in pairs if t == intent and g == intent)
        fp = sum(1 for t, g in pairs if t != intent and g == intent)
        fn = sum(1 for t, g in pairs if t == intent and g != intent)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    mistakes = Counter((t, str(g)) for t, g in pairs if t != g)
    return Figures(
        examples=len(pairs),
        accuracy=correct / len(pairs),
        macro_f1=sum(scores) / len(scores),
        confused=[(t, g, n) for (t, g), n in mistakes.most_common(top)],
    )


def table(rows: dict[str, Figures]) -> str:
    lines = [f"{'language':<10}{'examples':>9}{'accuracy':>10}{'macro-F1':>10}"]
    lines += [
        f"{name:<10}{f.examples:>9}{f.accuracy:>10.3f}{f.macro_f1:>10.3f}"
        for name, f in rows.items()
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Cutoff:
    """What the fallback's thresholds do on a labelled set: answers below ``threshold``,
    or whose runner-up is within ``ambiguity``, become "sorry, I didn't get that" (a
    wrong answer caught, or a right one hidden)."""

    threshold: float
    ambiguity: float
    caught: int  # wrong answers turned into a fallback
    hidden: int  # right answers turned into a fallback
    wrong_left: int  # wrong answers still given

    @property
    def ratio(self) -> float | None:
        """Wrong answers caught for each right one hidden."""
        return self.caught / self.hidden if self.hidden else None


@dataclass(frozen=True)
class Scored:
    """One labelled example as the classifier saw it."""

    truth: str
    best: str | None
    confidence: float
    margin: float  # over the runner-up

    def falls_back(self, threshold: float, ambiguity: float) -> bool:
        """What Rasa's FallbackClassifier decides with these two settings."""
        return self.confidence < threshold or self.margin < ambiguity


def cutoffs(scored: list[Scored], settings: list[tuple[float, float]]) -> list[Cutoff]:
    """Each (threshold, ambiguity) applied to the same examples."""
    result = []
    for threshold, ambiguity in settings:
        falls = [s for s in scored if s.falls_back(threshold, ambiguity)]
        kept = [s for s in scored if not s.falls_back(threshold, ambiguity)]
        result.append(Cutoff(
            threshold, ambiguity,
            caught=sum(1 for s in falls if s.truth != s.best),
            hidden=sum(1 for s in falls if s.truth == s.best),
            wrong_left=sum(1 for s in kept if s.truth != s.best),
        ))  # fmt: skip
    return result


def cutoff_table(rows: list[Cutoff], examples: int) -> str:
    lines = [f"{'threshold':<10}{'ambiguity':>10}{'caught':>8}{'hidden':>8}{'ratio':>7}"
             f"{'wrong left':>12}{'fallback':>10}"]  # fmt: skip
    for row in rows:
        ratio = f"{row.ratio:.1f}" if row.ratio is not None else "-"
        share = (row.caught + row.hidden) / examples if examples else 0.0
        lines.append(f"{row.threshold:<10.2f}{row.ambiguity:>10.2f}{row.caught:>8}"
                     f"{row.hidden:>8}{ratio:>7}{row.wrong_left:>12}{share:>10.3f}")  # fmt: skip
    return "\n".join(lines)
