"""Start ``rasa run`` with its API token taken from the environment.

Rasa reads its token only from ``--auth-token``, and a command line is
readable by every user of the machine (``ps``). The app's process manager
starts Rasa through this module instead, with ``RASA_TOKEN`` in the
environment; the token is added to Rasa's own argument list inside the
process, so it never appears on a command line. Usage is that of
``rasa run``: ``python -m rasa_channel.serve run --enable-api ...``.
"""

import os
import sys

from rasa.__main__ import main


def run() -> None:
    token = os.environ.get("RASA_TOKEN")
    if not token:
        sys.exit("RASA_TOKEN is not set: Rasa's API would be open to anyone on the port")
    # One argument with "=": a token that starts with "-" is not taken for an option.
    sys.argv = ["rasa", *sys.argv[1:], f"--auth-token={token}"]
    sys.exit(main())


if __name__ == "__main__":
    run()
