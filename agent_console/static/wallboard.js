// bankcti supervisor wallboard: live queue and agent figures over the console's websocket.
//
// After each `hello` the page subscribes to the `wallboard` topic: the server answers with the
// board as it is now, then pushes a full snapshot at most once a second when something changed: after a dropped connection or a server restart the page
// reconnects by itself (with back-off) and redraws from that fresh snapshot, never from what it
// had before. Supervisor actions (listen / whisper / barge, force pause / ready / log out, move a
// waiting call) go through the REST API; the board then shows their effect from the next push.
import { el } from "./dom.js";
import { showLocks } from "./login-locks.js";
import { queueName, trCode } from "./i18n.js";
import { drawAgents, drawBasis, drawCharts, drawQueues, drawSummary, invalidate, tick } from "./wallboard-view.js";
import {
  $,
  api,
  bi,
  currentUser,
  isObserver,
  logout,
  session,
  sessionSeen,
  tr,
  wireLanguage,
  wireLogin,
} from "./supervisor.js";

const TITLE = ["bankcti · wallboard", "bankcti · 实时监控墙"];
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10000;
const DEFAULT_PAUSE_REASONS = ["break", "lunch", "training", "meeting", "admin-work"];

const ui = {
  board: null,
  chartQueue: "",
  moveTargets: new Map(), // call_id -> chosen queue, kept across redraws
};
const live = { ws: null, attempt: 0, reconnectTimer: null, pingTimer: null, pongTimer: null };

// ---- messages and connection badge ----------------------------------------------------

const MESSAGE_FOR_MS = 20000; // an action's result stays this long: it describes a moment, not the state
let messageTimer = null;

function say(en, zh, isError) {
  const node = $("board-message");
  clearTimeout(messageTimer);
  if (en) {
    bi(node, en, zh);
    messageTimer = setTimeout(() => say(null), MESSAGE_FOR_MS);
  } else {
    node.removeAttribute("data-en");
    node.textContent = "";
  }
  node.classList.toggle("error", Boolean(isError));
}

function badge(kind, en, zh) {
  const node = $("connection");
  node.className = `connection ${kind}`;
  bi(node, en, zh);
}

// ---- drawing --------------------------------------------------------------------------

function draw() {
  const board = ui.board;
  if (!board) return;
  $("day").textContent = `${board.day} (${board.timezone})`;
  drawSummary(board);
  drawBasis(board);
  drawQueues(board, ui, actions);
  drawAgents(board, ui, actions);
  drawCharts(board, ui);
}

function receive(board) {
  ui.board = board;
  session.clockOffset = board.at - Date.now() / 1000;
  draw();
}

// ---- actions --------------------------------------------------------------------------

async function act(run, done) {
  say(null);
  try {
    await run();
    say(done[0], done[1]);
  } catch (error) {
    say(`${tr("Refused", "被拒绝")}: ${error.message}`, `${tr("Refused", "被拒绝")}: ${error.message}`, true);
  }
}

const actions = {
  spy(login, mode) {
    const names = { listen: ["listening to", "正在监听"], whisper: ["whispering to", "正在密语"], barge: ["barging in on", "已强插"] };
    const [en, zh] = names[mode];
    return act(
      () => api(`/api/supervisor/agents/${encodeURIComponent(login)}/spy`, { body: { mode } }),
      [`Your phone rings: ${en} ${login}.`, `您的话机将振铃：${zh} ${login}。`],
    );
  },
  state(login, state) {
    const body = { state };
    if (state === "paused") body.reason = $("pause-reason").value || "supervisor";
    const labels = { paused: ["paused", "已示忙"], available: ["made ready", "已就绪"], logged_out: ["logged out", "已登出"] };
    return act(
      () => api(`/api/supervisor/agents/${encodeURIComponent(login)}/state`, { body }),
      [`${login} ${labels[state][0]}.`, `${login} ${labels[state][1]}。`],
    );
  },
  move(callId, queue) {
    ui.moveTargets.delete(callId);
    const known = ui.board ? ui.board.queues.find((q) => q.name === queue) : null;
    const queueTitle = (name) => queueName(name, known && known.display_name);
    return act(
      () => api(`/api/supervisor/calls/${encodeURIComponent(callId)}/move`, { body: { queue } }),
      [`Call ${callId} moved to ${queueTitle(queue)}.`, `来电 ${callId} 已转到 ${queueTitle(queue)}。`],
    );
  },
};

// ---- websocket ------------------------------------------------------------------------

