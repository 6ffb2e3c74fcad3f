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
"""

import ctypes
import os
import signal
import sys


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


def run() -> None:
    die_with_parent()  # first: importing Rasa takes seconds
    from rasa.__main__ import main

    validate_with_one_validator()
    token = os.environ.get("RASA_TOKEN")
    if not token:
        sys.exit("RASA_TOKEN is not set: Rasa's API would be open to anyone on the port")
    # One argument with "=": a token that starts with "-" is not taken for an option.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    sys.exit(main())


if __name__ == "__main__":
    run()
