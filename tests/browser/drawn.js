// Are the charts' values actually *drawn*? Counting data values says nothing about the
// canvas: uPlot draws no line through a value whose neighbours are both null, so a sparse
// series (a request every few seconds) can leave a chart empty with every value "there".
//
// `capture` runs in the page before its scripts (page.addInitScript) and wraps the uPlot
// constructor to keep each chart, its element and its series' colours. `drawnValues` then
// reads each chart's canvas pixels (getImageData) at every non-null value's position and
// counts the values with no pixel of any of that chart's series colours near them.
// The page's own code is not touched: what a user sees is what is checked.
"use strict";

function capture() {
  let wrapped;
  Object.defineProperty(window, "uPlot", {
    configurable: true,
    get: () => wrapped,
    set(U) {
      wrapped = function (opts, data, el) {
        const u = new U(opts, data, el);
        const colors = opts.series.slice(1).map((s) => s.stroke).filter((c) => typeof c === "string");
        (window.__hordeCharts = window.__hordeCharts || []).push({ u, el, colors });
        return u;
      };
      Object.assign(wrapped, U);
      wrapped.prototype = U.prototype;
    },
  });
}

// In the page: one summary per chart. RADIUS: how far from a value's exact position a
// pixel may be (a line's anti-aliasing, a point's radius); TOLERANCE: per channel.
function inspect({ radius, tolerance }) {
  const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  return (window.__hordeCharts || []).map(({ u, el, colors }) => {
    const rgb = colors.map(hex);
    const canvas = u.root.querySelector("canvas");
    const { width, height } = canvas;
    const px = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    const inked = (x, y) => {
      if (x < 0 || y < 0 || x >= width || y >= height) return false;
      const i = (y * width + x) * 4;
      if (px[i + 3] < 128) return false; // transparent or a faint grid line
      return rgb.some((c) => c.every((v, k) => Math.abs(px[i + k] - v) <= tolerance));
    };
    const near = (cx, cy) => {
      for (let dy = -radius; dy <= radius; dy++) {
        for (let dx = -radius; dx <= radius; dx++) if (inked(cx + dx, cy + dy)) return true;
      }
      return false;
    };
    const xs = u.data[0];
    // px_per_row: uPlot draws every point by itself only where they are ≥ 12 px apart
    const pxPerRow = xs.length > 1 ? u.bbox.width / devicePixelRatio / (xs.length - 1) : null;
    const out = { id: el.id, rows: xs.length, px_per_row: pxPerRow, values: 0, missing: 0,
      seconds: 0, examples: [] };
    const seen = new Set();
    for (let s = 1; s < u.series.length; s++) {
      if (!u.series[s].show) continue;
      const ys = u.data[s] || [];
      for (let i = 0; i < xs.length; i++) {
        if (ys[i] == null || xs[i] == null) continue;
        out.values++;
        seen.add(i);
        const cx = Math.round(u.valToPos(xs[i], "x", true));
        const cy = Math.round(u.valToPos(ys[i], u.series[s].scale, true));
        if (!near(cx, cy)) {
          out.missing++;
          if (out.examples.length < 5) out.examples.push({ series: u.series[s].label, t: xs[i], v: ys[i] });
        }
      }
    }
    out.seconds = seen.size;
    return out;
  });
}

const drawnValues = (page) => page.evaluate(inspect, { radius: 2, tolerance: 40 });

module.exports = { capture, drawnValues };
