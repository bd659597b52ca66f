// Contact-center report tab: KPIs per queue / agent / team / whole centre per interval, today's
// 15-minute chart per queue, the Erlang C staffing forecast, CSV and queue_log downloads.
//
//   export async function render(root, ctx)
//   ctx = {api: async (path, opts) => json, lang, t: (en, zh) => string, csv: (path) => url}
//
// Figures come from /api/reports/* (definitions: crm_core/stats/metrics.py); every value is
// put into the DOM as text. Charts are inline SVG from ../charts.js (createElementNS), each in a
// <figure> whose caption names what is drawn and its unit. The time zone defaults to the site's and
// each queue's service-level threshold is the wallboard's (GET /api/reports/site); the page shows both.
import { barChart, lineChart, stackedBars, targetLine } from "../charts.js";
import { el } from "../dom.js";
import { queueName } from "../i18n.js";

const BASE = "/api/reports";

function pad(n) {
  return String(n).padStart(2, "0");
}

/**
 * The civil day "YYYY-MM-DD" in `zone`, `offset` days from now. The reports count days in the
 * site's zone, so "today" is the site's today: a browser west of the site would otherwise ask for
 * a day that has not started there (or has ended) and show "No data" for calls just taken.
 */
function dayIn(zone, offset = 0) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date());
  } catch {
    parts = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date());
  }
  const value = (type) => Number(parts.find((p) => p.type === type).value);
  const day = new Date(Date.UTC(value("year"), value("month") - 1, value("day") + offset));
  return `${day.getUTCFullYear()}-${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}`;
}

function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
const secs = (v) => (v === null || v === undefined ? "–" : `${Math.round(v)} s`);
const num = (v) => (v === null || v === undefined ? "–" : String(v));

/** "09:15" (intervals) or the day, from an ISO local timestamp as the server sends it. */
function slotLabel(iso, interval) {
  if (!iso) return "";
  const text = String(iso);
  if (interval === "day") return text.slice(0, 10);
  const time = text.slice(11, 16);
  return interval === "hour" || interval === "15min" ? time : text.slice(0, 16).replace("T", " ");
}

function table(columns, rows, t) {
  const cls = (c) => (c.num ? "num" : null);
  const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col", class: cls(c), text: t(c.en, c.zh) })));
  const body = rows.map((row) => el("tr", {}, ...columns.map((c) => el("td", { class: cls(c), "data-col": c.id, text: c.value(row) }))));
  return el(
    "div",
    { class: "report-table-wrap" },
    el(
      "table",
      { class: "report-table" },
      el("thead", {}, head),
      el("tbody", {}, ...(body.length ? body : [el("tr", {}, el("td", { colspan: columns.length, text: t("No data", "无数据") }))])),
    ),
  );
}

/** A chart with a visible caption naming what it draws and its unit. */
function figure(chart, caption) {
  return el("figure", { class: "report-chart" }, el("figcaption", { text: caption }), chart);
}

function kpiColumns(interval, name) {
  const cols = [{ en: "Key", zh: "对象", value: (r) => name(r.group) }];
  if (interval !== "total") cols.push({ en: "Interval", zh: "时段", value: (r) => slotLabel(r.interval_start, interval) });
  return cols.concat([
    { num: true, en: "Offered", zh: "呼入", value: (r) => num(r.offered) },
    { num: true, en: "Answered", zh: "接通", value: (r) => num(r.answered) },
    { num: true, en: "Abandoned", zh: "放弃", value: (r) => num(r.abandoned) },
    { num: true, en: "Short abandons", zh: "短时放弃", value: (r) => num(r.short_abandoned) },
    { num: true, en: "Service level", zh: "服务水平", value: (r) => pct(r.service_level) },
    { num: true, en: "Abandon rate", zh: "放弃率", value: (r) => pct(r.abandon_rate) },
    { num: true, en: "ASA", zh: "平均应答速度", value: (r) => secs(r.asa_seconds) },
    { num: true, en: "AHT", zh: "平均处理时长", value: (r) => secs(r.aht_seconds) },
    { num: true, id: "occupancy", en: "Occupancy", zh: "占用率", value: (r) => pct(r.occupancy) },
    { num: true, en: "Longest wait", zh: "最长等待", value: (r) => secs(r.longest_wait_seconds) },
    { num: true, en: "Callbacks req./done", zh: "回呼 请求/完成", value: (r) => `${r.callbacks_requested} / ${r.callbacks_completed}` },
    { num: true, en: "Transfers", zh: "转接", value: (r) => num(r.transfers) },
    { num: true, en: "FCR", zh: "首次解决率", value: (r) => pct(r.fcr_rate) },
    // Calls whose queue requires a wrap-up that was not saved within its maximum (crm_core.stats.wrapups).
    { num: true, id: "not-wrapped-up", en: "Not wrapped up", zh: "未完成话后整理", value: (r) => num(r.not_wrapped_up) },
  ]);
}

