"""The funnel page and the downloads: figures from real chats, charts as SVG, each as CSV,
the conversations list as CSV and JSON with its filters, and no formula in a cell."""

import csv
import io
import json

from tests.conftest import RunningBot, Staff, signed_in


async def download(staff: Staff, path: str) -> tuple[int, str, str]:
    async with staff.http.get(f"{staff.bot.url}{path}", allow_redirects=False) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_the_funnel_counts_the_chats_by_stage_and_is_for_ops(
    olga: Staff, fast_bot: RunningBot
) -> None:
    await fast_bot.chat("visitor-funnel-000001", "hello", source="google")
    await fast_bot.chat("visitor-funnel-000002", "how much is the corolla?", source="google")
    await fast_bot.chat("visitor-funnel-000003", "I want to book a test drive", "he")
    status, page = await olga.get("/console/funnel")
    assert status == 200
    assert '<p id="total"><strong>3</strong> leads' in page
    assert page.count("<svg") >= 4 and "<title>consideration: 2</title>" in page
    assert "<title>decision: 1</title>" in page

    status, kind, text = await download(olga, "/console/funnel/stages.csv?since=&until=")
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["stage"], r["leads"]) for r in rows] == [
        ("awareness", "3"), ("consideration", "2"), ("decision", "1"), ("retention", "0"),
        ("advocacy", "0"),
    ]  # fmt: skip
    _, _, text = await download(olga, "/console/funnel/by_source.csv?source=google")
    assert {r["source"]: r["leads"] for r in csv.DictReader(io.StringIO(text))} == {"google": "2"}
    assert (await download(olga, "/console/funnel/nothing.csv"))[0] == 404

    async with signed_in(fast_bot, "rita", "rep") as rita:
        assert (await rita.get("/console/funnel"))[0] == 403
        assert (await download(rita, "/console/funnel/stages.csv"))[0] == 403
        assert (await download(rita, "/console/conversations.csv"))[0] == 403


async def test_the_conversations_download_as_csv_and_json_with_the_filters(
    olga: Staff, fast_bot: RunningBot
) -> None:
    formula = '=HYPERLINK("http://evil.example","price")'
    await fast_bot.chat("visitor-download-00001", "how much is it?", "en")
    await fast_bot.chat("visitor-download-00002", "שלום", "he")
    await fast_bot.chat("visitor-download-00003", f'/inform{{"name": {json.dumps(formula)}}}')
    status, _, text = await download(olga, "/console/conversations.csv?language=he")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["language"] for r in rows] == ["he"]
    assert set(rows[0]) >= {"outcome", "first_response_seconds", "satisfaction"}
    _, kind, text = await download(olga, "/console/conversations.json")
    assert kind.startswith("application/json")
    records = json.loads(text)
    assert len(records) == 3 and all(r["outcome"] == "open" for r in records)
    _, _, text = await download(olga, "/console/conversations.csv")
    names = [r["name"] for r in csv.DictReader(io.StringIO(text))]
    assert "'" + formula in names and formula not in names  # no formula for spreadsheets
    assert (await download(olga, "/console/conversations.xml"))[0] == 404
