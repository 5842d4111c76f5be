// horde's live dashboard: one EventSource feeds the charts, figures and tables.
// Events: "backlog" (every row so far, by column), "row" (one per second), "status"
// (state, thresholds, errors), "finish" (the same, once the run has ended).
"use strict";

const token = new URLSearchParams(location.search).get("token");
const withToken = (path) =>
  token ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : path;

const COLORS = ["#0969da", "#8250df", "#1a7f37", "#bf8700", "#cf222e"];
// A series names the row field it draws, or several: the first a row has (the per-second
// rows' request count is being renamed to "operations"; either is drawn).
const RATE = ["operations", "requests"];
const CHARTS = [
  { id: "chart-users", series: [["users", "users"], ["target", "target"], ["connections_open", "connections"], ["in_flight", "in flight"]] },
  { id: "chart-rates", series: [[RATE, "operations/s"], ["messages", "messages/s"]] },
  { id: "chart-latency", series: [["p50_ms", "p50"], ["p95_ms", "p95"], ["p99_ms", "p99"]] },
  { id: "chart-errors", series: [["errors", "errors/s"]], colors: ["#cf222e"] },
  { id: "chart-resources", series: [["cpu_percent", "horde CPU %"], ["target_cpu_percent", "target CPU %"], ["loop_lag_ms", "horde loop lag ms"]] },
];

const names = (field) => (Array.isArray(field) ? field : [field]);
const keyOf = (field) => names(field).join("|");
const valueOf = (row, field) => names(field).map((n) => row[n]).find((v) => v != null) ?? null;

const data = { t: [] }; // one column per series key, all as long as t
const fields = { t: "t" }; // series key → the field(s) it reads
const charts = [];
const $ = (id) => document.getElementById(id);

// A value between two gaps (a second with samples between seconds without, as a polling
// workload gives) has no line to a neighbour, and uPlot draws its points only while the
// chart has few: such a value would not show at all. It gets a dot; no line crosses a gap,
// since a second without samples has no latency (or rate) to draw.
function lonePoints(u, si, show) {
  if (show) return null; // uPlot draws every point already
  const ys = u.data[si];
  const [first, last] = u.series[0].idxs;
  const lone = [];
  for (let i = first; i <= last; i++) {
    if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) lone.push(i);
  }
  return lone.length ? lone : null;
}

function makeChart(spec) {
  const el = $(spec.id);
  for (const [field] of spec.series) {
    fields[keyOf(field)] = field;
    data[keyOf(field)] = data[keyOf(field)] || data.t.map(() => null);
  }
  const colors = spec.colors || COLORS;
  const stroke = (i) => colors[i % colors.length];
  const opts = {
    width: Math.max(el.clientWidth, 300),
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: "seconds" }, {}],
    series: [
      { label: "t", value: (u, v) => (v == null ? "–" : v.toFixed(0) + " s") },
      ...spec.series.map(([, label], i) => ({
        label, stroke: stroke(i), width: 1.5, spanGaps: false,
        points: { size: 5, fill: stroke(i), filter: lonePoints },
      })),
    ],
  };
  const plot = new uPlot(opts, columnsOf(spec), el);
  charts.push({ spec, el, plot });
}

function columnsOf(spec) {
  return [data.t, ...spec.series.map(([field]) => data[keyOf(field)])];
}

function redraw() {
  for (const { spec, el, plot } of charts) {
    plot.setData(columnsOf(spec));
    el.dataset.points = String(data.t.length);
  }
}

function push(row) {
  for (const [key, field] of Object.entries(fields)) data[key].push(valueOf(row, field));
}

// The backlog comes by column; it is read row by row so each series picks its field the
// same way as for a live row.
function resetData(columns) {
  for (const key of Object.keys(data)) data[key].length = 0;
  const count = (columns.t || []).length;
  for (let i = 0; i < count; i++) {
    push(Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, values[i]])));
  }
  const p95s = columns.p95_ms || [];
  for (let i = p95s.length - 1; i >= 0; i--) {
    if (p95s[i] != null) { lastP95 = { value: p95s[i], t: columns.t[i] }; break; }
  }
  const warnings = (columns.generator_warning || []).filter(Boolean);
  showWarning(warnings.length ? warnings[warnings.length - 1] : null);
  redraw();
}

function addRow(row) {
  push(row);
  showRow(row);
  showWarning(row.generator_warning);
  redraw();
}

// horde's own limit, said at once: figures may show the generator, not the target.
function showWarning(text) {
  const el = $("generator-warning");
  if (!text) return;
  el.textContent = "⚠ generator saturated: " + text + " — figures may show horde's limit, not the target's";
  el.hidden = false;
}

// -- figures and tables ----------------------------------------------------------------

const fmt = (v, digits = 0) => (v == null ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: digits }));

function showRow(row) {
  if (!row) return;
  $("fig-elapsed").textContent = fmt(row.t) + " s";
  $("fig-stage").textContent = row.stage || "–";
  $("fig-users").textContent = fmt(row.users);
  $("fig-target").textContent = fmt(row.target, 1);
  $("fig-connections").textContent = fmt(row.connections_open);
  $("fig-inflight").textContent = fmt(row.in_flight);
  $("fig-rps").textContent = fmt(valueOf(row, RATE));
  if (row.p95_ms != null && (lastP95 == null || row.t >= lastP95.t)) lastP95 = { value: row.p95_ms, t: row.t };
  $("fig-p95").textContent = p95Text(row.t);
  lastValues = row.values || {};
  showValues();
  showWorkers(row.workers, row.workers_lost);
}

