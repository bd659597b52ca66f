// Drawing the wallboard from a snapshot (GET /api/wallboard or a `wallboard` message).
// Each section is redrawn only when its own data changed, so a select a supervisor is using
// is not rebuilt under their mouse; timers (time in state, longest wait) tick every second.
import { el, formatDuration } from "./dom.js";
import { lineChart, stackedBars, targetLine } from "./charts.js";
import { $, bi, serverNow, tr } from "./supervisor.js";
import { label, queueName } from "./i18n.js";

const STATES = {
  available: ["ready", "就绪"],
  ringing: ["ringing", "振铃"],
  on_call: ["on call", "通话中"],
  on_hold: ["on hold", "保持"],
  wrap_up: ["wrap-up", "话后整理"],
  paused: ["paused", "示忙"],
  logged_out: ["logged out", "已登出"],
};
const SPY_MODES = [
  ["listen", "Listen", "监听"],
  ["whisper", "Whisper", "密语"],
  ["barge", "Barge", "强插"],
];
const ON_A_CALL = new Set(["on_call", "on_hold"]);
const SL_TARGET = 0.8;
const CHART_HOURS_BEFORE = 3; // charts start at the first busy interval, or this long before now

const drawn = { summary: "", basis: "", queues: "", agents: "", charts: "" };

