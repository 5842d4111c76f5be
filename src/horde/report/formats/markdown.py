"""report.md: the run as a Markdown report — verdict, facts, thresholds and every measured
section, in the order of :func:`sections.build_sections`. Only measured numbers appear."""

from __future__ import annotations

from typing import Any

from horde.report.formats.sections import Items, Section, Table, build_sections, is_number, verdict

FILE = "report.md"
_MARKS = {"ok": "✓", "fail": "✗", "warning": "⚠", "critical": "‼", "info": "ℹ"}


def render(results: dict[str, Any]) -> dict[str, str]:
    _, text = verdict(results)
    title = f"# horde report: {results.get('scenario', '?')} → {results.get('target', '?')}"
    lines = [title, "", f"**Verdict: {text}**", ""]
    for section in build_sections(results):
        lines += _section(section)
    return {FILE: "\n".join(lines).rstrip() + "\n"}


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    for block in section.blocks:
        lines += _table(block) if isinstance(block, Table) else _items(block)
        lines.append("")
    return lines


def _items(items: Items) -> list[str]:
    out = []
    for tone, text in items.lines:
        mark = _MARKS.get(tone, "-")
        strong = tone in ("fail", "warning", "critical")
        out.append(f"- {mark} " + (f"**{_cell(text)}**" if strong else _cell(text)))
    return out


def _table(table: Table) -> list[str]:
    head = [f"**{table.title}**", ""] if table.title else []
    columns = [c or " " for c in table.columns]
    align = [":--"] + ["--:" if _numeric(table, i) else ":--" for i in range(1, len(columns))]
    rows = ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return [*head, "| " + " | ".join(columns) + " |", "| " + " | ".join(align) + " |", *rows]


def _numeric(table: Table, column: int) -> bool:
    """Numbers align right so their digits line up; text stays left."""
    return all(is_number(row[column]) for row in table.rows)


def _cell(text: str) -> str:
    """A pipe or a newline would break the table; Markdown has escapes for neither newline."""
    return text.replace("|", "\\|").replace("\n", " ")
