// horde's HTML report: draws every .chart container from the embedded results JSON with
// uPlot. Each chart marks itself with data-points (how many values it holds) so a test can
// check the DOM for "rendered with data" (tests/browser/drawn.js checks the canvas).
(function () {
  "use strict";
  const R = JSON.parse(document.getElementById("horde-results").textContent);
  // The last row of a run may cover only the few milliseconds before the stop: too short
  // to give a rate or a sample of CPU, it would end every line in a cliff. Left out here;
  // its counts are in the totals below the charts.
  const all = R.timeseries || [];
  const last = all.length > 1 ? all[all.length - 1].t - all[all.length - 2].t : 1;
  const rows = last < 0.25 ? all.slice(0, -1) : all;
  const COLORS = ["#2f6fb3", "#d9822b", "#b42318", "#1f7a3f", "#7a4eb3", "#0f8a8a",
                  "#a15c07", "#c2417c", "#4a5563", "#6b8e23"];
  // A key may be several names: the first a row has as a number (the per-second rows'
  // request count is being renamed to "operations"; either is drawn).
  const num = (r, key) => [].concat(key).map((k) => r[k]).find((v) => typeof v === "number");
  const col = (list, key) => list.map((r) => num(r, key) ?? null);
  const kb = (values) => values.map((v) => (v === null ? null : v / 1024));
  // Counts per second of each row (rows are about a second long; not exactly).
  const spans = rows.map((r, i) => r.t - (i ? rows[i - 1].t : 0));
  const rate = (values) => values.map((v, i) => (v === null || spans[i] <= 0 ? null
    : v / spans[i]));

  function perMetric(stat) {
    const labels = [];
    rows.forEach((r) => Object.keys(r.metrics || {}).forEach((k) => {
      if (!labels.includes(k)) labels.push(k);
    }));
    // Iterations include think time: they would dwarf every request → reply metric.
    return labels.filter((k) => !k.startsWith("iteration:")).slice(0, COLORS.length).map((k) => [
      k, rows.map((r) => { const m = (r.metrics || {})[k]; return m ? m[stat] ?? null : null; }),
    ]);
  }

  // Recorded values (tokens/s, sizes…): each its per-second median, labelled with its unit;
  // kept off the latency charts, whose lower-is-better reading they need not share.
  function perValue() {
    return Object.entries(R.values || {}).slice(0, COLORS.length).map(([name, v]) => [
      `${name} (${v.unit})`,
      rows.map((r) => { const s = (r.values || {})[name]; return s ? s.p50 ?? null : null; }),
    ]);
  }

  function errorsOverTime() {
    // Per category when the rows carry a split, else the total per second.
    const key = "errors_by_category";
    const cats = [];
    rows.forEach((r) => Object.keys(r[key] || {}).forEach((c) => {
      if (!cats.includes(c)) cats.push(c);
    }));
    if (!cats.length) return [["errors", rate(col(rows, "errors"))]];
    return cats.map((c) => [c, rate(rows.map((r) => (r[key] || {})[c] || 0))]);
  }

  function targetSeries() {
    const ts = (R.target_monitor || {}).timeseries || [];
    const keys = [];
    ts.forEach((r) => Object.keys(r).forEach((k) => {
      if (k !== "t" && typeof r[k] === "number" && !keys.includes(k)) keys.push(k);
    }));
    return { x: col(ts, "t"), series: keys.map((k) => [k, col(ts, k)]) };
  }

  const ROWS_X = col(rows, "t");
  const CHARTS = {
    "chart-latency": () => ({ x: ROWS_X, series: [["p50", col(rows, "p50_ms")],
      ["p95", col(rows, "p95_ms")], ["p99", col(rows, "p99_ms")]] }),
    "chart-latency-by-metric": () => ({ x: ROWS_X, series: perMetric("p95_ms") }),
    "chart-values": () => ({ x: ROWS_X, series: perValue() }),
    "chart-throughput": () => ({ x: ROWS_X, series: [
      ["operations/s", rate(col(rows, ["operations", "requests"]))],
      ["messages/s", rate(col(rows, "messages"))]] }),
    "chart-load": () => ({ x: ROWS_X, series: [["users", col(rows, "users")],
      ["connections open", col(rows, "connections_open")],
      ["in flight", col(rows, "in_flight")]] }),
    "chart-errors": () => ({ x: ROWS_X, series: errorsOverTime() }),
    "chart-bandwidth": () => ({ x: ROWS_X, series: [
      ["sent KiB/s", kb(rate(col(rows, "bytes_sent")))],
      ["received KiB/s", kb(rate(col(rows, "bytes_received")))]] }),
    "chart-generator": () => ({ x: ROWS_X, series: [["CPU %", col(rows, "cpu_percent")],
      ["loop lag ms", col(rows, "loop_lag_ms")], ["RSS MB", col(rows, "rss_mb"), "right"]] }),
    "chart-target": targetSeries,
  };

  // A value between two gaps (a second with samples between seconds without, as a polling
  // workload gives) has no line to a neighbour, and uPlot draws its points only while the
  // chart has few: such a value would not show at all. It gets a dot; no line crosses a
  // gap, since a second without samples has no latency (or rate) to draw.
  function lonePoints(u, si, show) {
    if (show) return null;  // uPlot draws every point already
    const ys = u.data[si];
    const [first, last] = u.series[0].idxs;
    const lone = [];
    for (let i = first; i <= last; i++) {
      if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) lone.push(i);
    }
    return lone.length ? lone : null;
  }

  function draw(el) {
    const build = CHARTS[el.id];
    if (!build) return;
    const spec = build();
    const right = spec.series.some((s) => s[2] === "right");
    const opts = {
      width: Math.max(el.clientWidth, 300), height: 220,
      scales: { x: { time: false } },
      legend: { live: false },
      axes: [{ label: "seconds" }, { scale: "y" }],
      series: [{ label: "t" }].concat(spec.series.map((s, i) => ({
        label: s[0], stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
        scale: s[2] === "right" ? "y2" : "y",
        points: { size: 5, fill: COLORS[i % COLORS.length], filter: lonePoints },
      }))),
    };
    if (right) opts.axes.push({ scale: "y2", side: 1, grid: { show: false } });
    const data = [spec.x].concat(spec.series.map((s) => s[1]));
    new uPlot(opts, data, el);  // eslint-disable-line no-new
    // Points drawn: non-null values over all series (an all-null series draws nothing).
    const drawn = spec.series.reduce((n, s) => n + s[1].filter((v) => v !== null).length, 0);
    el.dataset.points = String(drawn);
  }

  document.querySelectorAll(".chart").forEach(draw);
})();
