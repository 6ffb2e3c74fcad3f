"""The Rasa client on the fake Rasa server: closed, loaded, hung, several processes."""

import asyncio

import pytest

from bot.dialogue.rasa_client import OnBusy, RasaClient, RasaTurn, RasaUnavailable
from tests.fakes.rasa import Call, FakeRasa


async def test_a_closed_client_refuses_instead_of_opening_a_session_nobody_closes(
    fake_rasa: FakeRasa,
) -> None:
    client = RasaClient(fake_rasa.url, fake_rasa.token, timeout_seconds=5)
    turn = await client.send("someone", "hello", {})
    assert turn.messages
    await client.close()

    with pytest.raises(RasaUnavailable, match="closed"):
        await client.send("someone", "hello again", {})


async def test_load_waits_for_a_slot_instead_of_timing_out_and_the_timeout_measures_rasa() -> None:
    """Ten turns on two slots of a Rasa taking 0.5 s each: all answered, though the last
    waits far longer than the 1 s timeout; never more than two inside Rasa at once."""
    inside, most = 0, 0

    async def count(_: Call) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.5)
        inside -= 1

    async with FakeRasa(during_turn=count) as rasa:
        client = RasaClient(rasa.url, rasa.token, timeout_seconds=1.0, in_flight=2)
        busy: list[str] = []

        def noticed(sender: str) -> OnBusy:
            async def tell() -> None:
                busy.append(sender)

            return tell

        async def turn(n: int) -> RasaTurn:
            await asyncio.sleep(n * 0.01)  # in this order
            return await client.send(f"p{n}", "hello", {}, on_busy=noticed(f"p{n}"))

        client.busy_after = 0.75
        turns = await asyncio.gather(*(turn(n) for n in range(10)))
        await client.close()

    assert all(t.intent == "greet" for t in turns)
    assert most == 2
    assert [call.sender for call in rasa.calls] == [f"p{n}" for n in range(10)]  # first come
    assert busy == [f"p{n}" for n in range(4, 10)]  # those that waited past 0.75 s


async def test_a_hung_rasa_still_times_out_once_the_turn_has_its_slot() -> None:
    async with FakeRasa(delay=2.0) as rasa:
        client = RasaClient(rasa.url, rasa.token, timeout_seconds=0.3, in_flight=1)
        with pytest.raises(RasaUnavailable, match="did not answer"):
            await client.send("hung", "hello", {})
        assert client.waiting == 0 and client.workers[0].busy == 0  # the slot was given back
        await client.close()


async def test_each_conversation_stays_with_one_rasa_process() -> None:
    async with FakeRasa() as first, FakeRasa(token=first.token) as second:
        client = RasaClient([first.url, second.url], first.token, timeout_seconds=5)
        for _ in range(3):
            for n in range(20):
                await client.send(str(n), "hello", {})
        await client.close()
    one = {call.sender for call in first.calls}
    other = {call.sender for call in second.calls}
    assert one and other and not one & other  # both used, none shared
    assert len(first.calls) + len(second.calls) == 60