export function stateLabel(state) {
  const pair = STATES[state] || [state, state];
  return tr(pair[0], pair[1]);
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function seconds(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value)} s`;
}

function head(...pairs) {
  return el("thead", null, el("tr", null, ...pairs.map(([en, zh, cls]) => bi(el("th", { class: cls }), en, zh))));
}

function ticker(since, cls) {
  return el("span", { class: `tick ${cls || ""}`, "data-since": since }, formatDuration(serverNow() - since));
}

/** Update every ticking duration from its start instant. */
export function tick() {
  for (const node of document.querySelectorAll(".tick[data-since]")) {
    node.textContent = formatDuration(serverNow() - Number(node.getAttribute("data-since")));
  }
}

/** Forget what was drawn (after a language switch everything is drawn again). */
export function invalidate() {
  for (const key of Object.keys(drawn)) drawn[key] = "";
}

function changed(key, data) {
  const text = JSON.stringify(data);
  if (drawn[key] === text) return false;
  drawn[key] = text;
  return true;
}

// ---- summary tiles ---------------------------------------------------------------------

function tile(en, zh, value, cls, node) {
  return el(
    "div",
    { class: `tile ${cls}` },
    bi(el("span", { class: "tile-label" }), en, zh),
    node || el("span", { class: "tile-value", text: value }),
  );
}

export function drawSummary(board) {
  const waiting = board.queues.reduce((n, q) => n + q.waiting, 0);
  const oldest = board.queues.map((q) => q.oldest_enqueued_at).filter((v) => v !== null);
  const t = board.totals;
  if (!changed("summary", [waiting, oldest, t, document.documentElement.lang])) return;
  const longest = oldest.length
    ? el("span", { class: "tile-value" }, ticker(Math.min(...oldest), "longest"))
    : el("span", { class: "tile-value", text: "0:00" });
  $("summary").replaceChildren(
    tile("Waiting now", "正在排队", String(waiting), "t-waiting" + (waiting ? " alert" : "")),
    tile("Longest wait", "最长等待", "", "t-longest", longest),
    tile("Service level", "服务水平", percent(t.service_level), "t-sl" + (t.service_level !== null && t.service_level < SL_TARGET ? " alert" : "")),
    tile("ASA", "平均应答速度", seconds(t.asa_seconds), "t-asa"),
    tile("Abandon rate", "放弃率", percent(t.abandon_rate), "t-abandon"),
    tile("AHT", "平均处理时长", seconds(t.aht_seconds), "t-aht"),
    tile("Occupancy", "占用率", percent(t.occupancy), "t-occupancy"),
    tile("Offered", "进线", String(t.offered), "t-offered"),
    tile("Answered", "接通", String(t.answered), "t-answered"),
    tile("Abandoned", "放弃", String(t.abandoned), "t-abandoned"),
  );
}

// ---- what the figures are based on (the reports page shows the same) -----------------------

/** The site time zone and each queue's service-level threshold, as the reports use them too. */
export function drawBasis(board) {
  const limits = board.queues.map((q) => [queueName(q.name, q.display_name), q.service_level_seconds]);
  if (!changed("basis", [board.timezone, limits, document.documentElement.lang])) return;
  const en = limits.map(([name, s]) => `${name} ${s} s`).join(", ");
  const zh = limits.map(([name, s]) => `${name} ${s}秒`).join("，");
  bi(
    $("basis"),
    `Time zone: ${board.timezone} · Service level = answered within${limits.length ? `: ${en}` : " the queue's threshold"}`,
    `时区：${board.timezone} · 服务水平 = 在阈值内接通${limits.length ? `：${zh}` : ""}`,
  );
}

function queueTitle(board, name) {
  const queue = board.queues.find((q) => q.name === name);
  return queueName(name, queue && queue.display_name);
}

function caller(call) {
  const parts = [];
  if (call.customer_name) parts.push(el("span", { class: "wc-customer", text: call.customer_name }));
  if (call.customer_tier) parts.push(el("span", { class: `badge tier tier-${call.customer_tier}`, "data-tier": call.customer_tier, text: label("tier", call.customer_tier) }));
  if (call.caller_number) parts.push(el("span", { class: "wc-number", text: call.caller_number }));
  if (!parts.length) parts.push(bi(el("span", { class: "wc-number muted" }), "unknown caller", "未知来电"));
  return el("span", { class: "wc-caller" }, ...parts);
}

// ---- queues -------------------------------------------------------------------------------

function moveControl(call, queue, queues, ui, actions, board) {
  const others = queues.filter((name) => name !== queue);
  if (!others.length) return el("span", { class: "muted", text: "" });
  const select = el(
    "select",
    { class: "move-target", "aria-label": tr("move to queue", "转到队列") },
    ...others.map((name) => el("option", { value: name, text: queueTitle(board, name) })),
  );
  if (ui.moveTargets.has(call.call_id) && others.includes(ui.moveTargets.get(call.call_id))) {
    select.value = ui.moveTargets.get(call.call_id);
  }
  select.addEventListener("change", () => ui.moveTargets.set(call.call_id, select.value));
  const button = bi(el("button", { type: "button", class: "small", onclick: () => actions.move(call.call_id, select.value) }), "Move", "转移");
  return el("span", { class: "move" }, select, button);
}

export function drawQueues(board, ui, actions) {
  const names = board.queues.map((q) => q.name);
  const data = board.queues.map((q) => ({ ...q, longest_wait_seconds: undefined }));
  if (!changed("queues", [data, document.documentElement.lang])) return;
  const rows = board.queues.map((q) =>
    el(
      "tr",
      { "data-queue": q.name, class: q.waiting ? "busy" : "" },
      el("th", { scope: "row", class: "q-name", title: q.name, text: queueName(q.name, q.display_name) }),
      el("td", { class: "num q-waiting", text: String(q.waiting) }),
      el("td", { class: "num q-longest" }, q.oldest_enqueued_at !== null ? ticker(q.oldest_enqueued_at) : "0:00"),
      el("td", { class: "num q-sl", title: tr(`answered within ${q.service_level_seconds} s`, `${q.service_level_seconds}秒内接通`), text: percent(q.service_level) }),
      el("td", { class: "num q-asa", text: seconds(q.asa_seconds) }),
      el("td", { class: "num q-aht", text: seconds(q.aht_seconds) }),
      el("td", { class: "num q-abandon", text: percent(q.abandon_rate) }),
      el("td", { class: "num q-offered", text: String(q.offered) }),
      el("td", { class: "num q-answered", text: String(q.answered) }),
      el("td", { class: "num q-abandoned", text: String(q.abandoned) }),
      el("td", { class: "num q-available", text: String(q.agents_available) }),
      el("td", { class: "num q-oncall", text: String(q.agents_on_call + q.agents_ringing) }),
      el("td", { class: "num q-paused", text: String(q.agents_paused) }),
      el("td", { class: "num q-wrapup", text: String(q.agents_wrap_up) }),
    ),
  );
  const table = el(
    "table",
    { class: "grid queues" },
    head(
      ["Queue", "队列"],
      ["Waiting", "排队", "num"],
      ["Longest wait", "最长等待", "num"],
      ["Service level", "服务水平", "num"],
      ["ASA", "平均应答", "num"],
      ["AHT", "平均处理", "num"],
      ["Abandon rate", "放弃率", "num"],
      ["Offered", "进线", "num"],
      ["Answered", "接通", "num"],
      ["Abandoned", "放弃", "num"],
      ["Available", "空闲", "num"],
      ["On call", "通话", "num"],
      ["Paused", "示忙", "num"],
      ["Wrap-up", "整理", "num"],
    ),
    el("tbody", null, ...rows),
  );
  const waiting = board.queues.flatMap((q) =>
    q.waiting_calls.map((call) =>
      el(
        "li",
        { "data-call": call.call_id, class: "waiting-call" },
        el("span", { class: "wc-queue", text: queueName(q.name, q.display_name) }),
        el("span", { class: "wc-pos", text: `#${call.position}` }),
        caller(call),
        ticker(call.enqueued_at, "wc-wait"),
        call.priority ? el("span", { class: "badge", text: `P${call.priority}` }) : null,
        moveControl(call, q.name, names, ui, actions, board),
      ),
    ),
  );
  const list = waiting.length
    ? el("ol", { class: "waiting-list" }, ...waiting)
    : bi(el("p", { class: "muted" }), "No call waiting.", "无排队来电。");
  $("queues").replaceChildren(
    board.queues.length ? table : bi(el("p", { class: "muted" }), "No queue yet.", "暂无队列。"),
    bi(el("h3"), "Waiting calls", "排队来电"),
    list,
  );
}

