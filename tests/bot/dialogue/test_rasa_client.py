"""The Rasa client on the fake Rasa server: what a caller gets once it is closed."""

import pytest

from bot.dialogue.rasa_client import RasaClient, RasaUnavailable
from tests.fakes.rasa import FakeRasa


async def test_a_closed_client_refuses_instead_of_opening_a_session_nobody_closes(
    fake_rasa: FakeRasa,
) -> None:
    client = RasaClient(fake_rasa.url, fake_rasa.token, timeout_seconds=5)
    turn = await client.send("someone", "hello", {})
    assert turn.messages
    await client.close()

    with pytest.raises(RasaUnavailable, match="closed"):
        await client.send("someone", "hello again", {})
