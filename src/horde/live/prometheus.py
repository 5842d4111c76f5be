"""A Prometheus endpoint for the live run (``--prometheus-port``): ``GET /metrics``.

A sink with an aiohttp server in the run's event loop, like the dashboard: start it
around the run (``async with exporter: await run(..., sinks=[..., exporter])``). Names
follow Prometheus conventions: a ``horde_`` prefix, base units (seconds, bytes, ratios
of one core), ``_total`` on counters. Counters are read from the run's totals, the same
numbers results.json is built from, so the last scrape agrees with the file; gauges come
from the latest per-second row. The exposition text is built once per row at most (on
the first scrape after it), so a busy scraper costs the run nothing extra.

Latency is two families: ``horde_latency_seconds`` — a summary over the whole run, per
``metric`` and ``name``, with ``quantile`` 0.5/0.95/0.99, ``_count`` and ``_sum`` — and
``horde_latency_window_seconds``, a gauge of the same quantiles over the last second.
The metric list is in docs/monitoring.md.

Bound to 127.0.0.1 unless ``--prometheus-host`` says otherwise; it serves read-only
figures, no controls.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from horde.errors import ConfigError
from horde.live.listen import Served, listen
from horde.metrics import names
from horde.metrics.aggregator import Aggregator
from horde.metrics.operations import OPERATION_METRICS
from horde.metrics.values import ValueSpec
from horde.sinks.base import RunPort

DEFAULT_HOST = "127.0.0.1"
QUANTILES = (("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms"))

# per-second row field → (metric name, help, scale to base units)
ROW_GAUGES = (
    ("t", "horde_elapsed_seconds", "Seconds since the run started.", 1.0),
    ("users", "horde_users", "Virtual users active now.", 1.0),
    ("target", "horde_users_target", "Users (or arrivals per second) the plan wants now.",
     1.0),
    ("connections_open", "horde_connections_open", "Connections open now.", 1.0),
    ("in_flight", "horde_in_flight", "Operations awaiting their end now.", 1.0),
    ("peak_in_flight", "horde_in_flight_peak",
     "Most operations in flight in the last second.", 1.0),
    ("cpu_percent", "horde_generator_cpu_ratio", "horde's CPU in the last second (1 = a core).",
     0.01),
    ("rss_mb", "horde_generator_resident_memory_bytes", "horde's resident memory.",
     1_048_576.0),
    ("loop_lag_ms", "horde_generator_loop_lag_seconds",
     "horde's worst event-loop lag in the last second.", 0.001),
    ("target_cpu_percent", "horde_target_cpu_ratio",
     "The monitored target's CPU, children included (1 = a core).", 0.01),
    ("target_rss_mb", "horde_target_resident_memory_bytes",
     "The monitored target's resident memory, children included.", 1_048_576.0),
    ("target_threads", "horde_target_threads", "The monitored target's threads.", 1.0),
    ("target_open_files", "horde_target_open_files", "The monitored target's open files.", 1.0),
    ("target_connections", "horde_target_connections",
     "The monitored target's open sockets.", 1.0),
)


def from_options(host: str = DEFAULT_HOST, port: int = 0) -> PrometheusExporter:
    """The exporter for ``--prometheus-port`` and ``--prometheus-host``."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--prometheus-port must be from 0 to 65535, not {port}")
    return PrometheusExporter(host, port)


class PrometheusExporter(Served):
    """A sink that serves the run's figures as Prometheus text."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0,
                 stream: TextIO | None = None) -> None:
        self.host = host
        self.port = port
        self.stream = stream or sys.stderr
        self.control: RunPort | None = None
        self.row: dict[str, Any] = {}
        self.finished = False
        self._text: bytes | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner, self.port = await listen(app, self.host, self.port, "Prometheus endpoint")
        self.stream.write(f"horde: Prometheus metrics at {self.url}\n")
        self.stream.flush()

    # -- the sink --------------------------------------------------------------------------

    def attach(self, control: RunPort) -> None:
        self.control = control
        self._text = None

    def on_row(self, row: dict[str, Any]) -> None:
        self.row = row
        self._text = None

    def on_finish(self, results: dict[str, Any]) -> None:
        series = results.get("timeseries") or []
        if series:
            self.row = series[-1]  # the last, shorter window: never sent to on_row
        self.finished = True
        self._text = None

    # -- the exposition --------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text a scrape gets now (cached until the next row)."""
        if self._text is None:
            self._text = generate_latest(self)  # type: ignore[arg-type]
        return self._text

    def collect(self) -> Iterator[Metric]:
        """Every family, as prometheus_client's ``generate_latest`` asks a collector."""
        yield from self._info()
        yield from row_gauges(self.row)
        if self.control is not None:
            yield from totals_counters(self.control.aggregator)
            yield run_latency(self.control.aggregator)
        yield window_latency(self.row)
        specs = self.control.aggregator.recorder.value_specs if self.control else {}
        yield window_values(self.row, specs)

    def _info(self) -> Iterator[Metric]:
        info = self.control.facts() if self.control is not None else {}
        labels = {k: str(info.get(k) or "") for k in ("scenario", "target", "shape")}
        family = GaugeMetricFamily("horde_run_info", "The run: scenario, target, load shape.",
                                   labels=list(labels))
        family.add_metric(list(labels.values()), 1)
        yield family
        yield GaugeMetricFamily("horde_run_finished", "1 once the run has ended.",
                                value=1 if self.finished else 0)
        warning = self.row.get("generator_warning")
        yield GaugeMetricFamily(
            "horde_generator_saturated",
            "1 while horde itself is the limit (loop lag or CPU pinned): see the logs.",
            value=1 if warning else 0)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