// ---- agents ------------------------------------------------------------------------------

function agentActions(agent, ui, actions) {
  const talking = ON_A_CALL.has(agent.state);
  const buttons = SPY_MODES.map(([mode, en, zh]) =>
    bi(
      el("button", { type: "button", class: `small spy-${mode}`, disabled: !talking, onclick: () => actions.spy(agent.login, mode) }),
      en,
      zh,
    ),
  );
  const canPause = agent.state !== "paused" && agent.state !== "logged_out";
  buttons.push(
    bi(el("button", { type: "button", class: "small force-pause", disabled: !canPause, onclick: () => actions.state(agent.login, "paused") }), "Pause", "示忙"),
    bi(el("button", { type: "button", class: "small force-ready", disabled: agent.state !== "paused" && agent.state !== "wrap_up", onclick: () => actions.state(agent.login, "available") }), "Ready", "就绪"),
    bi(el("button", { type: "button", class: "small force-logout", disabled: agent.state === "logged_out", onclick: () => actions.state(agent.login, "logged_out") }), "Log out", "登出"),
  );
  return el("td", { class: "a-actions" }, ...buttons);
}

export function drawAgents(board, ui, actions) {
  const agents = [...board.agents].sort((a, b) => (a.display_name || a.login).localeCompare(b.display_name || b.login));
  const data = agents.map((a) => ({ ...a, seconds_in_state: undefined }));
  if (!changed("agents", [data, document.documentElement.lang])) return;
  const rows = agents.map((a) =>
    el(
      "tr",
      { "data-agent": a.login },
      el("th", { scope: "row", class: "a-name", title: a.login }, el("span", { text: a.display_name || a.name })),
      el("td", { class: "a-state" }, el("span", { class: `state state-${a.state}`, "data-state": a.state, text: stateLabel(a.state) })),
      el("td", { class: "num a-time" }, ticker(a.since)),
      el("td", { class: "a-reason", text: label("pausereason", a.reason) }),
      el("td", { class: "a-call", text: a.call_id || "" }),
      el("td", { class: "num a-handled", text: String(a.calls_handled_today) }),
      el("td", { class: "num a-occupancy", text: percent(a.occupancy) }),
      el("td", { class: "a-queues", text: a.queues.map((name) => queueTitle(board, name)).join(", ") }),
      agentActions(a, ui, actions),
    ),
  );
  $("agents").replaceChildren(
    agents.length
      ? el(
          "table",
          { class: "grid agents" },
          head(
            ["Agent", "座席"],
            ["State", "状态"],
            ["Time in state", "状态时长", "num"],
            ["Pause reason", "示忙原因"],
            ["Current call", "当前通话"],
            ["Handled today", "今日接听", "num"],
            ["Occupancy", "占用率", "num"],
            ["Queues", "队列"],
            ["Actions", "操作"],
          ),
          el("tbody", null, ...rows),
        )
      : bi(el("p", { class: "muted" }), "No agent in your teams.", "您的团队暂无座席。"),
  );
}

