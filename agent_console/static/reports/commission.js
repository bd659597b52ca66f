// Commission statements (提成核算) per agent: totals, a bar chart, drill-down to lines, approve, CSV.
//
// render(root, ctx) with ctx = {api(path, opts) -> json, lang, t(en, zh), csv(path) -> url}.
// Amounts arrive as decimal strings and are shown as text (never parsed for display);
// the chart alone converts them to numbers, for bar lengths.

import { el, formatAmount } from "../dom.js";
import { formatDate } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const BASE = "/api/crm/commission";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function lastMonth() {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  first.setUTCDate(0);
  return `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, "0")}`;
}

// A horizontal bar per agent, negative totals drawn left of the axis.
export function barChart(statements, t) {
  const rowHeight = 22;
  // Logins are drawn whole: the label column is as wide as the longest one needs.
  const labelWidth = Math.max(110, 12 + 7 * Math.max(0, ...statements.map((s) => String(s.agent_login).length)));
  const width = labelWidth + 410;
  const barSpace = width - labelWidth - 90;
  const values = statements.map((s) => Number(s.total) || 0);
  const max = Math.max(1, ...values.map(Math.abs));
  const hasNegative = values.some((v) => v < 0);
  const zero = labelWidth + (hasNegative ? barSpace / 2 : 0);
  const scale = (hasNegative ? barSpace / 2 : barSpace) / max;
  const height = rowHeight * statements.length + 10;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    class: "commission-chart",
    "aria-label": t("Commission per agent (CNY)", "每位坐席的提成（人民币元）"),
  });
  statements.forEach((s, i) => {
    const y = 5 + i * rowHeight;
    const value = values[i];
    const length = Math.abs(value) * scale;
    chart.append(svg("text", { x: labelWidth - 6, y: y + 15, "text-anchor": "end" }, s.agent_login));
    const bar = svg("rect", {
      x: value < 0 ? zero - length : zero,
      y: y + 3,
      width: Math.max(1, length),
      height: rowHeight - 8,
      class: value < 0 ? "bar negative" : "bar",
      fill: value < 0 ? "#c0392b" : "#2e86c1",
    });
    bar.append(svg("title", {}, `${s.agent_login}: ${s.total}`));
    chart.append(bar);
    chart.append(svg("text", { x: zero + (value < 0 ? 4 : length + 4), y: y + 15 }, formatAmount(s.total)));
  });
  chart.append(svg("line", { x1: zero, x2: zero, y1: 0, y2: height, stroke: "#555" }));
  return chart;
}

function linesTable(statement, t) {
  const head = [
    t("Kind", "类型"), t("Period", "期间"), t("Event", "事件"), t("Date", "日期"), t("Contract", "合同"),
    t("Payment", "收款"), t("Base", "基数"), t("Share %", "分成 %"), t("Credited", "计入"),
    t("Commission", "提成"), t("Rate", "费率"),
  ];
  const rows = statement.items.map((line) =>
    el("tr", { class: line.kind === "adjustment" ? "adjustment" : null },
      el("td", { text: line.kind === "adjustment" ? t("adjustment", "调整") : t("commission", "提成") }),
      el("td", { text: line.for_period }),
      el("td", { text: line.event === "paid" ? t("payment", "收款") : t("signing", "签约") }),
      el("td", { text: line.event_on ? formatDate(line.event_on) : "" }),
      el("td", { text: `${line.contract_number} (#${line.contract_id ?? "-"})` }),
      el("td", { text: line.payment_id === null ? "" : `#${line.payment_id}` }),
      el("td", { class: "num", text: formatAmount(line.base) }),
      el("td", { class: "num", text: line.share_percent }),
      el("td", { class: "num", text: formatAmount(line.credited) }),
      el("td", { class: "num", text: formatAmount(line.commission) }),
      el("td", { text: line.rate }),
    ),
  );
  return el("table", { class: "report-table commission-lines" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows),
  );
}

