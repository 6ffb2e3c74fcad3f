"""How the app starts Rasa (rasa_channel/serve.py), in Rasa's own venv: the trained
model loaded without tracing a training step, ready to predict as configured."""

import json
import subprocess

import pytest

from bot.settings import PROJECT_DIR

pytestmark = pytest.mark.integration

SCRIPT = """
import asyncio, json, sys
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel
from rasa_channel.serve import load_models_without_tracing_training

load_models_without_tracing_training()
loaded = []
load = RasaModel.load.__func__
def spying(cls, *args, **kwargs):
    model = load(cls, *args, **kwargs)
    loaded.append(model)
    return model
RasaModel.load = classmethod(spying)
agent = Agent.load(sys.argv[1])
parsed = asyncio.run(agent.parse_message("book a test drive of the corolla tomorrow at 10"))
print(json.dumps({
    "models": sorted(type(m).__name__ for m in loaded),
    "eager": [bool(m.run_eagerly) for m in loaded],
    "traced": [m._tf_predict_step is not None for m in loaded],
    "intent": parsed["intent"]["name"],
    "entities": sorted(e["entity"] for e in parsed["entities"]),
}))
"""


def test_the_served_model_loads_untraced_and_predicts_through_its_graphs() -> None:
    python = PROJECT_DIR / ".venv-rasa" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", SCRIPT, str(PROJECT_DIR / "models" / "current.tar.gz")],
        capture_output=True, text=True, check=True, cwd=PROJECT_DIR, timeout=300,
        env={"PYTHONPATH": str(PROJECT_DIR), "PATH": "/usr/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["models"] == ["DIET", "TED"]  # both loaded through the replacement
    assert found["eager"] == [False, False]  # predictions as config.yml says: graphs
    assert found["traced"] == [True, True]  # traced at load, not at the first prospect
    assert found["intent"] == "book_appointment"
    assert {"product", "time"} <= set(found["entities"])
