// Inline-SVG charts for the supervisor pages: no library, no CDN, no innerHTML.
//
// Every function returns a fresh <svg> element (built with createElementNS) that scales to
// its container's width (viewBox + width 100%). Labels and values become text nodes only.
//
//   barChart(data, opts)
//     data: [{label: "09:00", value: 12, title?: "tooltip"}]
//   lineChart(series, opts)
//     series: [{name: "Service level", values: [0.8, null, 0.9], color?: "#..."}]
//     opts.labels: x-axis labels, one per value index (required)
//   stackedBars(labels, series, opts)
//     labels: ["09:00", "09:15"]; series: [{name: "answered", values: [3, 4], color?}]
//
// Common opts (all optional):
//   width (600), height (220)    the viewBox size; the element itself is width: 100%
//   title                         an accessible name (<title> + aria-label)
//   yMax                          fixed top of the y axis (e.g. 1 for ratios); default: nice max of the data
//   integer (false)               whole-number ticks (counts of calls, customers…)
//   yFormat (v => string)         tick and tooltip format, e.g. (v) => `${Math.round(v * 100)}%`
//   xEvery                        label every n-th category (default: as many as fit)
//   color                         bar colour for barChart
//   legend (true)                 draw a legend row for multi-series charts
//   emptyText ("no data")         shown when there is nothing to draw
//   className                     extra class on the <svg>
//
// Missing values (null/undefined/NaN) are gaps: no bar, a break in the line.
// X labels are never cut: labels wider than their place are drawn slanted, with the room they need.

const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const MARGIN = { top: 14, right: 12, bottom: 30, left: 44 };
const LEGEND_HEIGHT = 18;
const CHAR_WIDTH = 6.6; // a generous width of one character at font-size 11 (CJK is wider: counted twice)
const SLANT = Math.PI / 4;

function textWidth(label) {
  let width = 0;
  for (const ch of String(label ?? "")) width += ch.charCodeAt(0) > 0x2e80 ? CHAR_WIDTH * 1.8 : CHAR_WIDTH;
  return width;
}

/** How the x labels fit: every n-th label, slanted or not, and the margins that keeps them whole. */
function labelLayout(labels, opts) {
  const width = opts.width || 600;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const band = plotWidth / Math.max(labels.length, 1);
  const every = opts.xEvery || Math.max(1, Math.ceil(44 / band));
  const widest = Math.max(0, ...labels.map(textWidth));
  if (widest <= band * every - 4) return { every, slant: false, bottom: MARGIN.bottom, left: MARGIN.left };
  const reach = widest * Math.cos(SLANT);
  return {
    every,
    slant: true,
    bottom: Math.ceil(widest * Math.sin(SLANT)) + 20,
    left: Math.max(MARGIN.left, Math.ceil(reach - band / 2) + 6),
  };
}

/** Create an SVG element with attributes (no "text" key: use textContent on purpose). */
export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function textNode(x, y, content, attrs) {
  const node = svgEl("text", { x, y, ...attrs });
  node.textContent = String(content);
  return node;
}

function isNumber(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** A "nice" axis top (1, 2, 2.5, 5 × 10^n) at or above max, and a tick step. */
export function niceScale(max, ticks = 4) {
  if (!isNumber(max) || max <= 0) return { top: 1, step: 0.25 };
  const rough = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) || 10 * magnitude;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

function defaultFormat(v) {
  if (!isNumber(v)) return "–";
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 1 : 0);
}

function frame(opts, hasLegend, layout) {
  const bottom = layout ? layout.bottom : MARGIN.bottom;
  const left = layout ? layout.left : MARGIN.left;
  const width = opts.width || 600;
  const height = (opts.height || 220) + (bottom - MARGIN.bottom);
  const top = MARGIN.top + (hasLegend ? LEGEND_HEIGHT : 0);
  const svg = svgEl("svg", {
    xmlns: NS,
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    preserveAspectRatio: "xMidYMid meet",
    role: "img",
    class: ["chart", opts.className].filter(Boolean).join(" "),
    "aria-label": opts.title || null,
    "font-family": "system-ui, sans-serif",
    "font-size": 11,
    "data-bottom": bottom,
    "data-left": left,
  });
  if (opts.title) svg.append(svgEl("title", {}, opts.title));
  const plot = {
    x: left,
    y: top,
    w: width - left - MARGIN.right,
    h: height - top - bottom,
  };
  return { svg, plot, width, height };
}

