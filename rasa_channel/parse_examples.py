"""Parse sentences with a trained model, in Rasa's own venv, for `make eval`.

Reads a JSON list of texts on stdin and writes a JSON object to a file (Rasa and
TensorFlow print to stdout): for each
text the classifier's intent ranking (with nlu_fallback taken out) and the entities
found (type and words), so the app's
side can score the model as the live guard does and weigh the fallback threshold
(`rasa test nlu` keeps only the top prediction, and that is the fallback whenever
the classifier was unsure); and the costs: milliseconds per parse and the
process's peak memory with the model loaded.

    python -m rasa_channel.parse_examples models/current.tar.gz out.json < texts.json
"""

import asyncio
import json
import resource
import sys
import time
from typing import Any


async def parse_all(model: str, texts: list[str]) -> dict[str, Any]:
    from rasa.core.agent import Agent

    from rasa_channel.serve import load_models_without_tracing_training

    load_models_without_tracing_training()  # loads as the served model does, a minute sooner

    agent = Agent.load(model)
    rankings, entities, milliseconds = [], [], []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        milliseconds.append((time.perf_counter() - started) * 1000)
        ranking = parsed.get("intent_ranking") or []
        entities.append(
            [[e["entity"], text[e["start"] : e["end"]]] for e in parsed.get("entities") or []]
        )
        rankings.append(
            [
                {"name": r["name"], "confidence": float(r["confidence"])}
                for r in ranking
                if r["name"] != "nlu_fallback"
            ]
        )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rankings": rankings,
        "entities": entities,
        "milliseconds": milliseconds,
        "peak_mb": peak_kb / 1024,
    }


def main() -> None:
    texts = json.load(sys.stdin)
    result = asyncio.run(parse_all(sys.argv[1], texts))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(result, out, ensure_ascii=False)


if __name__ == "__main__":
    main()
