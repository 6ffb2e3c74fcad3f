"""`make eval`: how well the Rasa model understands each language.

1. Held-out test sets (tests/nlu/<language>.yml, never used for training),
   parsed with the trained model (rasa_channel/parse_examples.py), scored as the
   live guard scores them: the classifier's best intent, a fallback counting as
   the intent it fell back from; then what each fallback threshold would do.
2. Rasa's NLU cross-validation over the training data (nlu/), folds trained
   from scratch without DIET, which only finds entities (a few minutes per fold).
Prints intent accuracy and macro-F1 per language and the most confused pairs.

    .venv/bin/python tools/eval_nlu.py [--folds 3] [--skip-cv]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bot.dialogue.evaluation import (
    Entity,
    Figures,
    Scored,
    annotated_examples,
    cutoff_table,
    cutoffs,
    entity_figures,
    figures,
    load_examples,
    table,
)
from bot.settings import PROJECT_DIR

RASA = PROJECT_DIR / ".venv-rasa" / "bin" / "rasa"
RESULTS = PROJECT_DIR / "results"
MODEL = PROJECT_DIR / "models" / "current.tar.gz"


def rasa_test(args: list[str], out: Path) -> list[tuple[str, str, str | None]]:
    """Run `rasa test nlu`; return (text, true intent, predicted intent) for every example."""
    env = os.environ | {
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(PROJECT_DIR),
    }  # config.yml's rasa_channel featurizer
    command = [str(RASA), "test", "nlu", *args, "--out", str(out), "--successes", "--no-plot"]
    subprocess.run(command, check=True, cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        for item in json.loads(path.read_text()) if path.exists() else []:
            rows.append((item["text"], item["intent"], item["intent_prediction"]["name"]))
    return rows


def parse(texts: list[str], model: Path) -> dict[str, Any]:
    """Each text's intent ranking (no nlu_fallback) from the trained model, with the
    milliseconds per parse and the parsing process's peak memory."""
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(PROJECT_DIR)}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "held-out-parses.json"
    subprocess.run(  # noqa: S603
        [str(RASA.parent / "python"), "-m", "rasa_channel.parse_examples", str(model), str(out)],
        input=json.dumps(texts), text=True, check=True, cwd=PROJECT_DIR, env=env,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def held_out(model: Path) -> None:
    """Held-out figures per language, the fallback threshold's trade-off, the costs."""
    started = time.monotonic()
    annotated = [(text, intent, entities, path.stem)
                 for path in sorted((PROJECT_DIR / "tests/nlu").glob("*.yml"))
                 for text, intent, entities in annotated_examples(path)]  # fmt: skip
    examples = [(text, intent, language) for text, intent, _, language in annotated]
    parsed = parse([text for text, _, _ in examples], model)
    rankings = parsed["rankings"]
    scored = [scored_of(intent, ranking)
              for (_, intent, _), ranking in zip(examples, rankings, strict=True)]  # fmt: skip
    per: dict[str, list[tuple[str, str | None]]] = {}
    for (_, _, language), one in zip(examples, scored, strict=True):
        per.setdefault(language, []).append((one.truth, one.best))
    rows = {language: figures(pairs) for language, pairs in sorted(per.items())}
    rows["all"] = figures([(s.truth, s.best) for s in scored])
    report(f"held-out test sets (tests/nlu/, {time.monotonic() - started:.0f} s)", rows)
    entities(annotated, parsed["entities"])
    settings = [(t, a) for t in (0.3, 0.35, 0.4, 0.5, 0.6) for a in (0.0, 0.05, 0.1)]
    print(f"\nthe fallback on the held-out sets (config.yml: {fallback_settings()}):")
    print(cutoff_table(cutoffs(scored, settings), len(scored)))
    took = sorted(parsed["milliseconds"])
    print(f"\ncosts: model {model.stat().st_size / 2**20:.1f} MiB; parse p50 "
          f"{took[len(took) // 2]:.1f} ms, p99 {took[int(len(took) * 0.99)]:.1f} ms (one at a "
          f"time, {len(took)} parses); peak memory with the model loaded "
          f"{parsed['peak_mb']:.0f} MiB")  # fmt: skip


def entities(
    annotated: list[tuple[str, str, frozenset[Entity], str]], found: list[list[list[str]]]
) -> None:
    """DIET's entities on the held-out sets, per language (the annotated examples)."""
    per: dict[str, list[tuple[frozenset[Entity], frozenset[Entity]]]] = {}
    for (_, _, expected, language), got in zip(annotated, found, strict=True):
        pair = (expected, frozenset((kind, words.casefold()) for kind, words in got))
        per.setdefault(language, []).append(pair)
    per["all"] = [pair for pairs in per.values() for pair in pairs]
    print("\nentities on the held-out sets (type and words must match):")
    print(f"{'language':<10}{'entities':>9}{'precision':>10}{'recall':>8}{'F1':>7}")
    for language, pairs in per.items():
        f = entity_figures(pairs)
        print(f"{language:<10}{f.expected:>9}{f.precision:>10.3f}{f.recall:>8.3f}{f.f1:>7.3f}")


def scored_of(truth: str, ranking: list[dict[str, Any]]) -> Scored:
    confidences = [float(r["confidence"]) for r in ranking] + [0.0, 0.0]
    best = str(ranking[0]["name"]) if ranking else None
    return Scored(truth, best, confidences[0], confidences[0] - confidences[1])


def fallback_settings() -> str:
    """The FallbackClassifier's thresholds as config.yml has them."""
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text(encoding="utf-8"))
    [fallback] = [c for c in config["pipeline"] if c["name"] == "FallbackClassifier"]
    return f"threshold {fallback['threshold']}, ambiguity {fallback['ambiguity_threshold']}"


def by_language(
    rows: list[tuple[str, str, str | None]], languages: dict[str, str]
) -> dict[str, Figures]:
    per: dict[str, list[tuple[str, str | None]]] = {}
    for text, truth, guess in rows:
        per.setdefault(languages.get(text, "?"), []).append((truth, guess))
    result = {lang: figures(pairs) for lang, pairs in sorted(per.items())}
    result["all"] = figures([(t, g) for _, t, g in rows])
    return result


def report(title: str, rows: dict[str, Figures]) -> None:
    print(f"\n{title}\n{table(rows)}")
    print("most confused (true -> predicted: count):")
    for truth, guess, count in rows["all"].confused:
        print(f"  {truth} -> {guess}: {count}")


def intents_only_config() -> Path:
    """config.yml without DIET: the folds score intents, which the logistic regression
    predicts; DIET only finds entities and was most of a fold's training time."""
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text(encoding="utf-8"))
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "DIETClassifier"]
    path = RESULTS / "cross-validation-config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--model", type=Path, default=MODEL, help="a trained model to score")
    options = parser.parse_args()

    held_out(options.model)
    if options.skip_cv:
        return
    training = {text: path.stem for path in sorted((PROJECT_DIR / "nlu").glob("*.yml"))
                for text, _ in load_examples(path)}  # fmt: skip
    started = time.monotonic()
    rows = rasa_test(
        ["--nlu", "nlu", "--config", str(intents_only_config()), "--cross-validation",
         "--folds", str(options.folds)],
        RESULTS / "cross-validation",
    )  # fmt: skip
    report(
        f"{options.folds}-fold cross-validation over nlu/ ({time.monotonic() - started:.0f} s)",
        by_language(rows, training),
    )


if __name__ == "__main__":
    sys.exit(main())