// A run on workers (--workers N): each one's share and health, so one saturated worker
// is seen even when the sums look fine.
function showWorkers(workers, lost) {
  $("workers-panel").hidden = !workers || workers.length === 0;
  if (!workers) return;
  $("workers-lost").textContent = lost ? "· " + lost + " lost" : "";
  const body = $("workers").tBodies[0];
  body.replaceChildren();
  for (const w of workers) {
    const tr = document.createElement("tr");
    for (const text of [w.worker, fmt(w.users), fmt(w.cpu_percent, 1), fmt(w.loop_lag_ms, 1), fmt(w.rss_mb)]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: String(text) }));
    }
    body.append(tr);
  }
}

// A polling workload measures nothing most seconds: the p95 shown is the last one
// measured, with its age, rather than a dash most of the time.
let lastP95 = null;

function p95Text(now) {
  if (lastP95 == null) return "–";
  const age = now - lastP95.t;
  return fmt(lastP95.value, 1) + " ms" + (age >= 1 ? " (" + fmt(age) + " s ago)" : "");
}

// Values the scenario records (tokens/s, sizes…): each in its own unit, apart from the
// latencies. Medians come with each row; units and directions with each status.
let lastValues = {};
let valueSpecs = {};

function showValues() {
  const names = [...new Set([...Object.keys(valueSpecs), ...Object.keys(lastValues)])].sort();
  $("values-panel").hidden = names.length === 0;
  const body = $("values").tBodies[0];
  body.replaceChildren();
  for (const name of names) {
    const spec = valueSpecs[name] || {};
    const tr = document.createElement("tr");
    for (const text of [name, fmt(lastValues[name], 2), spec.unit || "–", spec.better || "–"]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    body.append(tr);
  }
}

function showStatus(s) {
  const state = $("state");
  state.dataset.state = s.state;
  let text = s.state;
  if (s.state === "finished") {
    text = "finished: " + s.run_status + (s.passed === false ? " (failed)" : s.passed ? " (passed)" : "");
    state.dataset.passed = String(s.passed);
  }
  state.textContent = text;
  if (s.scenario) $("scenario").textContent = "· " + s.scenario;
  if (s.target) $("target").textContent = s.target + (s.shape ? " · " + s.shape : "");
  valueSpecs = s.values || {};
  showRow(s.row);
  $("fig-errors").textContent = fmt(s.errors_total);
  showThresholds(s.thresholds || []);
  showErrors(s.errors || {});
  showControls(s);
}

function showThresholds(list) {
  const ul = $("thresholds");
  ul.replaceChildren();
  if (!list.length) {
    ul.append(Object.assign(document.createElement("li"), { className: "muted", textContent: "none" }));
  }
  for (const t of list) {
    const li = document.createElement("li");
    li.className = t.observed == null ? "pending" : t.passed ? "pass" : "fail";
    const observed = t.observed == null ? "–" : String(+Number(t.observed).toPrecision(4));
    li.textContent = t.expression + "  (observed " + observed + ")";
    ul.append(li);
  }
}

function showErrors(errors) {
  const body = $("errors").tBodies[0];
  body.replaceChildren();
  for (const [category, count] of Object.entries(errors).sort((a, b) => b[1] - a[1])) {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("td"), { textContent: category }));
    tr.append(Object.assign(document.createElement("td"), { textContent: fmt(count) }));
    body.append(tr);
  }
}

function showControls(s) {
  const over = s.state === "finished" || s.state === "stopping";
  $("stop-run").disabled = over || s.state === "waiting";
  const noUsers = over || s.state === "waiting" || s.open_model;
  $("users-input").disabled = noUsers;
  $("users-apply").disabled = noUsers;
  if (s.open_model && !over) say("arrival-rate run: sessions start when due, the user count is not set");
}

// -- controls --------------------------------------------------------------------------

function say(text) {
  $("control-message").textContent = text;
}

async function post(path, body) {
  const response = await fetch(withToken(path), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

$("users-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const users = Number($("users-input").value);
  try {
    const answer = await post("/api/users", { users });
    say("holding " + answer.users + " users");
  } catch (e) {
    say("not applied: " + e.message);
  }
});

$("stop-run").addEventListener("click", async () => {
  try {
    await post("/api/stop", {});
    say("stopping: results will be written");
  } catch (e) {
    say("not stopped: " + e.message);
  }
});

// -- the stream ------------------------------------------------------------------------

for (const spec of CHARTS) makeChart(spec);
window.addEventListener("resize", () => {
  for (const { el, plot } of charts) plot.setSize({ width: Math.max(el.clientWidth, 300), height: 220 });
});

const events = new EventSource(withToken("/api/events"));
events.addEventListener("backlog", (e) => resetData(JSON.parse(e.data).columns));
events.addEventListener("row", (e) => addRow(JSON.parse(e.data)));
events.addEventListener("status", (e) => showStatus(JSON.parse(e.data)));
events.addEventListener("finish", (e) => {
  showStatus(JSON.parse(e.data));
  events.close(); // the server goes away next: don't reconnect
});
