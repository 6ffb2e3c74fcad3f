"""`make eval`: how well the Rasa model understands each language.

1. Held-out test sets (tests/nlu/<language>.yml, never used for training),
   run through `rasa test nlu` on the trained model.
2. Rasa's NLU cross-validation over the training data (nlu/), folds trained
   from scratch (slow: a few minutes per fold).
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

from bot.dialogue.evaluation import Figures, figures, load_examples, table
from bot.settings import PROJECT_DIR

RASA = PROJECT_DIR / ".venv-rasa" / "bin" / "rasa"
RESULTS = PROJECT_DIR / "results"


def rasa_test(args: list[str], out: Path) -> list[tuple[str, str, str | None]]:
    """Run `rasa test nlu`; return (text, true intent, predicted intent) for every example."""
    env = os.environ | {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [str(RASA), "test", "nlu", *args, "--out", str(out), "--successes", "--no-plot"]
    subprocess.run(command, check=True, cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        for item in json.loads(path.read_text()) if path.exists() else []:
            rows.append((item["text"], item["intent"], item["intent_prediction"]["name"]))
    return rows


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--skip-cv", action="store_true")
    options = parser.parse_args()

    held_out = {text: path.stem for path in sorted((PROJECT_DIR / "tests/nlu").glob("*.yml"))
                for text, _ in load_examples(path)}  # fmt: skip
    started = time.monotonic()
    rows = rasa_test(
        ["--nlu", "tests/nlu", "--model", "models/current.tar.gz"], RESULTS / "held-out"
    )
    report(
        f"held-out test sets (tests/nlu/, {time.monotonic() - started:.0f} s)",
        by_language(rows, held_out),
    )
    if options.skip_cv:
        return
    training = {text: path.stem for path in sorted((PROJECT_DIR / "nlu").glob("*.yml"))
                for text, _ in load_examples(path)}  # fmt: skip
    started = time.monotonic()
    rows = rasa_test(
        ["--nlu", "nlu", "--config", "config.yml", "--cross-validation",
         "--folds", str(options.folds)],
        RESULTS / "cross-validation",
    )  # fmt: skip
    report(
        f"{options.folds}-fold cross-validation over nlu/ ({time.monotonic() - started:.0f} s)",
        by_language(rows, training),
    )


if __name__ == "__main__":
    sys.exit(main())