export async function render(root, ctx) {
  const { t } = ctx;
  let period = lastMonth();
  const status = el("p", { class: "report-status", role: "status" });
  const chartBox = el("div", { class: "commission-chart-box" });
  const tableBox = el("div", { class: "commission-statements" });
  const detailBox = el("div", { class: "commission-detail" });
  const input = el("input", { type: "month", value: period, "aria-label": t("Period", "期间") });
  const csvLink = el("a", { class: "csv-link", download: "" }, t("Export CSV", "导出 CSV"));
  const linesLink = el("a", { class: "csv-link", download: "" }, t("Lines CSV", "明细 CSV"));

  async function showDetail(id) {
    detailBox.replaceChildren(el("p", { text: t("Loading…", "加载中…") }));
    try {
      const statement = await ctx.api(`${BASE}/statements/${id}`);
      const approve = statement.may_approve
        ? el("button", { type: "button", class: "approve", onclick: () => approveStatement(id) },
            t("Approve", "审批"))
        : null;
      detailBox.replaceChildren(
        el("h3", { text: `${statement.agent_name} (${statement.agent_login}) — ${statement.period}` }),
        el("p", {
          text: `${t("Total", "合计")}: ${formatAmount(statement.total)} · ${t("Status", "状态")}: ${
            statement.status === "approved" ? t("approved (frozen)", "已审批（冻结）") : t("open", "未审批")
          }`,
        }),
        approve,
        el("a", { class: "csv-link", download: "", href: ctx.csv(`${BASE}/statements/${id}/lines.csv`) },
          t("Lines CSV", "明细 CSV")),
        linesTable(statement, t),
      );
    } catch (error) {
      detailBox.replaceChildren(el("p", { class: "error", text: String(error.message || error) }));
    }
  }

  async function approveStatement(id) {
    try {
      await ctx.api(`${BASE}/statements/${id}/approve`, { method: "POST" });
      await load();
      await showDetail(id);
    } catch (error) {
      status.textContent = String(error.message || error);
    }
  }

  async function load() {
    status.textContent = t("Loading…", "加载中…");
    detailBox.replaceChildren();
    const query = `period=${encodeURIComponent(period)}`;
    csvLink.href = ctx.csv(`${BASE}/statements.csv?${query}`);
    linesLink.href = ctx.csv(`${BASE}/lines.csv?${query}`);
    let statements;
    try {
      statements = await ctx.api(`${BASE}/statements?${query}`);
    } catch (error) {
      status.textContent = String(error.message || error);
      return;
    }
    status.textContent = statements.length
      ? ""
      : t("No statements for this month yet.", "本月尚无提成单。");
    chartBox.replaceChildren(
      statements.length
        ? el("figure", { class: "report-chart" },
            el("figcaption", { text: t("Commission per agent (CNY, this month's statements)", "每位坐席的提成（人民币元，本月提成单）") }),
            barChart(statements, t))
        : "",
    );
    const rows = statements.map((s) =>
      el("tr", {},
        el("td", {}, el("button", { type: "button", class: "link", onclick: () => showDetail(s.id) },
          `${s.agent_name} (${s.agent_login})`)),
        el("td", { text: s.status === "approved" ? t("approved", "已审批") : t("open", "未审批") }),
        el("td", { class: "num", text: s.lines }),
        el("td", { class: "num", text: formatAmount(s.commission) }),
        el("td", { class: "num", text: formatAmount(s.adjustments) }),
        el("td", { class: "num", text: formatAmount(s.total) }),
      ),
    );
    tableBox.replaceChildren(
      el("table", { class: "report-table" },
        el("thead", {}, el("tr", {},
          ...[t("Agent", "坐席"), t("Status", "状态"), t("Lines", "明细"), t("Commission", "提成"),
            t("Adjustments", "调整"), t("Total", "合计")].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...rows),
      ),
    );
  }

  input.addEventListener("change", () => {
    if (/^\d{4}-\d{2}$/.test(input.value)) {
      period = input.value;
      load();
    }
  });
  root.replaceChildren(
    el("section", { class: "report commission" },
      el("h2", { text: t("Commission statements", "提成核算") }),
      el("div", { class: "report-toolbar" }, el("label", {}, t("Period", "期间"), " ", input), csvLink, linesLink),
      status,
      chartBox,
      tableBox,
      detailBox,
    ),
  );
  await load();
}
