"""report.html: one self-contained file — tables rendered here, charts drawn in the browser
by uPlot from the results JSON embedded in the page. Everything is inlined (no CDN, no
fonts to fetch) so the report opens offline and can be mailed or archived as it is."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

from horde.report.formats.sections import (
    INCOMPLETE_NOTE,
    Items,
    Section,
    Table,
    build_sections,
    is_number,
    verdict,
)

FILE = "report.html"
DATA_ID = "horde-results"
# (container id, caption); report.js knows how to draw each id from the results.
CHARTS = (
    ("chart-latency", "Latency percentiles over time, request → reply metrics (ms)"),
    ("chart-latency-by-metric", "p95 per metric over time (ms), iterations left out"),
    ("chart-throughput", "Throughput: operations and messages per second"),
    ("chart-load", "Active users, open connections, operations in flight"),
    ("chart-errors", "Errors per second"),
    ("chart-bandwidth", "Bandwidth (KiB per second)"),
    ("chart-generator", "Generator: CPU %, event-loop lag (ms), RSS (MB, right axis)"),
)
TARGET_CHART = ("chart-target", "Target resources over time")
VALUES_CHART = ("chart-values", "Recorded values over time: median per second, in each one's unit")


def render(results: dict[str, Any]) -> dict[str, str]:
    tone, text = verdict(results)
    title = f"horde report: {results.get('scenario', '?')} → {results.get('target', '?')}"
    body = [
        f'<header class="verdict {tone}"><h1>{escape(title)}</h1>'
        f'<p class="verdict-text" id="verdict">{escape(text)}</p></header>',
        "<main>",
        _banner(results),
        _charts(results),
        *(_section(s) for s in build_sections(results)),
        "</main>",
        f'<script type="application/json" id="{DATA_ID}">{embed_json(results)}</script>',
        f"<script>{_asset('uPlot.iife.min.js')}</script>",
        f"<script>{_asset('report.js')}</script>",
    ]
    head = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f"<style>{_asset('uPlot.min.css')}</style><style>{_asset('report.css')}</style>"
        f"</head><body>"
    )
    return {FILE: head + "\n".join(body) + "\n</body></html>\n"}


def embed_json(results: dict[str, Any]) -> str:
    """JSON safe inside <script>: every ``<`` escaped, so no ``</script>`` can end it early."""
    return json.dumps(results, default=str).replace("<", "\\u003c")


@cache
def _asset(name: str) -> str:
    return (files("horde.report") / "assets" / name).read_text(encoding="utf-8")


def _banner(results: dict[str, Any]) -> str:
    if not results.get("incomplete"):
        return ""
    return f'<p class="banner" id="incomplete">INCOMPLETE RUN — {escape(INCOMPLETE_NOTE)}</p>'


def _charts(results: dict[str, Any]) -> str:
    charts = list(CHARTS)
    if results.get("values"):
        charts.insert(2, VALUES_CHART)
    if ((results.get("target_monitor") or {}).get("timeseries")):
        charts.append(TARGET_CHART)
    figures = "".join(
        f'<figure><figcaption>{escape(caption)}</figcaption>'
        f'<div class="chart" id="{chart_id}"></div></figure>'
        for chart_id, caption in charts
    )
    return f'<section id="charts"><h2>Over time</h2><div class="charts">{figures}</div></section>'


def _section(section: Section) -> str:
    parts = [f'<section id="{section.id}"><h2>{escape(section.title)}</h2>']
    for block in section.blocks:
        parts.append(_table(block) if isinstance(block, Table) else _items(block))
    return "".join(parts) + "</section>"


def _items(items: Items) -> str:
    lis = "".join(f'<li class="{escape(tone)}">{escape(text)}</li>' for tone, text in items.lines)
    return f'<ul class="items">{lis}</ul>'


def _table(table: Table) -> str:
    title = f"<h3>{escape(table.title)}</h3>" if table.title else ""
    # A column of numbers aligns right (digits line up); any text in it keeps it left.
    text = [i > 0 and not all(is_number(row[i]) for row in table.rows)
            for i in range(len(table.columns))]
    head = "".join(f'<th class="text">{escape(c)}</th>' if text[i] else f"<th>{escape(c)}</th>"
                   for i, c in enumerate(table.columns))
    body = "".join(
        "<tr>" + "".join(_td(cell, text[i]) for i, cell in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(cell: str, text: bool) -> str:
    tone = {"✓": "ok", "✗": "fail"}.get(cell) or ("text" if text else "")
    return f'<td class="{tone}">{escape(cell)}</td>' if tone else f"<td>{escape(cell)}</td>"
