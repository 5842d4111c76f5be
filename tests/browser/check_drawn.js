// Open a horde page with charts (the HTML report or the live dashboard) in Debian's
// chromium, 560 px wide (a narrow window: charts at their minimum width), wait until its
// latency chart has ROWS seconds, and print as JSON what each chart drew (drawn.js): values,
// and values with nothing drawn. On the dashboard it then clicks Stop, waits for the
// finished run and looks again.
//
//   node check_drawn.js URL ROWS [SCREENSHOT.png]
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const { chromium } = require("playwright-core");
const { capture, drawnValues } = require("./drawn.js");

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function latencyRows() {
  const chart = (window.__hordeCharts || []).find((c) => c.el.id === "chart-latency");
  return chart ? chart.u.data[0].length : 0;
}

async function main() {
  const [url, rows, screenshot] = process.argv.slice(2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "horde-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ARGS,
    viewport: { width: 560, height: 1000 },
    timeout: 20000,
  });
  const out = { errors: [] };
  try {
    const page = await context.newPage();
    page.on("pageerror", (e) => out.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
    await page.addInitScript(capture);
    await page.goto(url.includes("://") ? url : "file://" + path.resolve(url), { waitUntil: "load", timeout: 15000 });
    await page.waitForFunction(`(${latencyRows})() >= ${Number(rows)}`, null, { timeout: 90000 });
    out.drawn = await drawnValues(page);
    if (await page.$("#fig-p95")) out.p95 = await page.textContent("#fig-p95");
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    if (await page.$("#stop-run")) {
      await page.click("#stop-run");
      await page.waitForFunction(() => document.getElementById("state").dataset.state === "finished", null, { timeout: 15000 });
      out.drawn_finished = await drawnValues(page);
    }
  } finally {
    process.stdout.write(JSON.stringify(out) + "\n");
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
