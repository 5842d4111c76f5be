"""results.json as a typed model: what every run writes, every report reads, and the history
stores — defined once, here.

The runner assembles a run's results and :func:`checked` passes them through
:class:`Results` before any sink sees them, so every key the schema names is there, with
its type, in every results.json (a field the code forgot, or one it renamed, fails the run's
tests rather than a reader's ``.get``). Runs read back from the history go through the same
model (:func:`from_stored`), older schemas upgraded on the way. The JSON Schema is
docs/results.schema.json (kept equal to :func:`json_schema` by a test).

The per-second rows and the per-metric tables are built as plain JSON on the hot side of
the run (once a second, thousands of rows) and validated here with everything else.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

SCHEMA = "horde.results/2"
Status = Literal["completed", "interrupted", "stopped", "aborted", "setup_failed", "incomplete"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Sparse(_Model):
    """Fields in ``SPARSE`` are written only when they have a value: an operation's
    outcomes on an operation metric, not ``null`` on every other metric."""

    SPARSE: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in self.SPARSE:
            if data.get(key) is None:
                data.pop(key, None)
        return data


class _Open(BaseModel):
    """A section whose producer may add fields (probes, trackers): known ones typed."""

    model_config = ConfigDict(extra="allow")


# -- the run -----------------------------------------------------------------------------


class RunSettings(_Model):
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    iterations: int | None = None
    shape: str | None = None
    seed: int | None = None  # --seed: the users' random numbers, to repeat the run


class PlanSegment(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stage: str
    start_s: float
    duration_s: float
    from_: float = Field(alias="from")
    to: float


class StageMetric(_Model):
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class Stage(_Model):
    stage: str
    from_s: float
    to_s: float
    peak_users: int
    peak_target: float = 0.0
    peak_in_flight: int = 0
    operations: int = 0
    failed: int = 0
    rate_per_s: float = 0.0
    messages: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    metrics: dict[str, StageMetric] = {}


class Sessions(_Model):
    started: int
    late: int
    dropped: int
    max_concurrent: int | None


class CircuitBreaker(_Model):
    limit: float
    tripped: bool
    tripped_at_s: float | None
    failure_rate: float | None


class Load(_Sparse):
    SPARSE: ClassVar[frozenset[str]] = frozenset({"sessions"})

    shape: str | None = None
    unit: str | None = None
    plan: list[PlanSegment] = []
    stages: list[Stage] = []
    circuit_breaker: CircuitBreaker | None = None
    sessions: Sessions | None = None


class Verdict(_Model):
    passed: bool
    reason: str


class ThresholdResult(_Model):
    expression: str
    observed: float | None
    passed: bool
    reason: str = ""


# -- what happened -----------------------------------------------------------------------


class KindOutcomes(_Model):
    finished: int
    ok: int
    failed: int
    unfinished: int


class Operations(_Model):
    """Every operation by how it ended (docs/results.md, "Operations")."""

    finished: int = 0
    ok: int = 0
    failed: int = 0
    unfinished: int = 0
    error_rate: float | None = None  # failed ÷ finished; None when nothing finished
    rate_per_s: float = 0.0
    peak_in_flight: int = 0
    failures: dict[str, int] = {}
    by_kind: dict[str, KindOutcomes] = {}


class BehaviourOutcomes(_Model):
    completed: int
    failed: int
    unfinished: int


class Iterations(_Model):
    completed: int | None = 0  # None: a rebuilt run, whose rows do not hold them
    failed: int | None = 0
    unfinished: int | None = 0
    failures: dict[str, int] = {}
    by_behaviour: dict[str, BehaviourOutcomes] = {}


class Connections(_Model):
    attempted: int | None = 0
    succeeded: int | None = 0
    failed: int | None = 0
    unfinished: int | None = 0
    dropped: int | None = 0
    reconnected: int | None = 0
    success_rate: float | None = None  # succeeded ÷ (succeeded + failed)
    peak_open: int = 0


class Users(_Model):
    peak_active: int = 0


class Messages(_Model):
    received: int = 0
    sent: int | None = 0
    received_per_s: float = 0.0
    sent_per_s: float | None = 0.0


class Metric(_Sparse):
    """One latency metric × name; an operation's also says how its operations ended."""

    SPARSE: ClassVar[frozenset[str]] = frozenset(
        {"ok", "failed", "unfinished", "failures", "approximate"})

    metric: str
    name: str | None
    count: int
    rate_per_s: float = 0.0
    min_ms: float | None = None
    mean_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    ok: int | None = None
    failed: int | None = None
    unfinished: int | None = None
    failures: dict[str, int] | None = None
    approximate: bool | None = None  # rebuilt from per-second rows


