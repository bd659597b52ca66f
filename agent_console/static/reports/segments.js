// Segmentation page: Pareto curves, AUM tier bars, R×F heat map, CSV link.
// Loaded by the reports shell (../reports.js), which calls render(root, ctx).
import { el, formatAmount } from "../dom.js";
import { label } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  return node;
}

function paretoChart(points, aumPoints, t) {
  const w = 320, h = 220, pad = 30;
  const x = (s) => pad + s * (w - 2 * pad);
  const y = (s) => h - pad - s * (h - 2 * pad);
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img" });
  root.append(svg("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(0), stroke: "#888" }));
  root.append(svg("line", { x1: x(0), y1: y(0), x2: x(0), y2: y(1), stroke: "#888" }));
  root.append(svg("line", { x1: x(0), y1: y(0.8), x2: x(1), y2: y(0.8), stroke: "#c33", "stroke-dasharray": "4 3" }));
  const mark = svg("text", { x: x(1) - 30, y: y(0.8) - 4, "font-size": 11, fill: "#c33" });
  mark.textContent = "80 %";
  root.append(mark);
  const line = points.map((p) => `${x(p.customer_share).toFixed(1)},${y(p.value_share).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { points: line, fill: "none", stroke: "#2a6", "stroke-width": 2 }));
  if (aumPoints.length) {
    const aum = aumPoints.map((p) => `${x(p.customer_share).toFixed(1)},${y(p.value_share).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: aum, fill: "none", stroke: "#47a", "stroke-width": 1.5, "stroke-dasharray": "5 3" }));
  }
  const legend = svg("text", { x: pad + 4, y: pad - 12, "font-size": 11 });
  legend.textContent = t("solid: contribution · dashed: AUM", "实线：贡献 · 虚线：资产");
  root.append(legend);
  const label = svg("text", { x: pad, y: h - 6, "font-size": 11 });
  label.textContent = t("share of customers (best first) → share of contribution", "客户占比（由高到低）→ 贡献占比");
  root.append(label);
  return root;
}

function tierBars(tiers, t) {
  const max = Math.max(1, ...tiers.map((row) => row.customers));
  return el("table", { class: "bars" },
    el("tr", {}, el("th", {}, t("Tier", "等级")), el("th", {}, t("Customers", "客户数")),
      el("th", {}, t("Avg daily balance", "日均余额")), el("th", {}, "")),
    ...tiers.map((row) => {
      const bar = svg("svg", { width: 200, height: 14 });
      bar.append(svg("rect", { x: 0, y: 0, height: 14, width: (200 * row.customers) / max, fill: "#47a" }));
      return el("tr", {}, el("td", {}, label("tier", row.tier)), el("td", {}, String(row.customers)),
        el("td", {}, formatAmount(row.avg_daily_balance)), el("td", {}, bar));
    }));
}

function rfmGrid(cells, t) {
  const counts = new Map(cells.map((c) => [`${c.r}-${c.f}`, c.customers]));
  const max = Math.max(1, ...cells.map((c) => c.customers));
  const size = 36, pad = 24;
  const root = svg("svg", { width: pad + 5 * size, height: pad + 5 * size, role: "img" });
  for (let r = 1; r <= 5; r++) {
    for (let f = 1; f <= 5; f++) {
      const n = counts.get(`${r}-${f}`) || 0;
      const x = pad + (f - 1) * size, y = (5 - r) * size;
      root.append(svg("rect", { x, y, width: size - 2, height: size - 2, fill: `rgba(40,110,200,${0.08 + 0.92 * n / max})` }));
      const text = svg("text", { x: x + 6, y: y + 22, "font-size": 11 });
      text.textContent = String(n);
      root.append(text);
    }
  }
  const axis = svg("text", { x: pad, y: pad + 5 * size - 6, "font-size": 11 });
  axis.textContent = t("F → (frequency), R ↑ (recency)", "F → 频率，R ↑ 近度");
  root.append(axis);
  return root;
}

export async function render(root, ctx) {
  const { t } = ctx;
  const data = await ctx.api("/api/crm/analytics/segments");
  root.replaceChildren();
  if (!data.run) {
    root.append(el("p", {}, t("No segmentation run yet.", "尚未进行客户分群。")));
    return;
  }
  const run = data.run;
  const share = (v) => (v == null ? "-" : `${(v * 100).toFixed(1)} %`);
  root.append(
    el("h2", {}, t("Customer value", "客户价值")),
    el("p", {}, `${t("Run", "运行")} #${run.id} · ${run.computed_on} · ${run.customers} ${t("customers", "位客户")} · ` +
      `${t("in A by contribution", "贡献A类占比")}: ${share(run.a_share_contribution)} · ` +
      `${t("in A by AUM", "资产A类占比")}: ${share(run.a_share_aum)}`),
    el("h3", {}, t("Pareto curve (contribution)", "帕累托曲线（贡献）")),
    paretoChart(data.pareto_contribution, data.pareto_aum || [], t),
    el("h3", {}, t("AUM tiers", "资产等级分布")),
    tierBars(data.tiers, t),
    el("h3", {}, t("RFM grid (R × F)", "RFM 网格（R × F）")),
    rfmGrid(data.rfm, t),
    el("p", {}, el("a", { href: ctx.csv("/api/crm/analytics/segments.csv") }, t("Download CSV", "下载 CSV"))),
  );
}
