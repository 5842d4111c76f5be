"""Summary lines for the optional sections of results.json: groups, events, broadcasts,
streams, push checks and the scenario's own counters — one line each, only if present —
and the analysis findings (severity mark and title; the detail is in the reports)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rich.markup import escape


def section_lines(r: dict[str, Any]) -> Iterator[str]:
    for key, render in _RENDERERS:
        if r.get(key):
            yield from render(r[key])
    custom = {k.removeprefix("custom:"): n for k, n in r["counters"].items()
              if k.startswith("custom:")}
    if custom:
        yield "counters: " + ", ".join(f"{k} {n:,}" for k, n in custom.items())


FINDING_MARKS = {"critical": "[red]✗[/]", "warning": "[yellow]⚠[/]", "info": "[cyan]i[/]"}


def finding_lines(r: dict[str, Any]) -> Iterator[str]:
    """One line per finding, most severe first (analyze() already sorted them)."""
    found = (r.get("analysis") or {}).get("findings") or []
    if found:
        yield "findings:"
    for f in found:
        mark = "[green]✓[/]" if f["rule"] == "all_clear" else FINDING_MARKS[f["severity"]]
        yield f"  {mark} {escape(f['title'])}  [dim]({f['rule']})[/]"


def _groups(g: dict[str, Any]) -> Iterator[str]:
    line = (
        f"groups: {g['started']:,}/{g['planned']:,} started, {g['formed']:,} formed, "
        f"{g['completed']:,} completed, {g['failed']:,} failed, {g['incomplete']:,} incomplete"
    )
    if g["failures"]:
        line += " — " + "; ".join(f"{reason}: {n}" for reason, n in g["failures"].items())
    yield line


def _events(e: dict[str, int]) -> Iterator[str]:
    yield "events: " + ", ".join(f"{name} ×{n:,}" for name, n in e.items())


def _broadcasts(b: dict[str, Any]) -> Iterator[str]:
    for topic, t in b.items():
        reach = "-" if t.get("reach") is None else f"{t['reach']:.1%}"
        line = (
            f"broadcast {topic}: {t.get('sent', 0):,} sent, {t.get('deliveries', 0):,} delivered, "
            f"reach {reach}, first p50 {_ms(t.get('first_ms'))} ms, "
            f"last p50 {_ms(t.get('last_ms'))} ms"
        )
        missing = sorted({n for m in t.get("missing", []) for n in m.get("missing", [])})
        if missing:
            line += f"; missed by {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else "")
        yield line


def _streams(s: dict[str, Any]) -> Iterator[str]:
    for name, t in s.items():
        chunks = t.get("chunks", {})
        yield (
            f"stream {name}: {t.get('completed', 0):,}/{t.get('count', 0):,} completed, "
            f"chunks mean {chunks.get('mean', '-')}, stalls {t.get('stalls', 0):,}"
        )


def _isolation(i: dict[str, Any]) -> Iterator[str]:
    yield f"isolation: {i.get('failures', 0):,} failures in {i.get('inspected', 0):,} inspected"


def _ordering(o: dict[str, Any]) -> Iterator[str]:
    yield (
        f"ordering: {o.get('messages', 0):,} messages, {o.get('gaps', 0):,} missing, "
        f"{o.get('duplicates', 0):,} duplicates, {o.get('out_of_order', 0):,} out of order"
    )


def _target(t: dict[str, Any]) -> Iterator[str]:
    base, load = t.get("baseline") or {}, t.get("load") or {}
    idle, mean, peak = base.get("mean") or {}, load.get("mean") or {}, load.get("peak") or {}
    yield (
        f"target pid {t.get('pid') or '-'}: CPU idle {_num(idle.get('cpu_percent'))}% → "
        f"mean {_num(mean.get('cpu_percent'))}%, peak {_num(peak.get('cpu_percent'))}%; "
        f"RSS idle {_num(idle.get('rss_mb'))} MB → peak {_num(peak.get('rss_mb'))} MB; "
        f"sockets peak {_num(peak.get('connections'))}"
    )
    if t.get("exited"):
        at = t.get("exited_at_s")
        when = f" (gone at {at:g} s)" if at is not None else ""
        yield (f"target pid {t.get('pid') or '-'} EXITED during the run{when}: the errors "
               "after it are its absence, not its answers")


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _ms(percentiles: Any) -> str:
    if isinstance(percentiles, dict) and percentiles.get("p50") is not None:
        return f"{percentiles['p50']:,.2f}"
    return "-"


_RENDERERS: tuple[tuple[str, Callable[[Any], Iterator[str]]], ...] = (
    ("groups", _groups),
    ("events", _events),
    ("broadcasts", _broadcasts),
    ("streams", _streams),
    ("isolation", _isolation),
    ("ordering", _ordering),
    ("target_monitor", _target),
)
