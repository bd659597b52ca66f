// CRM statistics page: a period form, the per-agent table, follow-ups by channel,
// the conversion funnel picture and a CSV link under every table.
// Loaded by the reports shell (../reports.js), which calls render(root, ctx).
import { el, formatAmount } from "../dom.js";
import { formatDate, label } from "../i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const BASE = "/api/crm/analytics/crm";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  return node;
}

const percent = (share) => (share == null ? "-" : `${(share * 100).toFixed(1)} %`);

// Each stage is a subset of the prospects (not of the stage above it): bars are
// scaled to the prospects and centred, so a wider lower bar is drawn as it is.
function funnel(stages, t) {
  const names = {
    prospects: t("Prospects", "潜在客户"),
    contacted: t("Contacted", "已跟进"),
    with_contract: t("With a signed contract", "已签约"),
  };
  const w = 420, bar = 240, row = 34;
  const max = Math.max(1, ...stages.map((s) => s.customers));
  const root = svg("svg", { width: w, height: row * stages.length, role: "img" });
  const title = svg("title");
  title.textContent = t("Conversion funnel", "转化漏斗");
  root.append(title);
  stages.forEach((stage, i) => {
    const width = Math.max(4, (bar * stage.customers) / max);
    root.append(svg("rect", { x: (bar - width) / 2, y: i * row, width, height: row - 6, fill: "#3a7" }));
    const text = svg("text", { x: bar + 8, y: i * row + 18, "font-size": 12 });
    text.textContent = `${names[stage.stage] || stage.stage}: ${stage.customers} (${percent(stage.share)})`;
    root.append(text);
  });
  return root;
}

function table(headers, rows) {
  return el("table", {},
    el("tr", {}, ...headers.map((h) => el("th", {}, h))),
    ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, String(c))))));
}

function query(from, to) {
  const params = new URLSearchParams();
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  const text = params.toString();
  return text ? `?${text}` : "";
}

function csvLink(ctx, section, period) {
  return el("p", {}, el("a", { href: ctx.csv(`${BASE}/${section}.csv${period}`) }, ctx.t("Download CSV", "下载 CSV")));
}

function report(data, ctx, period) {
  const { t } = ctx;
  return [
    el("p", { class: "muted" }, `${formatDate(data.start.slice(0, 10))} – ${formatDate(data.end.slice(0, 10))} ` +
      t("(end excluded)", "（不含结束时刻）")),
    table(
      [t("Rank (amount)", "排名（金额）"), t("Rank (collected)", "排名（回款）"), t("Agent", "坐席"),
        t("Follow-ups", "跟进"), t("New customers", "新客户"), t("Claims", "领取"), t("Releases", "释放"),
        t("Contracts", "合同"), t("Amount", "金额"), t("Collected", "回款"), t("Outstanding", "未回款")],
      data.agents.map((a) => [a.rank_amount, a.rank_collected, `${a.agent_name} (${a.agent_login})`, a.follow_ups,
        a.new_customers, a.claims, a.releases, a.contracts_signed, formatAmount(a.contract_amount),
        formatAmount(a.collected), formatAmount(a.outstanding)]),
    ),
    csvLink(ctx, "agents", period),
    el("h3", {}, t("Follow-ups by type", "按类型跟进")),
    table([t("Agent", "坐席"), t("Type", "类型"), t("Follow-ups", "跟进")],
      data.follow_ups.map((f) => [f.agent_login, label("channel", f.channel), f.follow_ups])),
    csvLink(ctx, "follow-ups", period),
    el("h3", {}, t("Conversion funnel (customers created in the period)", "转化漏斗（本期新建客户）")),
    funnel(data.funnel, t),
    csvLink(ctx, "funnel", period),
  ];
}

export async function render(root, ctx) {
  const { t } = ctx;
  const from = el("input", { type: "date", "aria-label": t("From", "开始日期") });
  const to = el("input", { type: "date", "aria-label": t("To", "结束日期") });
  const body = el("div", {});
  const message = el("p", { class: "error", role: "alert" });
  async function load() {
    const period = query(from.value, to.value);
    message.textContent = "";
    try {
      body.replaceChildren(...report(await ctx.api(`${BASE}${period}`), ctx, period));
    } catch (error) {
      message.textContent = error.message; // e.g. "from: must not be after to"
    }
  }
  const form = el("form", { onsubmit: (event) => { event.preventDefault(); load(); } },
    el("label", {}, t("From ", "开始 "), from), " ",
    el("label", {}, t("To ", "结束 "), to), " ",
    el("button", { type: "submit" }, t("Show", "查询")),
    el("span", { class: "muted" }, " " + t("(empty: the last 30 days)", "（留空：最近 30 天）")));
  root.replaceChildren(el("h2", {}, t("CRM statistics", "客户统计")), form, message, body);
  const first = await ctx.api(BASE); // a failure here is the shell's to show
  body.replaceChildren(...report(first, ctx, ""));
}