class Value(_Model):
    """One value the scenario recorded (``user.record(name, x, unit=...)``), in its unit;
    ``better`` says which way a change is an improvement (None: neither)."""

    unit: str
    better: Literal["higher", "lower"] | None = None
    count: int
    min: float | None = None
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None


class ProtocolBytes(_Model):
    sent: int
    received: int
    payload_sent: int
    payload_received: int
    connections: int
    decoded_sent: int | None = None  # None: a run from before horde counted it
    decoded_received: int | None = None


class Bytes(_Model):
    """Wire bytes (every TCP byte, from the kernel) beside payload (as carried: compressed,
    if it was) and the payload decoded, per protocol."""

    sent: int | None = 0  # None: a rebuilt run (its rows hold payload only)
    received: int | None = 0
    payload_sent: int | None = 0
    payload_received: int | None = 0
    decoded_sent: int | None = None  # None: a rebuilt run, or one from before horde counted it
    decoded_received: int | None = None
    by_protocol: dict[str, ProtocolBytes] = {}


class GeneratorSecond(_Open):
    t: float
    cpu_percent: float | None = None
    rss_mb: float | None = None
    loop_lag_ms: float | None = None


class Generator(_Open):
    """horde's own health (docs/monitoring.md); empty in a live snapshot."""

    saturated: bool | None = None
    reasons: list[str] = []
    cpu_percent_mean: float | None = None
    cpu_percent_max: float | None = None
    rss_peak_mb: float | None = None
    loop_lag_p99_ms: float | None = None
    timeseries: list[GeneratorSecond] = []


class RowMetric(_Sparse):
    SPARSE: ClassVar[frozenset[str]] = frozenset({"failed"})

    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    failed: int | None = None


class RowValue(_Model):
    count: int
    p50: float | None
    mean: float | None
    unit: str | None = None  # None: a run from before rows carried it
    better: Literal["higher", "lower"] | None = None


class Row(_Open):
    """One second of the run; a watched target adds its ``target_*`` fields."""

    t: float
    users: int = 0
    users_started: int = 0
    stage: str | None = None
    target: float | None = None
    connections_open: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    operations: int = 0
    failed: int = 0
    unfinished: int = 0
    messages: int = 0
    errors: int = 0
    errors_by_category: dict[str, int] = {}
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    bytes_sent: int = 0  # payload
    bytes_received: int = 0
    cpu_percent: float | None = None
    rss_mb: float | None = None
    loop_lag_ms: float | None = None
    generator_warning: str | None = None
    metrics: dict[str, RowMetric] = {}
    values: dict[str, RowValue] = {}


# -- sections the scenario's trackers add ------------------------------------------------


class GroupCounts(_Model):
    planned: int
    started: int
    formed: int
    completed: int
    failed: int
    incomplete: int
    formed_rate: float | None
    completed_rate: float | None
    failures: dict[str, int]


class Groups(GroupCounts):
    by_name: dict[str, GroupCounts] = {}


class StreamChunks(_Model):
    total: int
    mean: float
    max: int


class StreamTally(_Model):
    count: int
    completed: int
    incomplete: dict[str, int]
    chunks: StreamChunks
    stalls: int
    unfinished: int = 0


# -- analysis ----------------------------------------------------------------------------


class Estimate(_Sparse):
    SPARSE: ClassVar[frozenset[str]] = frozenset({"note"})

    value: float
    unit: str
    text: str
    evidence: dict[str, Any]
    note: str | None = None


class Finding(_Model):
    rule: str
    severity: Literal["critical", "warning", "info"]
    title: str
    detail: str
    evidence: dict[str, Any]


class Scaling(_Open):
    omitted: dict[str, str] = {}


class Analysis(_Model):
    projections: dict[str, Estimate] = {}
    scaling: Scaling = Scaling()
    findings: list[Finding] = []


# -- the whole -----------------------------------------------------------------------------


class LostWorker(_Model):
    """A worker that died during the run: when, why, and the users it took with it."""

    worker: int
    at_s: float | None = None
    reason: str
    users: int
    user_ids: list[int] = []
    pid: int | None = None
    node: str | None = None


