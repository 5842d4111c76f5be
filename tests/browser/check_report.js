// Open a horde HTML report in Debian's chromium and print what the DOM shows as JSON:
// every chart container's id, data-points and whether it holds a <canvas>; and what each
// chart drew on its canvas (drawn.js).
//
//   node check_report.js REPORT.html [SCREENSHOT.png]
//
// The flags keep a machine without internet (and without a display or GPU) from waiting
// on network services chromium would otherwise contact at start.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const os = require("node:os");
const { chromium } = require("playwright-core");
const { capture, drawnValues } = require("./drawn.js");

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function main() {
  const [report, screenshot] = process.argv.slice(2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "horde-chromium-"));
  // A fresh profile each time: Playwright passes it to chromium as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    timeout: 20000,
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    const requests = [];
    page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
    await page.addInitScript(capture);
    await page.goto("file://" + path.resolve(report), { waitUntil: "load", timeout: 15000 });
    const charts = await page.$$eval(".chart", (els) => els.map((el) => ({
      id: el.id,
      points: el.dataset.points === undefined ? null : Number(el.dataset.points),
      canvas: el.querySelector("canvas") !== null,
    })));
    const verdict = await page.textContent("#verdict");
    const drawn = await drawnValues(page);
    if (screenshot) {
      // The top of the page (verdict, charts, facts, thresholds, analysis): what a reader
      // sees first; the long tables below add megabytes, not information.
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.screenshot({ path: screenshot, fullPage: true,
        clip: { x: 0, y: 0, width: 1280, height: Math.min(height, 2100) } });
    }
    process.stdout.write(JSON.stringify({ charts, drawn, verdict, errors, requests }) + "\n");
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