function emptyChart(opts) {
  const { svg, plot } = frame(opts, false);
  svg.append(
    textNode(plot.x + plot.w / 2, plot.y + plot.h / 2, opts.emptyText || "no data", {
      "text-anchor": "middle",
      fill: "#6b7280",
      class: "chart-empty",
    }),
  );
  return svg;
}

// Y axis with grid lines and labels; returns the value → y mapping.
function yAxis(svg, plot, maxValue, opts) {
  let { top, step } = isNumber(opts.yMax) ? { top: opts.yMax, step: opts.yMax / 4 } : niceScale(maxValue);
  if (opts.integer) {
    step = Math.max(1, Math.ceil(step));
    top = Math.max(step, Math.ceil(top / step) * step);
  }
  const format = opts.yFormat || defaultFormat;
  const scale = (v) => plot.y + plot.h - (Math.min(Math.max(v, 0), top) / top) * plot.h;
  const axis = svgEl("g", { class: "chart-axis chart-y" });
  for (let v = 0; v <= top + step / 1000; v += step) {
    const y = scale(v);
    axis.append(
      svgEl("line", { x1: plot.x, x2: plot.x + plot.w, y1: y, y2: y, stroke: "#e5e7eb", "stroke-width": 1 }),
      textNode(plot.x - 6, y + 4, format(v), { "text-anchor": "end", fill: "#4b5563" }),
    );
  }
  axis.append(
    svgEl("line", {
      x1: plot.x,
      x2: plot.x,
      y1: plot.y,
      y2: plot.y + plot.h,
      stroke: "#9ca3af",
      "stroke-width": 1,
    }),
  );
  svg.append(axis);
  return scale;
}

// X axis labels under each category band, thinned so they do not overlap.
function xAxis(svg, plot, labels, opts, layout) {
  const band = plot.w / Math.max(labels.length, 1);
  const every = layout ? layout.every : opts.xEvery || Math.max(1, Math.ceil(44 / band));
  const slant = Boolean(layout && layout.slant);
  const axis = svgEl("g", { class: "chart-axis chart-x" });
  axis.append(
    svgEl("line", {
      x1: plot.x,
      x2: plot.x + plot.w,
      y1: plot.y + plot.h,
      y2: plot.y + plot.h,
      stroke: "#9ca3af",
      "stroke-width": 1,
    }),
  );
  labels.forEach((label, i) => {
    if (i % every !== 0) return;
    const x = plot.x + band * (i + 0.5);
    const y = plot.y + plot.h + (slant ? 10 : 16);
    axis.append(
      textNode(x, y, label, {
        "text-anchor": slant ? "end" : "middle",
        fill: "#4b5563",
        transform: slant ? `rotate(-45 ${x.toFixed(1)} ${y.toFixed(1)})` : null,
        class: slant ? "chart-label slanted" : "chart-label",
      }),
    );
  });
  svg.append(axis);
  return band;
}

function legend(svg, plot, series) {
  const row = svgEl("g", { class: "chart-legend" });
  let x = plot.x;
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    row.append(
      svgEl("rect", { x, y: MARGIN.top - 9, width: 10, height: 10, fill: color, rx: 2 }),
      textNode(x + 14, MARGIN.top, s.name, { fill: "#374151" }),
    );
    x += 24 + String(s.name).length * 6.5;
  });
  svg.append(row);
}

/** Vertical bars, one per data item. */
export function barChart(data, opts = {}) {
  const items = Array.isArray(data) ? data : [];
  const values = items.map((d) => d.value).filter(isNumber);
  if (!values.length) return emptyChart(opts);
  const labels = items.map((d) => d.label);
  const layout = labelLayout(labels, opts);
  const { svg, plot } = frame(opts, false, layout);
  const scale = yAxis(svg, plot, Math.max(...values), opts);
  const band = xAxis(svg, plot, labels, opts, layout);
  const format = opts.yFormat || defaultFormat;
  const bars = svgEl("g", { class: "chart-bars" });
  items.forEach((d, i) => {
    if (!isNumber(d.value)) return;
    const y = scale(d.value);
    const bar = svgEl("rect", {
      x: plot.x + band * i + band * 0.15,
      y,
      width: Math.max(band * 0.7, 1),
      height: Math.max(plot.y + plot.h - y, 0),
      fill: d.color || opts.color || PALETTE[0],
      class: "chart-bar",
      "data-label": d.label,
      "data-value": d.value,
    });
    bar.append(svgEl("title", {}, d.title || `${d.label}: ${format(d.value)}`));
    bars.append(bar);
  });
  svg.append(bars);
  return svg;
}