class Workers(_Model):
    """A run on several workers (docs/scaling.md): how many, where, and any lost."""

    count: int
    cluster: str | None = None
    on_lost: str
    nodes: list[str] = []
    lost: list[LostWorker] = []


class Results(_Model):
    """results.json, schema ``horde.results/2`` (docs/results.md)."""

    schema_: str = Field(SCHEMA, alias="schema")
    horde_version: str
    run_id: int | None = None
    scenario: str
    scenario_file: str | None = None
    target: str
    config: RunSettings | dict[str, Any] = RunSettings()
    started_at: str
    finished_at: str | None = None
    duration_s: float
    status: Status
    incomplete: bool | None = None
    incomplete_note: str | None = None
    abort_reason: str | None = None
    out_dir: str | None = None
    load: Load = Load()
    passed: bool
    verdict: Verdict
    thresholds: list[ThresholdResult] = []
    operations: Operations = Operations()
    iterations: Iterations = Iterations()
    connections: Connections = Connections()
    users: Users = Users()
    messages: Messages = Messages()
    metrics: dict[str, Metric] = {}
    counters: dict[str, int] = {}
    errors: dict[str, int] = {}
    errors_total: int = 0
    error_details: dict[str, dict[str, int]] = {}
    error_examples: dict[str, str] = {}
    values: dict[str, Value] = {}
    bytes: Bytes = Bytes()
    generator: Generator = Generator()
    workers: Workers | None = None
    groups: Groups | None = None
    events: dict[str, int] | None = None
    broadcasts: dict[str, dict[str, Any]] | None = None
    isolation: dict[str, Any] | None = None
    ordering: dict[str, Any] | None = None
    streams: dict[str, StreamTally] | None = None
    target_monitor: dict[str, Any] | None = None
    timeseries: list[Row] = []
    analysis: Analysis | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def checked(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` passed through :class:`Results`: every field there with its type (a
    ``ValidationError`` names one that is not), and nothing the schema does not know.
    Sections the run did not make are left out, as results.json always left them."""
    model = Results.model_validate(results)
    return model.model_dump(mode="json", by_alias=True, exclude_unset=False,
                            exclude={k for k in _OPTIONAL if getattr(model, k) is None})


_OPTIONAL = ("workers", "groups", "events", "broadcasts", "isolation", "ordering", "streams",
             "target_monitor", "run_id", "incomplete", "incomplete_note", "analysis")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of results.json (published in docs/results.md)."""
    return Results.model_json_schema(by_alias=True, mode="serialization")


def from_stored(results: dict[str, Any]) -> dict[str, Any]:
    """A results dict read back from the run history, in today's schema: a run stored by
    an older horde (schema 1: ``requests`` where there are now ``operations``) upgraded,
    then checked like a new one."""
    if results.get("schema") == "horde.results/1":
        results = _from_v1(results)
    return checked(results)


def _from_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 → 2: its requests become the operations it knew (connects not counted
    then), its errors.rate the one it computed; what it never recorded stays unknown."""
    new = {k: v for k, v in old.items() if k != "requests"}
    requests = old.get("requests") or {}
    total = requests.get("total") or 0
    attempted = (old.get("connections") or {}).get("attempted") or 0
    errors = old.get("errors_total") or 0
    new["schema"] = SCHEMA
    new["operations"] = {
        "finished": total, "ok": max(total - errors, 0), "failed": min(errors, total),
        "unfinished": 0, "rate_per_s": requests.get("rate_per_s") or 0.0,
        "peak_in_flight": requests.get("peak_in_flight") or 0,
        "error_rate": round(errors / (total + attempted), 6) if total + attempted else None,
    }
    new["iterations"] = {"completed": (old.get("iterations") or {}).get("completed"),
                         "failed": None, "unfinished": None}
    passed = bool(old.get("passed"))
    new["verdict"] = {"passed": passed, "reason": "stored by an older horde (schema 1)"}
    new["thresholds"] = [{**t, "reason": t.get("reason") or ""}
                         for t in old.get("thresholds") or []]
    for row in new.get("timeseries") or []:
        if "requests" in row:
            row["operations"] = row.pop("requests")
    for stage in (new.get("load") or {}).get("stages") or []:
        if "requests" in stage:
            stage["operations"] = stage.pop("requests")
    return new
