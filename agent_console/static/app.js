// bankcti agent console: log in, agent state, live screen-pops, customers.
// Every piece of data reaches the page through textContent, never as HTML;
// every visible string goes through i18n.js (Chinese / English).
import { el, formatDuration, formatTime } from "./dom.js";
import { applyTranslations, getLanguage, label, onLanguageChange, queueName, setIvrNodes, setLanguage, trCode } from "./i18n.js";
import { $, TOKEN_KEY, api, app, say, serverNow, show, tx } from "./state.js";
import { ack, connect, disconnect, setHandlers } from "./live.js";
import { onCallEvent, reconcile, removeAllPops, showPop, tickPops } from "./call.js";
import { mountCustomers } from "./customers.js";
import { mountAttention, noticeCallEvent, noticeOffer, noticeStatus, resetAttention } from "./attention.js";
import { mountShortcuts } from "./shortcuts.js";
import { mountOffline } from "./offline.js";

const RENEW_BEFORE_S = 600;
const FLOOR_LOG_MAX = 60;
const session = { renewTimer: null, activeSinceRenew: false };

// ---- session -----------------------------------------------------------
async function onLogin(event) {
  event.preventDefault();
  say("login-error", "");
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    const info = await api("POST", "/api/login", { login: $("login-name").value, password: $("login-password").value });
    $("login-password").value = "";
    app.token = info.token;
    sessionStorage.setItem(TOKEN_KEY, info.token);
    await enterConsole(info);
  } catch (error) {
    $("login-error").removeAttribute("data-i18n");
    $("login-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

async function loadConfig() {
  try {
    app.config = await api("GET", "/api/desk/config");
  } catch (error) {
    say("console-message", "msg.dispositions", { error: error.message }, true);
    try {
      const data = await api("GET", "/api/dispositions");
      app.config = { ...app.config, dispositions: data.dispositions };
    } catch (_) {
      // Without dispositions the agent can still write notes.
    }
  }
  const reasons = app.config.pause_reasons.length ? app.config.pause_reasons : ["break"];
  $("pause-reason").replaceChildren(...reasons.map((r) => trCode(el("option", { value: r }), "pausereason", r)));
  setIvrNodes(app.config.ivr_nodes);
}

async function enterConsole(info) {
  app.agent = info.agent;
  app.expiresAt = info.expires_at;
  $("agent-name").textContent = `${info.agent.name} (${info.agent.login})`;
  show("login-view", false);
  show("console-view", true);
  show("floor", info.agent.role !== "agent");
  renderStatus(); // "checking…" until the server's status arrives, never a made-up "logged out 0:00"
  scheduleRenew();
  await loadConfig();
  connect();
  mountCustomers($("customers"), (key, vars, isError) => say("console-message", key, vars, isError));
}

function sessionEnded(message) {
  const wasIn = app.token !== null;
  app.token = null;
  app.agent = null;
  app.status = undefined;
  sessionStorage.removeItem(TOKEN_KEY);
  disconnect();
  resetAttention();
  clearTimeout(session.renewTimer);
  removeAllPops();
  $("floor-log").replaceChildren();
  $("agent-name").textContent = "";
  show("console-view", false);
  show("login-view", true);
  if (wasIn) {
    if (message) {
      $("login-error").removeAttribute("data-i18n");
      $("login-error").textContent = message;
    } else say("login-error", "login.again", null, true);
  } else say("login-error", "");
  $("login-name").focus();
}
app.onSessionEnded = sessionEnded;

function scheduleRenew() {
  clearTimeout(session.renewTimer);
  const dueIn = Math.max(30, app.expiresAt - serverNow() - RENEW_BEFORE_S);
  session.renewTimer = setTimeout(renewIfActive, Math.min(dueIn, 86400) * 1000);
}

async function renewIfActive() {
  // A session left untouched is allowed to expire; an agent at work is not logged out.
  if (!session.activeSinceRenew) return;
  try {
    const info = await api("POST", "/api/session/renew");
    app.expiresAt = info.expires_at;
    session.activeSinceRenew = false;
    scheduleRenew();
  } catch (error) {
    if (error.status !== 401) session.renewTimer = setTimeout(renewIfActive, 30000);
  }
}

async function onLogout() {
  say("console-message", "");
  if (app.status && app.status.state !== "logged_out") {
    try {
      await api("POST", "/api/agent/state", { state: "logged_out" });
    } catch (error) {
      if (error.status !== 401) say("console-message", "msg.logoutfail", { error: error.message }, true);
      return;
    }
  }
  try {
    await api("POST", "/api/logout");
  } catch (_) {
    // The session is over either way.
  }
  sessionEnded("");
}

// ---- agent state -------------------------------------------------------
async function requestState(state, reason) {
  say("console-message", "");
  try {
    setStatus(await api("POST", "/api/agent/state", reason ? { state, reason } : { state }));
  } catch (error) {
    say("console-message", "msg.server", { error: error.message }, true);
  }
}

function setStatus(status) {
  app.status = status;
  renderStatus();
  noticeStatus();
}

function renderStatus() {
  const status = app.status;
  const stateNode = $("state");
  if (!status) {
    // undefined: not heard from the server yet; null: not an ACD agent (e.g. a supervisor)
    const key = status === undefined ? "state.pending" : "state.none";
    stateNode.replaceWith(tx("span", key, null, { id: "state", class: `state ${status === undefined ? "state-pending" : "state-logged_out"}` }));
    $("state-reason").textContent = "";
    $("state-timer").textContent = "";
    for (const id of ["btn-ready", "btn-end-wrap", "pause-group"]) show(id, false);
    return;
  }
  stateNode.replaceWith(tx("span", `state.${status.state}`, null, { id: "state", class: `state state-${status.state}`, "data-state": status.state }));
  $("state-reason").textContent = status.reason ? `(${label("pausereason", status.reason)})` : "";
  show("btn-ready", status.state === "logged_out" || status.state === "paused");
  show("btn-end-wrap", status.state === "wrap_up");
  show("pause-group", status.state === "available" || status.state === "wrap_up" || status.state === "logged_out");
  tick();
}

function tick() {
  if (app.status) $("state-timer").textContent = formatDuration(serverNow() - app.status.since);
  tickPops();
}

// ---- live events ---------------------------------------------------------
function onHello(message) {
  app.clockOffset = message.server_time - Date.now() / 1000;
  app.expiresAt = message.expires_at;
  setStatus(message.status);
  reconcile(message.status);
}

function onEvent(type, data, message) {
  const mine = app.agent && data.agent_login === app.agent.login;
  if (type === "call.offered" && mine) {
    showPop(data);
    ack(message.seq);
    noticeOffer(data);
  } else if (type === "agent.state" && mine) {
    setStatus({ login: data.agent_login, state: data.state, reason: data.reason, since: data.at, call_id: data.call_id });
    // The wrap-up's deadline, maximum and whether a disposition is still due come with the full status.
    if (data.state === "wrap_up") {
      const still = () => app.status && app.status.state === "wrap_up" && app.status.call_id === data.call_id;
      api("GET", "/api/agent/state").then((full) => still() && setStatus(full), () => {});
    }
  } else if (type.startsWith("call.") && (mine || !data.agent_login)) {
    onCallEvent(type, data);
  }
  if (type.startsWith("call.")) noticeCallEvent(type, data);
  if (app.agent && app.agent.role !== "agent" && type.includes(".")) logFloor(type, data);
}

function logFloor(type, data) {
  const parts = [formatTime(data.at || serverNow()), label("event", type)];
  if (data.call_id) parts.push(data.call_id);
  if (data.agent_login) parts.push(`→ ${data.agent_login}`);
  if (data.queue) parts.push(`(${queueName(data.queue)})`);
  if (data.state) {
    const state = label("state", data.state);
    parts.push(data.reason ? `${state}: ${label("pausereason", data.reason)}` : state);
  }
  if (data.outcome) parts.push(label("end", data.outcome));
  const log = $("floor-log");
  log.prepend(el("li", { text: parts.join(" ") }));
  while (log.children.length > FLOOR_LOG_MAX) log.lastElementChild.remove();
}

// ---- start -------------------------------------------------------------
function init() {
  app.onStatus = setStatus; // for modules that change the state themselves (wrap-up extension)
  applyTranslations();
  mountOffline();
  mountAttention();
  mountShortcuts();
  setHandlers({
    hello: onHello,
    event: onEvent,
    unauthorized: (reason) => sessionEnded(reason || ""),
    error: (text) => say("console-message", "msg.server", { error: text }, true),
  });
  $("login-form").addEventListener("submit", onLogin);
  $("btn-ready").addEventListener("click", () => requestState("available"));
  $("btn-end-wrap").addEventListener("click", () => requestState("available"));
  $("btn-pause").addEventListener("click", () => requestState("paused", $("pause-reason").value));
  $("btn-logout").addEventListener("click", onLogout);
  $("btn-lang").addEventListener("click", () => setLanguage(getLanguage() === "zh" ? "en" : "zh"));
  onLanguageChange(() => renderStatus());
  for (const kind of ["click", "keydown"]) {
    document.addEventListener(kind, () => {
      session.activeSinceRenew = true;
    });
  }
  setInterval(tick, 1000);
  if (!app.token) {
    show("login-view", true);
    return;
  }
  resume();
}

// A reload while the server is away waits for it instead of dropping the session.
function resume() {
  api("GET", "/api/me")
    .then(enterConsole)
    .catch((error) => {
      if (error.status === 0) setTimeout(resume, 2000);
      else if (error.status !== 401) sessionEnded(error.message);
    });
}

init();
