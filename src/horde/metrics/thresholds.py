"""Thresholds: what "passing" means, as expressions over a run's results.

Two forms::

    p95(http_req{name=login}) < 100ms        an aggregate of a latency metric
    connections.success_rate > 0.95          a figure of results.json, by its path

Aggregates: p50 p90 p95 p99 p999 min max mean (milliseconds; a value may say ``ms`` or
``s``), count and rate (per second). The metric is one horde records
(:data:`~horde.metrics.names.LATENCY_METRICS`), or ``latency``: every operation but the
connects (``http_req``, ``ws_reply``, ``sio_ack``, ``sio_reply``, ``stream_total``,
``timer``). ``{name=...}`` narrows to one name. When a selector matches several
histograms they are merged, so a percentile is still exact.

Paths read results.json (``operations.rate_per_s``, ``errors_total``, ``errors.http_503``,
``values.tokens_per_s.p50`` for a value the scenario records, ...) plus two derived
figures: ``errors.rate`` (failed ÷ finished operations, the operations ledger's own
``operations.error_rate``) and ``checks.rate`` (passed ÷ all checks). A missing error
category counts as 0.

Parsing happens when the run is configured, so a bad expression — an unknown aggregate,
metric or figure — is a one-line usage error before any load is sent. A threshold with
nothing to judge (no samples, no finished operation) fails, and says so.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from horde.errors import ConfigError
from horde.metrics import names
from horde.metrics.histogram import new_histogram
from horde.metrics.operations import EXCHANGE_METRICS
from horde.metrics.recorder import Key

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
AGGREGATES = (*PERCENTILES, "min", "max", "mean", "count", "rate")
UNITS = {"ms": 1.0, "s": 1000.0}
VALUE_STATS = ("count", "min", "mean", "p50", "p90", "p95", "p99", "max")
PATH_ROOTS = frozenset({
    "connections", "operations", "messages", "errors", "errors_total", "iterations", "users",
    "bytes", "duration_s", "checks", "generator", "counters", "values",
    # sections that trackers add (hub, groups, streams)
    "events", "groups", "broadcasts", "isolation", "ordering", "streams",
})

_AGGREGATE = re.compile(
    r"^(?P<agg>[a-z0-9]+)\((?P<metric>[a-z_]+)(\{(?P<tags>[^}]*)\})?\)$"
)
_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_:/\-]+)*$")
_VALUE = re.compile(r"^(?P<number>-?\d+(\.\d+)?)(?P<unit>ms|s|%)?$")
_SPLIT = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*")


@dataclass(frozen=True, slots=True)
class Threshold:
    expression: str
    op: str
    limit: float
    aggregate: str | None = None  # None: a results path
    metric: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    path: str | None = None
    unit: str | None = None  # how the limit was written: "ms", "s", "%" or none


def parse_threshold(text: str) -> Threshold:
    """A threshold from its expression; :class:`ConfigError` says what is wrong."""
    parts = _SPLIT.split(text.strip())
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise ConfigError(
            f"bad threshold {text!r}: expected LEFT OP VALUE, e.g. 'p95(http_req) < 200ms'"
        )
    left, op, right = parts
    limit = _limit(text, right)
    unit = _VALUE.match(right)["unit"]  # type: ignore[index]  # _limit checked it
    found = _AGGREGATE.match(left)
    if found:
        aggregate, metric = found["agg"], found["metric"]
        if aggregate not in AGGREGATES:
            raise ConfigError(
                f"bad threshold {text!r}: unknown aggregate {aggregate!r}; "
                f"use one of {', '.join(AGGREGATES)}"
            )
        if metric != "latency" and metric not in names.LATENCY_METRICS:
            raise ConfigError(
                f"bad threshold {text!r}: unknown metric {metric!r}; use latency or one of "
                f"{', '.join(sorted(names.LATENCY_METRICS))} (a value recorded with "
                f"user.record(..., unit=...) is a path: values.NAME.p50)"
            )
        if right.endswith("s") and aggregate in ("count", "rate"):
            raise ConfigError(f"bad threshold {text!r}: {aggregate} takes no time unit")
        tags = _tags(text, found["tags"] or "")
        return Threshold(text, op, limit, aggregate, metric, tags, unit=unit or "ms")
    if _PATH.match(left):
        root = left.split(".")[0]
        if root == "requests":
            raise ConfigError(
                f"bad threshold {text!r}: 'requests' is now 'operations' (every timed "
                f"operation: requests, replies, acks, streams, timers, connects), e.g. "
                f"{left.replace('requests', 'operations', 1).replace('.total', '.finished')}"
            )
        if root not in PATH_ROOTS:
            raise ConfigError(
                f"bad threshold {text!r}: unknown figure {left!r}; paths start with "
                f"{', '.join(sorted(PATH_ROOTS))}"
            )
        if root == "values":
            _check_value_path(text, left)
        return Threshold(text, op, limit, path=left, unit=unit)
    raise ConfigError(
        f"bad threshold {text!r}: {left!r} is neither AGGREGATE(METRIC{{name=...}}) "
        "nor a results path like connections.success_rate"
    )


def _check_value_path(text: str, path: str) -> None:
    """``values.NAME.STAT``: the name is only known once recorded, the statistic now."""
    parts = path.split(".")
    if len(parts) != 3 or parts[2] not in VALUE_STATS:
        raise ConfigError(
            f"bad threshold {text!r}: a value's figure is values.NAME.STAT with STAT one of "
            f"{', '.join(VALUE_STATS)}, e.g. values.tokens_per_s.p50 > 40"
        )


def _limit(text: str, value: str) -> float:
    found = _VALUE.match(value)
    if not found:
        raise ConfigError(f"bad threshold {text!r}: {value!r} is not a number (units: ms, s, %)")
    number = float(found["number"])
    unit = found["unit"]
    if unit == "%":
        return number / 100.0
    return number * UNITS.get(unit or "ms", 1.0)


def _tags(text: str, raw: str) -> tuple[tuple[str, str], ...]:
    tags = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() != "name":
            raise ConfigError(f"bad threshold {text!r}: only {{name=...}} tags are supported")
        tags.append((key.strip(), value.strip()))
    return tuple(tags)


def evaluate(
    thresholds: tuple[Threshold, ...],
    results: Mapping[str, Any],
    latencies: Mapping[Key, HdrHistogram],
) -> list[dict[str, Any]]:
    """Each threshold with its observed value, verdict and the reason in words, for
    results.json. Nothing observed (no samples, no finished operation, no such figure) is
    never a pass."""
    verdicts = []
    for t in thresholds:
        observed = _observe(t, results, latencies)
        passed = observed is not None and OPERATORS[t.op](observed, t.limit)
        verdicts.append({"expression": t.expression, "observed": observed, "passed": passed,
                         "reason": _reason(t, observed, results, latencies)})
    return verdicts


def _reason(t: Threshold, observed: float | None, results: Mapping[str, Any],
            latencies: Mapping[Key, HdrHistogram]) -> str:
    if observed is not None:
        return f"observed {show_value(observed, t.unit)}"
    if t.path is None:
        if not t.tags:
            return f"no samples for {t.metric}"
        wanted = _metrics(t.metric)
        recorded = sorted({n for (m, n), h in latencies.items()
                           if m in wanted and n and h.get_total_count()})
        return f"no samples for {t.metric}{{name={dict(t.tags)['name']}}}" + _named(recorded)
    if t.path == "errors.rate":
        return "no operation finished, so there is no error rate"
    if t.path == "checks.rate":
        return "no check ran"
    if t.path.startswith("values."):
        recorded = sorted(results.get("values") or {})
        return f"no value recorded as {t.path.split('.')[1]!r}" + _named(recorded)
    section, _, rest = t.path.partition(".")
    entries = results.get(section)
    name = rest.split(".")[0]
    if name and isinstance(entries, Mapping) and name not in entries:  # broadcasts.room2…
        return f"nothing recorded as {section}.{name}" + _named(sorted(map(str, entries)))
    return f"{t.path} is not in these results"


def _named(recorded: list[str]) -> str:
    """What was recorded under the kind a threshold names: a typo in a name is seen at
    the end of the load, so the reason lists the names it could have meant."""
    return f" (recorded: {', '.join(recorded[:10])})" if recorded else ""


def show_value(value: float, unit: str | None) -> str:
    """A threshold figure as the limit was written: ``12.5 ms``, ``1.25 %``, ``0.97``."""
    if unit == "%":
        return f"{value * 100:,.2f} %"
    if unit in ("ms", "s"):
        return f"{value:,.3f} ms".replace(".000 ms", " ms")
    return f"{value:,.6g}"


def _observe(
    t: Threshold, results: Mapping[str, Any], latencies: Mapping[Key, HdrHistogram]
) -> float | None:
    if t.path is not None:
        return _path_value(t.path, results)
    assert t.metric is not None and t.aggregate is not None
    hist = _select(t.metric, dict(t.tags).get("name"), latencies)
    count = hist.get_total_count()
    if t.aggregate == "count":
        return float(count)
    if t.aggregate == "rate":
        elapsed = results.get("duration_s") or 0
        return round(count / elapsed, 3) if elapsed else 0.0
    if count == 0:
        return None  # no samples: nothing can be said to pass
    if t.aggregate in PERCENTILES:
        micros = hist.percentiles((PERCENTILES[t.aggregate],))[PERCENTILES[t.aggregate]]
    elif t.aggregate == "min":
        micros = hist.get_min_value()
    elif t.aggregate == "max":
        micros = hist.get_max_value()
    else:
        micros = hist.mean()
    return round(micros / 1000.0, 3)


def _metrics(metric: str) -> Collection[str]:
    """The recorded metrics a threshold's metric means (``latency``: every exchange)."""
    return EXCHANGE_METRICS if metric == "latency" else {metric}


def _select(metric: str, name: str | None, latencies: Mapping[Key, HdrHistogram]) -> Any:
    wanted = _metrics(metric)
    merged = new_histogram()
    for (m, n), hist in latencies.items():
        if m in wanted and (name is None or n == name):
            merged.add(hist)
    return merged


def _path_value(path: str, results: Mapping[str, Any]) -> float | None:
    if path == "errors.rate":
        return (results.get("operations") or {}).get("error_rate")
    if path == "checks.rate":
        passed = sum(v for k, v in results["counters"].items() if k.startswith("checks_passed:"))
        failed = results["errors"].get("check_failed", 0)
        return round(passed / (passed + failed), 6) if passed + failed else None
    node: Any = results
    parts = path.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif i == len(parts) - 1 and parts[0] == "errors" and i == 1:
            return 0.0  # an error category that never happened
        else:
            return None
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def path_value(path: str, results: Mapping[str, Any]) -> float | None:
    """A figure of results.json by a threshold's dotted path, with the derived
    ``errors.rate`` and ``checks.rate`` (the pytest plugin's ``Results.value``)."""
    return _path_value(path, results)
