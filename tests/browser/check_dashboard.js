// Drive horde's live dashboard in Debian's chromium during a real run and print what
// happened as JSON: the charts' data-points growing, the users figure before and after
// setting users, the state after clicking stop; and what each chart drew (drawn.js).
//
//   node check_dashboard.js URL USERS [SCREENSHOT.png]
//
// Same chromium flags as check_report.js: no network services, no GPU, a fresh profile.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const { chromium } = require("playwright-core");
const { capture, drawnValues } = require("./drawn.js");

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const CHARTS = ["chart-users", "chart-rates", "chart-latency", "chart-errors", "chart-resources"];

const points = (page, id) => page.$eval("#" + id, (el) => Number(el.dataset.points));

async function main() {
  const [url, users, screenshot] = process.argv.slice(2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "horde-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ARGS,
    viewport: { width: 1280, height: 1000 },
    timeout: 20000,
  });
  const out = { errors: [], requests: [] };
  try {
    const page = await context.newPage();
    page.on("pageerror", (e) => out.errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
    const origin = new URL(url).origin;
    page.on("request", (r) => { if (!r.url().startsWith(origin)) out.requests.push(r.url()); });
    await page.addInitScript(capture);
    await page.goto(url, { waitUntil: "load", timeout: 10000 });

    // the charts fill as rows arrive, one a second
    await page.waitForFunction(() => Number(document.getElementById("chart-users").dataset.points) >= 2, null, { timeout: 10000 });
    out.points_first = await points(page, "chart-users");
    await page.waitForFunction((n) => Number(document.getElementById("chart-users").dataset.points) > n, out.points_first, { timeout: 5000 });
    out.points_later = {};
    for (const id of CHARTS) out.points_later[id] = await points(page, id);
    out.drawn = await drawnValues(page);
    out.values = await page.$$eval("#values tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    out.canvases = await page.$$eval(".chart canvas", (els) => els.length);
    out.state_running = await page.getAttribute("#state", "data-state");
    out.users_before = await page.textContent("#fig-users");

    // set the user count and see the figure follow
    await page.fill("#users-input", users);
    await page.click("#users-apply");
    await page.waitForFunction((n) => document.getElementById("fig-users").textContent === n, users, { timeout: 10000 });
    out.users_after = await page.textContent("#fig-users");
    out.message = await page.textContent("#control-message");
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

    // stop: the run ends and the page says so
    await page.click("#stop-run");
    await page.waitForFunction(() => document.getElementById("state").dataset.state === "finished", null, { timeout: 10000 });
    out.state_after = await page.textContent("#state");
    out.stop_disabled = await page.isDisabled("#stop-run");
  } finally {
    process.stdout.write(JSON.stringify(out) + "\n");
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
