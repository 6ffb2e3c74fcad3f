"""Start ``rasa run`` with its API token taken from the environment.

Rasa reads its token only from ``--auth-token``, and a command line is
readable by every user of the machine (``ps``). The app's process manager
starts Rasa through this module instead, with ``RASA_TOKEN`` in the
environment; the token is added to Rasa's own argument list inside the
process, so it never appears on a command line. Usage is that of
``rasa run``: ``python -m rasa_channel.serve run --enable-api ...``.

Rasa dies with the app: started by the app (``RASA_PARENT_PID``), it asks the
kernel for SIGTERM when its parent goes, so an app killed with SIGKILL leaves
no orphan Rasa holding the port.

Rasa checks every custom action's answer against a JSON schema with
``jsonschema.validate``, which checks the schema itself and builds a validator
on every call: 8% of Rasa's CPU under load. The same check runs here with one
validator built at start.

Rasa loads DIET and TED by fitting each on one example (to build the weights)
before it reads the trained weights: a TensorFlow graph of the whole training
step is traced for that one batch, 60 of the 100 seconds Rasa took to start.
Here that one batch runs eagerly (no graph), a fresh optimizer replaces the
one it made (whose state would not match the checkpoint's order: TED's load
failed, and Rasa swallows that error), and the prediction graph is traced as
before, so the first prospect does not wait for it. Every weight of DIET and
TED is bit for bit what Rasa's own load gives.
"""

import ctypes
import os
import signal
import sys
from typing import Any


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    parent = os.environ.get("RASA_PARENT_PID")
    if not parent or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        print("could not ask to die with the app:", os.strerror(ctypes.get_errno()))
    if os.getppid() != int(parent):  # the app died before the request was made
        sys.exit("the app that started Rasa is gone")


def validate_with_one_validator() -> None:
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator = validators.validator_for(schema)(schema)

    def validate(self: RemoteAction, result: dict) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += ". Failed to validate Action server response from API"
            raise
        return True

    RemoteAction._validate_action_result = validate


def load_models_without_tracing_training() -> None:
    """Rasa's RasaModel.load (3.6) with its one-example fit run eagerly."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    def load(cls, model_file_name, model_data_example, predict_data_example=None,
             finetune_mode=False, *args, **kwargs):
        model = cls(*args, **kwargs)
        config = kwargs.get("config", {})

        def adam() -> Any:
            return tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001))

        model.compile(optimizer=adam(), run_eagerly=True)
        model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
        # A fresh optimizer: the eager step made its state in another order than the
        # checkpoint's, and a served model never trains; the weights are all restored.
        model.compile(optimizer=adam(), run_eagerly=config.get(RUN_EAGERLY))
        model.load_weights(model_file_name)
        if not finetune_mode and predict_data_example:
            model.run_inference(predict_data_example)  # traces the prediction graph now
        return model

    RasaModel.load = classmethod(load)


def run() -> None:
    die_with_parent()  # first: importing Rasa takes seconds
    from rasa.__main__ import main

    validate_with_one_validator()
    load_models_without_tracing_training()
    token = os.environ.get("RASA_TOKEN")
    if not token:
        sys.exit("RASA_TOKEN is not set: Rasa's API would be open to anyone on the port")
    # One argument with "=": a token that starts with "-" is not taken for an option.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    sys.exit(main())


if __name__ == "__main__":
    run()
