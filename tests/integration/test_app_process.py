"""The app as production runs it, a process of its own: what it hands Rasa, and that
no Rasa outlives it."""

import asyncio
import os
from pathlib import Path

import pytest

from tests.app_process import CHAT_TOKEN, OPS_TOKEN, AppProcess, alive, proc

pytestmark = pytest.mark.integration


async def test_each_rasa_gets_no_secret_of_the_app_and_its_share_of_the_cores_and_dies_with_it(
    tmp_path: Path,
) -> None:
    """Checked while the two Rasa workers are still loading their model: the app,
    waiting for them, is killed then, as a crash at start-up would."""
    app = AppProcess(tmp_path, TELEGRAM_WEBHOOK_SECRET="not-for-rasa-either", RASA_WORKERS="2")
    await app.spawn()
    try:
        for _ in range(240):  # the app loads its language detector, then starts Rasa
            started = [pid for pid in app.children() if b"rasa_channel" in proc(pid, "cmdline")]
            if len(started) == 2:
                break
            await asyncio.sleep(0.25)
        assert len(started) == 2
        share = str(max(1, (os.cpu_count() or 1) // 2)).encode()
        for rasa in started:  # exec'd: its own environment, not the app's
            environment = proc(rasa, "environ").split(b"\0")
            names = {entry.split(b"=", 1)[0] for entry in environment if entry}
            assert b"RASA_TOKEN" in names and b"ACTION_ENDPOINT_URL" in names
            for secret in (OPS_TOKEN, CHAT_TOKEN, "not-for-rasa-either"):
                assert not any(secret.encode() in entry for entry in environment)
            token = next(e for e in environment if e.startswith(b"RASA_TOKEN="))
            assert token.split(b"=", 1)[1] not in proc(rasa, "cmdline")
            assert b"TF_INTRA_OP_PARALLELISM_THREADS=" + share in environment  # half the cores
            assert b"OMP_NUM_THREADS=1" in environment  # no OpenMP team spinning beside
            assert b"OMP_WAIT_POLICY=PASSIVE" in environment  # the app

        await app.kill()  # SIGKILL: the app cannot stop Rasa itself
        for _ in range(60):
            if not any(alive(rasa) for rasa in started):
                break
            await asyncio.sleep(0.5)
        assert not any(alive(rasa) for rasa in started), "Rasa outlived the app"
    finally:
        await app.stop()
