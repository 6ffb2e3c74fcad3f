"""``/metrics``: closed without the ops token; counts turns and stored touchpoints."""

import re

from tests.conftest import OPS_TOKEN, RunningBot


async def scrape(bot: RunningBot) -> str:
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    async with bot.http.get(f"{bot.url}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        return await response.text()


def value(scraped: str, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} (\S+)$", scraped, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_need_the_ops_token(fast_bot: RunningBot) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        async with fast_bot.http.get(f"{fast_bot.url}/metrics", headers=headers) as response:
            assert response.status == 401


async def test_a_turn_is_counted_with_its_touchpoints_and_its_latency(
    fast_bot: RunningBot,
) -> None:
    turns = 'journeybot_turns_total{channel="api",outcome="answered"}'
    inbound = 'journeybot_touchpoints_written_total{direction="in"}'
    outbound = 'journeybot_touchpoints_written_total{direction="out"}'
    latency = 'journeybot_turn_seconds_count{channel="api"}'
    before = await scrape(fast_bot)

    answer = await fast_bot.chat("metrics-1", "how much is it?")

    after = await scrape(fast_bot)
    assert value(after, turns) == value(before, turns) + 1
    assert value(after, latency) == value(before, latency) + 1
    assert value(after, inbound) == value(before, inbound) + 1
    assert value(after, outbound) == value(before, outbound) + len(answer["replies"])
    assert value(after, 'journeybot_rasa_seconds_count{call="webhook"}') >= 1
    assert "journeybot_rasa_queue_depth 0.0" in after
