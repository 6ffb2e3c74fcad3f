"""The app as production runs it, a process of its own: what it hands Rasa, and that
no Rasa outlives it."""

import asyncio
from pathlib import Path

import pytest

from tests.app_process import CHAT_TOKEN, OPS_TOKEN, AppProcess, alive, proc

pytestmark = pytest.mark.integration


async def test_rasa_gets_no_secret_of_the_app_and_dies_when_the_app_is_killed(
    tmp_path: Path,
) -> None:
    """Checked while Rasa is still loading its model: the app, waiting for it, is
    killed then, as a crash at start-up would."""
    app = AppProcess(tmp_path, TELEGRAM_WEBHOOK_SECRET="not-for-rasa-either")
    await app.spawn()
    try:
        for _ in range(240):  # the app loads its language detector, then starts Rasa
            started = [pid for pid in app.children() if b"rasa_channel" in proc(pid, "cmdline")]
            if started:
                break
            await asyncio.sleep(0.25)
        (rasa,) = started  # exec'd: its own environment, not the app's
        environment = proc(rasa, "environ").split(b"\0")
        names = {entry.split(b"=", 1)[0] for entry in environment if entry}
        assert b"RASA_TOKEN" in names and b"ACTION_ENDPOINT_URL" in names
        for secret in (OPS_TOKEN, CHAT_TOKEN, "not-for-rasa-either"):
            assert not any(secret.encode() in entry for entry in environment)
        token = next(e for e in environment if e.startswith(b"RASA_TOKEN=")).split(b"=", 1)[1]
        assert token not in proc(rasa, "cmdline")

        await app.kill()  # SIGKILL: the app cannot stop Rasa itself
        for _ in range(60):
            if not alive(rasa):
                break
            await asyncio.sleep(0.5)
        assert not alive(rasa), "Rasa outlived the app"
    finally:
        await app.stop()
