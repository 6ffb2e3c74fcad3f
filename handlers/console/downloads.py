"""A list as a file: CSV for spreadsheets, JSON for programs, with the page's filters.

Cells that a spreadsheet would run as a formula (starting with = + - @, tab or
carriage return) get a leading apostrophe: prospects type these texts, and a
download must not become a way to run one on a colleague's machine.
"""

import csv
import io
import json
from typing import Any

from aiohttp import web

FORMATS = ("csv", "json")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table(rows: list[dict[str, Any]], name: str, format: str) -> web.Response:
    disposition = f'attachment; filename="{name}.{format}"'
    if format == "json":
        return web.Response(
            text=json.dumps(rows, ensure_ascii=False, indent=1, default=str),
            content_type="application/json",
            headers={"Content-Disposition": disposition},
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["empty"])
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return web.Response(
        text=out.getvalue(), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": disposition},
    )  # fmt: skip


def format_of(request: web.Request) -> str:
    format = request.match_info.get("format", "csv")
    if format not in FORMATS:
        raise web.HTTPNotFound()
    return format


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