function connect() {
  if (!session.token || live.ws) return;
  clearTimeout(live.reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  live.ws = ws;
  badge("connecting", "connecting…", "连接中…");
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: session.token })));
  ws.addEventListener("message", (event) => onMessage(ws, event));
  ws.addEventListener("close", (event) => onClose(ws, event));
}

function disconnect() {
  clearTimeout(live.reconnectTimer);
  stopPing();
  if (live.ws) {
    const ws = live.ws;
    live.ws = null;
    ws.close(1000, "bye");
  }
  badge("offline", "offline", "离线");
}

function onMessage(ws, event) {
  let message;
  try {
    message = JSON.parse(event.data);
  } catch (_) {
    return;
  }
  if (message.type === "hello") {
    live.attempt = 0;
    badge("live", "live", "实时");
    sessionSeen(message, message.server_time);
    startPing(ws);
    // Every (re)connection asks again: the answer is the board as it is now.
    ws.send(JSON.stringify({ type: "subscribe", topic: "wallboard" }));
  } else if (message.type === "wallboard") {
    receive(message.event);
  } else if (message.type === "pong") {
    clearTimeout(live.pongTimer);
  } else if (message.type === "error") {
    say(message.message, message.message, true);
  }
}

function onClose(ws, event) {
  if (live.ws !== ws) return;
  live.ws = null;
  stopPing();
  if (event.code === 4401) {
    showLogin(tr("Session ended; log in again.", "会话已结束，请重新登录。"));
    return;
  }
  if (!session.token) return;
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** live.attempt);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  live.attempt += 1;
  badge("offline", `offline · retry in ${Math.ceil(delay / 1000)} s`, `离线 · ${Math.ceil(delay / 1000)}秒后重试`);
  live.reconnectTimer = setTimeout(connect, delay);
}

function startPing(ws) {
  stopPing();
  live.pingTimer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "ping" }));
    clearTimeout(live.pongTimer);
    live.pongTimer = setTimeout(() => ws.close(4000, "no pong"), PONG_WITHIN_MS);
  }, PING_EVERY_MS);
}

function stopPing() {
  clearInterval(live.pingTimer);
  clearTimeout(live.pongTimer);
}

// ---- log in / out ---------------------------------------------------------------------------

function showLogin(reason) {
  disconnect();
  showLocks(null);
  ui.board = null;
  $("board-view").hidden = true;
  $("login-view").hidden = false;
  $("btn-logout").hidden = true;
  $("user-name").textContent = "";
  $("login-error").textContent = reason || "";
  $("login-name").focus();
}

async function loadPauseReasons() {
  let reasons = DEFAULT_PAUSE_REASONS;
  try {
    const config = await api("/api/desk/config");
    if (config && Array.isArray(config.pause_reasons) && config.pause_reasons.length) reasons = config.pause_reasons;
  } catch (_) {
    /* the defaults will do */
  }
  $("pause-reason").replaceChildren(...reasons.map((r) => trCode(el("option", { value: r }), "pausereason", r)));
}

function showBoard(user) {
  if (!isObserver(user)) {
    showLogin(tr("The wallboard is for supervisors and admins.", "实时监控墙仅供班长和管理员使用。"));
    return;
  }
  $("login-view").hidden = true;
  $("board-view").hidden = false;
  $("btn-logout").hidden = false;
  $("user-name").textContent = `${user.name} (${user.login})`;
  loadPauseReasons();
  showLocks(user);
  connect();
}

async function start() {
  wireLanguage(TITLE, () => {
    invalidate();
    $("chart-queue").replaceChildren(); // its "All queues" option is drawn again in the new language
    draw();
  });
  session.onEnded = (reason) => showLogin(reason ? tr("Session ended; log in again.", "会话已结束，请重新登录。") : "");
  wireLogin(showBoard);
  $("btn-logout").addEventListener("click", () => logout());
  $("chart-queue").addEventListener("change", (event) => {
    ui.chartQueue = event.target.value;
    if (ui.board) drawCharts(ui.board, ui);
  });
  setInterval(tick, 1000);
  window.addEventListener("online", () => {
    if (session.token && !live.ws) connect();
  });
  await boot();
}

// Who is logged in; while the server cannot be reached (a restart), keep trying.
async function boot() {
  let user = null;
  try {
    user = await currentUser();
  } catch (error) {
    badge("offline", "offline", "离线");
    if (error.status === 0) {
      setTimeout(boot, 2000);
      return;
    }
    $("login-error").textContent = error.message;
  }
  if (user) showBoard(user);
  else showLogin("");
}

start();
