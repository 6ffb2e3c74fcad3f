"""The e5 sentence featurizer (rasa_channel/sentence_embeddings.py) in Rasa's own venv:
the features it adds to a message, and that they carry meaning across languages."""

import json
import subprocess

import pytest

from bot.settings import PROJECT_DIR

pytestmark = pytest.mark.integration

SCRIPT = """
import json, sys
import numpy as np
from rasa.shared.nlu.training_data.message import Message
from rasa_channel.sentence_embeddings import E5SentenceFeaturizer

config = {**E5SentenceFeaturizer.get_default_config(), "scale": 10.0}
featurizer = E5SentenceFeaturizer(config, "e5")
texts = json.loads(sys.argv[1])
messages = featurizer.process([Message(data={"text": t}) for t in texts] + [Message(data={})])
vectors = []
for message in messages[:-1]:
    _, sentence = message.get_dense_features("text")
    vectors.append(sentence.features.tolist())
refused = []
for bad in ({"scale": 0}, {"threads": -1}):
    try:
        E5SentenceFeaturizer.validate_config(bad)
    except ValueError:
        refused.append(bad)
from threadpoolctl import threadpool_info
openmp = lambda: sorted({pool["num_threads"] for pool in threadpool_info()
                         if pool["user_api"] == "openmp"})
given = openmp()  # OMP_NUM_THREADS=2, as the app gives a Rasa process two cores
E5SentenceFeaturizer({**config, "threads": 1}, "e5").process([Message(data={"text": "hi"})])
print(json.dumps({"vectors": vectors, "refused": len(refused),
                  "untouched": messages[-1].features == [], "threads": [given, openmp()]}))
"""


def featurize(texts: list[str]) -> dict:  # type: ignore[type-arg]
    python = PROJECT_DIR / ".venv-rasa" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", SCRIPT, json.dumps(texts)], capture_output=True, text=True,
        check=True, cwd=PROJECT_DIR,
        env={"PYTHONPATH": str(PROJECT_DIR), "PATH": "/usr/bin", "OMP_NUM_THREADS": "2"},
        timeout=120,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_one_scaled_sentence_feature_per_message_that_carries_its_meaning() -> None:
    texts = ["how much is the hybrid?", "what does the hybrid cost",
             "what time do you close on friday", "כמה עולה ההיברידי?",
             "באיזו שעה אתם סוגרים ביום שישי"]  # fmt: skip
    found = featurize(texts)
    vectors = [v[0] for v in found["vectors"]]
    assert all(len(v) == 1 and len(v[0]) == 384 for v in found["vectors"])  # one, 384 wide
    assert abs(sum(x * x for x in vectors[0]) ** 0.5 - 10.0) < 1e-3  # unit length x scale

    def cosine(a: int, b: int) -> float:
        return sum(x * y for x, y in zip(vectors[a], vectors[b], strict=True)) / 100.0

    assert cosine(0, 1) > cosine(0, 2)  # a paraphrase is nearer than another question
    assert cosine(0, 3) > cosine(0, 4)  # and so is the same question in Hebrew
    assert found["untouched"]  # no text: no feature
    assert found["refused"] == 2  # scale 0 and threads -1: refused
    # threads 0: OpenMP's own (the environment's); a number: that many, set at load
    assert found["threads"] == [[2], [1]]