/** Per-interval sums over every row: offered, answered, abandoned and the service level. */
function perInterval(rows, interval) {
  const slots = new Map();
  for (const r of rows) {
    const key = slotLabel(r.interval_start, interval);
    const s = slots.get(key) || { offered: 0, answered: 0, abandoned: 0, within: 0, after: 0 };
    s.offered += r.offered;
    s.answered += r.answered;
    s.abandoned += r.abandoned;
    s.within += r.answered_within_threshold;
    s.after += r.abandoned_after_threshold;
    slots.set(key, s);
  }
  const labels = [...slots.keys()].sort();
  const get = (f) => labels.map((k) => f(slots.get(k)));
  return {
    labels,
    answered: get((s) => s.answered),
    abandoned: get((s) => s.abandoned),
    offered: get((s) => s.offered),
    level: get((s) => (s.answered + s.after > 0 ? s.within / (s.answered + s.after) : null)),
  };
}

function intervalCharts(labels, figures, t, target) {
  const bars = stackedBars(
    labels,
    [
      { name: t("Answered", "接通"), values: figures.answered, color: "#16a34a" },
      { name: t("Abandoned", "放弃"), values: figures.abandoned, color: "#dc2626" },
    ],
    { title: t("Calls per interval", "各时段呼叫量"), height: 200, integer: true },
  );
  const line = lineChart([{ name: t("Service level", "服务水平"), values: figures.level }], {
    labels,
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
    title: t("Service level per interval", "各时段服务水平"),
    height: 160,
  });
  if (line.querySelector(".chart-line")) targetLine(line, 0.8, { yMax: 1 });
  const within = target ? t(`, answered within ${target} s`, `，${target}秒内接通`) : "";
  return el(
    "div",
    { class: "report-charts" },
    figure(bars, t("Calls per interval (number of calls: answered, abandoned)", "各时段呼叫量（通话数：接通、放弃）")),
    figure(line, t(`Service level per interval (%${within}; dashed: 80 % target)`, `各时段服务水平（%${within}；虚线：目标80%）`)),
  );
}

function link(href, text) {
  return el("a", { href, class: "report-download", download: "" }, text);
}

function thresholdsText(t, levels, name) {
  const list = Object.entries(levels || {});
  if (!list.length) return t("the queue's threshold (20 s when none is set)", "队列阈值（未设置时为20秒）");
  return list.map(([q, s]) => t(`${name(q)} ${s} s`, `${name(q)} ${s}秒`)).join(t(", ", "，"));
}