/** Bars of several series stacked per category (e.g. answered + abandoned per interval). */
export function stackedBars(labels, series, opts = {}) {
  const cats = Array.isArray(labels) ? labels : [];
  const list = Array.isArray(series) ? series : [];
  const totals = cats.map((_, i) => list.reduce((sum, s) => sum + (isNumber(s.values[i]) ? s.values[i] : 0), 0));
  if (!cats.length || !list.length || Math.max(0, ...totals) <= 0) return emptyChart(opts);
  const showLegend = opts.legend !== false;
  const layout = labelLayout(cats, opts);
  const { svg, plot } = frame(opts, showLegend, layout);
  const scale = yAxis(svg, plot, Math.max(...totals), opts);
  const band = xAxis(svg, plot, cats, opts, layout);
  const format = opts.yFormat || defaultFormat;
  const bars = svgEl("g", { class: "chart-bars" });
  cats.forEach((label, i) => {
    let base = 0;
    list.forEach((s, k) => {
      const v = s.values[i];
      if (!isNumber(v) || v <= 0) return;
      const y0 = scale(base);
      const y1 = scale(base + v);
      base += v;
      const bar = svgEl("rect", {
        x: plot.x + band * i + band * 0.15,
        y: y1,
        width: Math.max(band * 0.7, 1),
        height: Math.max(y0 - y1, 0),
        fill: s.color || PALETTE[k % PALETTE.length],
        class: "chart-bar",
        "data-series": s.name,
        "data-label": label,
        "data-value": v,
      });
      bar.append(svgEl("title", {}, `${label} · ${s.name}: ${format(v)}`));
      bars.append(bar);
    });
  });
  svg.append(bars);
  if (showLegend) legend(svg, plot, list);
  return svg;
}

/** Lines of one or more series over shared x labels, with dots on each value. */
export function lineChart(series, opts = {}) {
  const list = Array.isArray(series) ? series : [];
  const labels = opts.labels || (list[0] ? list[0].values.map((_, i) => String(i + 1)) : []);
  const values = list.flatMap((s) => s.values.filter(isNumber));
  if (!labels.length || !values.length) return emptyChart(opts);
  const showLegend = opts.legend !== false && list.length > 1;
  const layout = labelLayout(labels, opts);
  const { svg, plot } = frame(opts, showLegend, layout);
  const scale = yAxis(svg, plot, Math.max(...values), opts);
  const band = xAxis(svg, plot, labels, opts, layout);
  const format = opts.yFormat || defaultFormat;
  list.forEach((s, k) => {
    const color = s.color || PALETTE[k % PALETTE.length];
    const group = svgEl("g", { class: "chart-line", "data-series": s.name });
    let path = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (!isNumber(v)) {
        pen = false;
        return;
      }
      const x = plot.x + band * (i + 0.5);
      const y = scale(v);
      path += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
      pen = true;
      const dot = svgEl("circle", { cx: x, cy: y, r: 2.5, fill: color, "data-value": v });
      dot.append(svgEl("title", {}, `${labels[i]} · ${s.name}: ${format(v)}`));
      group.append(dot);
    });
    if (path) {
      group.prepend(svgEl("path", { d: path.trim(), fill: "none", stroke: color, "stroke-width": 2 }));
    }
    svg.append(group);
  });
  if (showLegend) legend(svg, plot, list);
  return svg;
}

/** A horizontal reference line (e.g. the service-level target) on a chart made by this module. */
export function targetLine(svg, value, opts = {}) {
  const box = svg.viewBox.baseVal;
  const top = MARGIN.top + (svg.querySelector(".chart-legend") ? LEGEND_HEIGHT : 0);
  const bottom = Number(svg.getAttribute("data-bottom")) || MARGIN.bottom;
  const left = Number(svg.getAttribute("data-left")) || MARGIN.left;
  const h = box.height - top - bottom;
  const yMax = opts.yMax || 1;
  const y = top + h - (Math.min(Math.max(value, 0), yMax) / yMax) * h;
  svg.append(
    svgEl("line", {
      x1: left,
      x2: box.width - MARGIN.right,
      y1: y,
      y2: y,
      stroke: opts.color || "#6b7280",
      "stroke-dasharray": "4 3",
      "stroke-width": 1,
      class: "chart-target",
    }),
  );
  return svg;
}
