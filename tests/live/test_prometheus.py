"""The Prometheus endpoint against a real run: a scrape during the run is valid exposition
text (prometheus_client's own parser reads it), and the last one agrees with results.json."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.errors import ConfigError
from horde.live.prometheus import PrometheusExporter, from_options
from horde.scenario.loader import load_scenario

SCENARIO = """
    import horde

    @horde.on_start
    async def connect(user):
        user.state.ws = await user.websocket("/ws", codec=horde.JSON)

    @horde.behaviour
    async def echo(user):
        await user.state.ws.request({"type": "ping"}, name="echo")
        await user.http.get("/status/503", name="fail")
        user.record("reply_size", 42, unit="bytes", better="lower")
        await user.think(0.05)
"""


async def scrape(http: aiohttp.ClientSession, exporter: PrometheusExporter) -> dict[str, Any]:
    """Families by name; each sample as (name, labels) → value."""
    async with http.get(exporter.url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {"families": families, "samples": {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values() for s in f.samples
    }}


def value(scraped: dict[str, Any], sample: str, **labels: str) -> float:
    return scraped["samples"][(sample, tuple(sorted(labels.items())))]


async def test_scrapes_are_valid_and_the_last_matches_results(echo_server, write_scenario):
    path = write_scenario(SCENARIO)
    config = RunConfig(scenario=path, target=echo_server, users=4, spawn_rate=100,
                       duration_s=3, progress=False)
    async with from_options("127.0.0.1", 0) as exporter, aiohttp.ClientSession() as http:
        assert exporter.host == "127.0.0.1" and exporter.port > 0
        running = asyncio.create_task(run(config, load_scenario(path), [exporter]))
        while not exporter.row:  # the first row
            await asyncio.sleep(0.1)
        during = await scrape(http, exporter)
        results = await asyncio.wait_for(running, 20)
        final = await scrape(http, exporter)

    fams = during["families"]
    assert fams["horde_operations"].type == "counter"  # the parser strips _total
    assert fams["horde_latency_seconds"].type == "summary"
    assert fams["horde_users"].type == "gauge"
    assert value(during, "horde_run_finished") == 0
    assert value(during, "horde_users") == 4
    assert value(during, "horde_run_info", scenario="scenario", target=echo_server,
                 shape="constant") == 1
    for q in ("0.5", "0.95", "0.99"):
        assert value(during, "horde_latency_seconds", metric="ws_reply", name="echo",
                     quantile=q) > 0
        assert value(during, "horde_latency_window_seconds", metric="ws_reply", name="echo",
                     quantile=q) > 0
    assert value(during, "horde_latency_seconds_count", metric="ws_reply", name="echo") > 0
    assert value(during, "horde_value_window", name="reply_size", unit="bytes",
                 better="lower") == 42  # a value, in its unit, apart from latencies
    assert value(during, "horde_generator_resident_memory_bytes") > 10 * 2**20
    assert "horde_generator_cpu_ratio" in fams and "horde_generator_loop_lag_seconds" in fams
    assert "horde_target_cpu_ratio" not in fams  # no target monitored

    counters = {
        "horde_operations_total": results["operations"]["finished"],
        "horde_operations_failed_total": results["operations"]["failed"],
        "horde_messages_received_total": results["messages"]["received"],
        "horde_messages_sent_total": results["messages"]["sent"],
        "horde_iterations_total": results["iterations"]["completed"],
        "horde_payload_bytes_sent_total": results["bytes"]["payload_sent"],
        "horde_payload_bytes_received_total": results["bytes"]["payload_received"],
        "horde_decoded_bytes_received_total": results["bytes"]["decoded_received"],
    }
    for name, expected in counters.items():
        assert 0 < value(during, name) <= expected, name
        assert value(final, name) == expected, name  # the last scrape agrees exactly
    assert results["errors"]["http_503"] > 0
    assert value(final, "horde_errors_total", category="http_503") == results["errors"]["http_503"]
    assert value(final, "horde_users_started_total") == 4
    assert value(final, "horde_run_finished") == 1
    ws = results["metrics"]["ws_reply:echo"]
    assert value(final, "horde_latency_seconds_count", metric="ws_reply", name="echo") == ws["count"]
    assert value(final, "horde_latency_seconds", metric="ws_reply", name="echo",
                 quantile="0.99") == pytest.approx(ws["p99_ms"] / 1000, rel=0.01)


def test_monitored_target_figures_become_gauges_in_base_units():
    exporter = PrometheusExporter()
    exporter.on_row({"t": 3.0, "users": 1, "cpu_percent": 50.0, "rss_mb": 2.0,
                     "loop_lag_ms": 120.0, "generator_warning": "generator saturated: ...",
                     "target_cpu_percent": 150.0, "target_rss_mb": 100.0, "target_threads": 4,
                     "target_open_files": 2, "target_connections": 9,
                     "metrics": {"http_connect": {"count": 1, "p50_ms": 2.0, "p95_ms": 2.0,
                                                  "p99_ms": None}}})
    text = exporter.exposition().decode()
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples["horde_target_cpu_ratio"].value == 1.5
    assert samples["horde_target_resident_memory_bytes"].value == 100 * 2**20
    assert samples["horde_target_connections"].value == 9
    assert samples["horde_generator_cpu_ratio"].value == 0.5
    assert samples["horde_generator_loop_lag_seconds"].value == pytest.approx(0.12)
    assert samples["horde_generator_saturated"].value == 1
    assert samples["horde_elapsed_seconds"].value == 3.0
    window = [s for f in text_string_to_metric_families(text) for s in f.samples
              if s.name == "horde_latency_window_seconds"]
    assert {s.labels["quantile"] for s in window} == {"0.5", "0.95"}  # no p99: left out
    assert window[0].labels["metric"] == "http_connect" and window[0].labels["name"] == ""


def test_a_bad_port_is_a_config_error():
    with pytest.raises(ConfigError, match="--prometheus-port"):
        from_options("127.0.0.1", 70000)