export async function render(root, ctx) {
  const t = ctx.t;
  let site = null;
  try {
    site = await ctx.api(`${BASE}/site`);
  } catch {
    site = null; // the zone falls back to the browser's; the KPI report still says which it used
  }
  const titles = Object.fromEntries(((site && site.queues) || []).map((q) => [q.name, queueName(q.name, q.display_name)]));
  const levels = Object.fromEntries(((site && site.queues) || []).map((q) => [q.name, q.service_level_seconds]));
  const name = (queue) => titles[queue] || queue;
  const basis = el("p", { class: "report-basis", "data-basis": "site" });
  if (site) {
    basis.textContent = t(
      `Site time zone ${site.timezone} (as on the wallboard) · service level = answered within: ${thresholdsText(t, levels, name)}`,
      `站点时区 ${site.timezone}（与实时监控墙一致）· 服务水平 = 在以下时限内接通：${thresholdsText(t, levels, name)}`,
    );
  }
  const zone = (site && site.timezone) || localZone();
  const today = dayIn(zone);
  const tomorrow = dayIn(zone, 1);
  const status = el("p", { class: "report-status", role: "status" });
  const say = (text, isError) => {
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  };

  // Filters of the KPI report.
  const from = el("input", { type: "date", value: today, "aria-label": t("From", "开始日期") });
  const to = el("input", { type: "date", value: today, "aria-label": t("To", "结束日期") });
  const groupBy = el(
    "select",
    { "aria-label": t("Group by", "分组") },
    ...[
      ["queue", "Queue", "队列"],
      ["agent", "Agent", "坐席"],
      ["team", "Team", "班组"],
      ["all", "Whole centre", "全中心"],
    ].map(([v, en, zh]) => el("option", { value: v, text: t(en, zh) })),
  );
  const interval = el(
    "select",
    { "aria-label": t("Interval", "时段") },
    ...[
      ["total", "Whole range", "整个区间"],
      ["day", "Day", "按天"],
      ["hour", "Hour", "按小时"],
      ["15min", "15 minutes", "15分钟"],
    ].map(([v, en, zh]) => el("option", { value: v, text: t(en, zh) })),
  );
  const tz = el("input", { type: "text", value: zone, size: 18, "aria-label": t("Time zone", "时区") });
  const queues = el("input", { type: "text", placeholder: t("all queues", "全部队列"), size: 18, "aria-label": t("Queues (comma-separated)", "队列（逗号分隔）") });
  const show = el("button", { type: "submit", text: t("Show", "查询") });
  const kpiOut = el("div", { class: "report-output" });
  const used = el("p", { class: "report-basis", "data-basis": "report" });
  const downloads = el("p", { class: "report-downloads" });

  const queueList = () =>
    queues.value
      .split(",")
      .map((q) => q.trim())
      .filter(Boolean);
  const kpiPath = () =>
    `${BASE}/contact-center${query({ from: from.value, to: to.value, group_by: groupBy.value, interval: interval.value, tz: tz.value.trim(), queue: queueList() })}`;

  async function loadKpis() {
    say(t("Loading…", "加载中…"));
    kpiOut.replaceChildren();
    used.textContent = "";
    const path = kpiPath();
    downloads.replaceChildren(
      link(ctx.csv(path), t("CSV of this report", "导出本报表 CSV")),
      " · ",
      link(`${BASE}/queue-log${query({ from: from.value, to: to.value, tz: tz.value.trim(), queue: queueList() })}`, t("queue_log (QueueMetrics / Asternic)", "queue_log 文件（QueueMetrics / Asternic）")),
    );
    try {
      const report = await ctx.api(path);
      const rows = report.rows || [];
      const byQueue = groupBy.value === "queue";
      const key = (group) => (byQueue ? name(group) : group);
      used.textContent = t(
        `This report: time zone ${report.tz} · service level = answered within ${thresholdsText(t, report.service_level_seconds, name)}`,
        `本报表：时区 ${report.tz} · 服务水平 = 在以下时限内接通：${thresholdsText(t, report.service_level_seconds, name)}`,
      );
      const only = Object.values(report.service_level_seconds || {});
      const target = only.length === 1 ? only[0] : null;
      if (interval.value !== "total" && rows.length) {
        const figures = perInterval(rows, interval.value);
        kpiOut.append(intervalCharts(figures.labels, figures, t, target));
      } else if (rows.length) {
        const caption = t(`Service level by ${groupBy.selectedOptions[0].text.toLowerCase()} (%)`, `按${groupBy.selectedOptions[0].text}的服务水平（%）`);
        kpiOut.append(
          figure(
            barChart(
              rows.map((r) => ({ label: key(r.group), value: r.service_level, title: `${key(r.group)}: ${pct(r.service_level)}` })),
              { yMax: 1, yFormat: (v) => `${Math.round(v * 100)}%`, title: caption, height: 180 },
            ),
            caption,
          ),
        );
      }
      kpiOut.append(table(kpiColumns(interval.value, key), rows, t));
      say("");
    } catch (error) {
      say(error.message || String(error), true);
    }
  }

  // Today per 15 minutes per queue (what the wallboard draws too).
  const todayOut = el("div", { class: "report-output" });
  async function loadToday() {
    const path = `${BASE}/intervals${query({ day: today, tz: tz.value.trim() })}`;
    todayOut.replaceChildren(link(ctx.csv(path), t("CSV", "导出 CSV")));
    try {
      const series = await ctx.api(path);
      const names = Object.keys(series.queues || {});
      if (!names.length) todayOut.append(el("p", { text: t("No calls today yet.", "今天还没有呼叫。") }));
      const title = (queue) => (titles[queue] && titles[queue] !== queue ? `${titles[queue]} (${queue})` : queue);
      for (const queue of names) {
        const points = series.queues[queue];
        const labels = points.map((p) => slotLabel(p.start, "15min"));
        const figures = {
          answered: points.map((p) => p.answered),
          abandoned: points.map((p) => p.abandoned),
          level: points.map((p) => p.service_level),
        };
        todayOut.append(el("h4", { text: title(queue) }), intervalCharts(labels, figures, t, levels[queue]));
      }
    } catch (error) {
      todayOut.append(el("p", { class: "error", text: error.message || String(error) }));
    }
  }

  // Erlang C staffing forecast: its result (or why there is none) is always said in staffStatus.
  const staffDay = el("input", { type: "date", value: tomorrow, "aria-label": t("Day to staff", "排班日期") });
  const weeks = el("input", { type: "number", min: 1, max: 12, value: 4, "aria-label": t("Weeks of history", "历史周数") });
  const slot = el("select", { "aria-label": t("Interval minutes", "时段分钟") }, ...[30, 15, 60].map((m) => el("option", { value: m, text: t(`${m} min`, `${m}分钟`) })));
  const target = el("input", {
    type: "number",
    min: 0,
    max: 3600,
    placeholder: t("queue's", "队列阈值"),
    "aria-label": t("Answer within (s); empty: each queue's service-level threshold", "应答时限（秒）；留空：各队列的服务水平阈值"),
  });
  const level = el("input", { type: "number", min: 1, max: 100, value: 80, "aria-label": t("Service level target (%)", "服务水平目标（%）") });
  const staffStatus = el("p", { class: "report-status", role: "status", "data-status": "staffing" });
  const staffOut = el("div", { class: "report-output" });
  const sayStaff = (text, kind) => {
    staffStatus.textContent = text;
    staffStatus.classList.toggle("error", kind === "error");
    staffStatus.dataset.state = kind;
  };
  async function loadStaffing() {
    const path = `${BASE}/staffing${query({
      day: staffDay.value,
      weeks: weeks.value,
      interval_minutes: slot.value,
      target_seconds: target.value.trim(),
      target_level: Number(level.value) / 100,
      tz: tz.value.trim(),
      queue: queueList(),
    })}`;
    staffOut.replaceChildren();
    sayStaff(t("Forecasting…", "正在预测…"), "busy");
    let plan;
    try {
      plan = await ctx.api(path);
    } catch (error) {
      sayStaff(t(`The forecast failed: ${error.message || error}`, `预测失败：${error.message || error}`), "error");
      return;
    }
    const queuesPlanned = plan.queues || [];
    if (!queuesPlanned.length) {
      sayStaff(t(`No queue to forecast for ${plan.day}.`, `${plan.day} 没有可预测的队列。`), "done");
      return;
    }
    const peak = Math.max(...queuesPlanned.map((q) => q.peak_agents));
    sayStaff(
      t(
        `Forecast for ${plan.day} (${plan.tz}), from ${plan.weeks} weeks of history: ${queuesPlanned.length} queue(s), at most ${peak} agents in one interval.`,
        `${plan.day}（${plan.tz}）的预测，基于最近 ${plan.weeks} 周：${queuesPlanned.length} 个队列，单时段最多需 ${peak} 名坐席。`,
      ),
      "done",
    );
    staffOut.append(el("p", { class: "report-downloads" }, link(ctx.csv(path), t("CSV of this forecast", "导出本预测 CSV"))));
    for (const q of queuesPlanned) {
      const aht = `${Math.round(q.aht_seconds)} s${q.aht_observed ? "" : t(" (default)", "（默认）")}`;
      const goal = t(`${Math.round(plan.target_level * 100)} % answered within ${q.target_seconds} s`, `${Math.round(plan.target_level * 100)}% 在 ${q.target_seconds} 秒内接通`);
      const caption = t(`Agents needed per ${plan.interval_minutes} minutes (agents on the phone)`, `每${plan.interval_minutes}分钟所需坐席（在线人数）`);
      const heading = el("h4", { text: `${name(q.queue)} · ${goal} · AHT ${aht} · ${t("peak", "峰值")} ${q.peak_agents}` });
      if (!q.intervals.length) {
        staffOut.append(heading, el("p", { class: "muted", text: t("No calls on these weekdays in the history: no agents needed.", "历史同期无来电：无需排班。") }));
        continue;
      }
      staffOut.append(
        heading,
        figure(
          barChart(
            q.intervals.map((i) => ({ label: slotLabel(i.start, "15min"), value: i.agents })),
            { title: caption, height: 160, color: "#7c3aed", integer: true },
          ),
          caption,
        ),
        table(
          [
            { en: "Interval", zh: "时段", value: (i) => slotLabel(i.start, "15min") },
            { num: true, en: "Calls", zh: "呼叫量", value: (i) => String(i.offered) },
            { num: true, en: "Erlangs", zh: "话务量(Erl)", value: (i) => i.traffic_erlangs.toFixed(2) },
            { num: true, en: "Agents", zh: "坐席数", value: (i) => String(i.agents) },
            { num: true, en: "Service level", zh: "服务水平", value: (i) => pct(i.service_level) },
            { num: true, en: "ASA", zh: "平均应答速度", value: (i) => `${i.asa_seconds.toFixed(1)} s` },
            { num: true, en: "Occupancy", zh: "占用率", value: (i) => pct(i.occupancy) },
          ],
          q.intervals,
          t,
        ),
      );
    }
  }

  const kpiForm = el(
    "form",
    {
      class: "report-filters",
      onsubmit: (event) => {
        event.preventDefault();
        loadKpis();
      },
    },
    el("label", {}, t("From", "从"), " ", from),
    el("label", {}, t("To", "到"), " ", to),
    el("label", {}, t("Group by", "分组"), " ", groupBy),
    el("label", {}, t("Interval", "时段"), " ", interval),
    el("label", {}, t("Time zone", "时区"), " ", tz),
    el("label", {}, t("Queues", "队列"), " ", queues),
    show,
  );
  const staffForm = el(
    "form",
    {
      class: "report-filters",
      onsubmit: (event) => {
        event.preventDefault();
        loadStaffing();
      },
    },
    el("label", {}, t("Day", "日期"), " ", staffDay),
    el("label", {}, t("Weeks", "周数"), " ", weeks),
    el("label", {}, t("Interval", "时段"), " ", slot),
    el("label", {}, t("Within (s)", "时限（秒）"), " ", target),
    el("label", {}, t("Target %", "目标%"), " ", level),
    el("button", { type: "submit", text: t("Forecast", "预测") }),
  );

  root.replaceChildren(
    el("section", { class: "report-section" }, el("h3", { text: t("Contact-center KPIs", "呼叫中心指标") }), basis, kpiForm, status, used, downloads, kpiOut),
    el("section", { class: "report-section" }, el("h3", { text: t("Today per 15 minutes", "今日每15分钟") }), todayOut),
    el(
      "section",
      { class: "report-section" },
      el("h3", { text: t("Staffing forecast (Erlang C)", "人员需求预测（Erlang C）") }),
      el("p", { class: "report-note", text: t("Agents on the phone needed per interval, from the same weekdays of the last weeks; shrinkage not included.", "按最近几周同一工作日的来电量与平均处理时长计算每个时段所需在线坐席数（未含缩减率）。") }),
      staffForm,
      staffStatus,
      staffOut,
    ),
  );
  await Promise.all([loadKpis(), loadToday(), loadStaffing()]);
}