// ---- charts --------------------------------------------------------------------------------

function chartRange(board, series) {
  const now = serverNow();
  let first = board.interval_starts.findIndex((start, i) => series.offered[i] > 0);
  const recent = board.interval_starts.findIndex((start) => start >= now - CHART_HOURS_BEFORE * 3600);
  if (first < 0 || (recent >= 0 && recent < first)) first = recent;
  return Math.max(0, first);
}

export function drawCharts(board, ui) {
  const select = $("chart-queue");
  const options = ["", ...board.queues.map((q) => q.name)];
  const current = [...select.options].map((o) => o.value);
  if (JSON.stringify(current) !== JSON.stringify(options)) {
    select.replaceChildren(...options.map((name) => el("option", { value: name, text: name ? queueTitle(board, name) : tr("All queues", "全部队列") })));
    select.value = options.includes(ui.chartQueue) ? ui.chartQueue : "";
  }
  const series = ui.chartQueue && board.queue_intervals[ui.chartQueue] ? board.queue_intervals[ui.chartQueue] : board.intervals;
  if (!changed("charts", [series, ui.chartQueue, board.interval_labels.length, document.documentElement.lang])) return;
  const from = chartRange(board, series);
  const labels = board.interval_labels.slice(from);
  const offered = series.offered.slice(from);
  const answered = series.answered.slice(from);
  const abandoned = series.abandoned.slice(from);
  const other = offered.map((n, i) => Math.max(0, n - answered[i] - abandoned[i]));
  const empty = tr("no calls yet today", "今日暂无来电");
  $("chart-calls").replaceChildren(
    stackedBars(
      labels,
      [
        { name: tr("answered", "接通"), values: answered, color: "#16a34a" },
        { name: tr("abandoned", "放弃"), values: abandoned, color: "#dc2626" },
        { name: tr("other", "其他"), values: other, color: "#9ca3af" },
      ],
      { title: tr("Calls offered per 15 minutes", "每15分钟进线量"), emptyText: empty, height: 230, integer: true },
    ),
  );
  const sl = lineChart([{ name: tr("service level", "服务水平"), values: series.service_level.slice(from), color: "#2563eb" }], {
    labels,
    yMax: 1,
    yFormat: percent,
    title: tr("Service level per 15 minutes", "每15分钟服务水平"),
    emptyText: empty,
    height: 230,
  });
  if (series.service_level.slice(from).some((v) => v !== null)) targetLine(sl, SL_TARGET, { yMax: 1 });
  $("chart-sl").replaceChildren(sl);
}