def row_gauges(row: dict[str, Any]) -> Iterator[Metric]:
    """The latest row's figures; a field the row does not carry is left out."""
    for key, name, doc, scale in ROW_GAUGES:
        value = row.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield GaugeMetricFamily(name, doc, value=round(value * scale, 9))


def totals_counters(aggregator: Aggregator) -> Iterator[Metric]:
    """Run-wide counters from the totals (as of the last row), counted as results.json
    counts them."""
    totals = aggregator.totals
    ops = [o for (m, _), o in totals.outcomes.items() if m in OPERATION_METRICS]
    iterations = [o for (m, _), o in totals.outcomes.items() if m == names.ITERATION]
    traffic = aggregator.recorder.traffic.values()
    counted = {
        "horde_operations": ("Operations finished (requests, replies, acks, streams, "
                             "timers, connects).", sum(o.finished for o in ops)),
        "horde_operations_failed": ("Operations that failed.", sum(o.failed for o in ops)),
        "horde_messages_received": ("WebSocket/Socket.IO messages received.", _counter_sum(
            aggregator, lambda m: m in names.MESSAGE_IN_COUNTERS)),
        "horde_messages_sent": ("WebSocket/Socket.IO messages sent.", _counter_sum(
            aggregator, lambda m: m in (names.WS_MSG_OUT, names.SIO_EMIT))),
        "horde_iterations": ("Behaviour runs completed.", sum(o.ok for o in iterations)),
        "horde_iterations_failed": ("Behaviour runs that raised.",
                                    sum(o.failed for o in iterations)),
        "horde_users_started": ("Virtual users started.", aggregator.recorder.users_started),
        "horde_payload_bytes_sent": ("Payload bytes sent (HTTP bodies, messages).",
                                     totals.bytes_sent),
        "horde_payload_bytes_received": ("Payload bytes received.", totals.bytes_received),
        "horde_decoded_bytes_received": (
            "Payload bytes received once decoded (gzip bodies, permessage-deflate messages).",
            totals.bytes_received + sum(t.inflated_received for t in traffic)),
        "horde_wire_bytes_sent": ("TCP bytes sent, of the connections closed so far.",
                                  sum(t.wire_sent for t in traffic)),
        "horde_wire_bytes_received": ("TCP bytes received, of the connections closed so far.",
                                      sum(t.wire_received for t in traffic)),
    }
    for name, (doc, value) in counted.items():
        yield CounterMetricFamily(name, doc, value=value)
    errors = CounterMetricFamily("horde_errors", "Errors by category (docs/results.md).",
                                 labels=["category"])
    by_category: dict[str, int] = {}
    for (category, _), n in totals.errors.items():
        by_category[category] = by_category.get(category, 0) + n
    for category, n in sorted(by_category.items()):
        errors.add_metric([category], n)
    yield errors


def _counter_sum(aggregator: Aggregator, wanted: Any) -> int:
    return sum(n for (m, _), n in aggregator.totals.counters.items() if wanted(m))


def run_latency(aggregator: Aggregator) -> Metric:
    """A summary per (metric, name) over every sample of the run."""
    family = Metric("horde_latency_seconds", "Latency over the whole run, per metric and name.",
                    "summary")
    for (metric, name), hist in sorted(aggregator.totals.latencies.items(),
                                       key=lambda kv: (kv[0][0], kv[0][1] or "")):
        count = hist.get_total_count()
        if not count:
            continue
        labels = {"metric": metric, "name": name or ""}
        p = hist.percentiles((50.0, 95.0, 99.0))
        for q, wanted in (("0.5", 50.0), ("0.95", 95.0), ("0.99", 99.0)):
            family.add_sample("horde_latency_seconds", {**labels, "quantile": q},
                              p[wanted] / 1_000_000)
        family.add_sample("horde_latency_seconds_count", labels, count)
        family.add_sample("horde_latency_seconds_sum", labels,
                          round(hist.mean() * count / 1_000_000, 6))
    return family


def window_latency(row: dict[str, Any]) -> Metric:
    """The last second's quantiles per (metric, name), from the row."""
    family = GaugeMetricFamily(
        "horde_latency_window_seconds", "Latency quantiles over the last second.",
        labels=["metric", "name", "quantile"])
    for label, m in sorted((row.get("metrics") or {}).items()):
        metric, _, name = label.partition(":")
        for q, key in QUANTILES:
            if m.get(key) is not None:
                family.add_metric([metric, name, q], round(m[key] / 1000, 9))
    return family


def window_values(row: dict[str, Any], specs: Mapping[str, ValueSpec]) -> Metric:
    """The last second's median of each value the scenario records, in its own unit (the
    ``unit`` label): values are not times, so they get their own family."""
    family = GaugeMetricFamily(
        "horde_value_window", "Median over the last second of a value the scenario records.",
        labels=["name", "unit", "better"])
    for name, v in sorted((row.get("values") or {}).items()):
        spec = specs.get(name)
        if v.get("p50") is not None and spec is not None:
            family.add_metric([name, spec.unit, spec.better or ""], v["p50"])
    return family
