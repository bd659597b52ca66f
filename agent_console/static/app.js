// bankcti agent console: login, agent state, live screen-pop and call notes.
// Every piece of data reaches the page through textContent, never as HTML.
import { el, formatDuration, formatTime } from "./dom.js";
import { buildPop } from "./pop.js";
import { mountCustomers } from "./customers.js";

const TOKEN_KEY = "bankcti.console.token";
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30000;
const RENEW_BEFORE_S = 600;
const FLOOR_LOG_MAX = 60;
const STATE_LABELS = {
  logged_out: "logged out",
  available: "ready",
  ringing: "ringing",
  on_call: "on call",
  wrap_up: "wrap-up",
  paused: "paused",
};

const app = {
  token: sessionStorage.getItem(TOKEN_KEY),
  agent: null,
  status: null,
  expiresAt: 0,
  clockOffset: 0, // server time minus browser time, seconds
  dispositions: [],
  ws: null,
  wsAttempt: 0,
  reconnectTimer: null,
  pingTimer: null,
  pongTimer: null,
  renewTimer: null,
  activeSinceRenew: false,
  pops: new Map(), // call_id -> {card, setState}
};

// ---- DOM helpers -------------------------------------------------------
const $ = (id) => document.getElementById(id);

function show(id, visible) {
  $(id).hidden = !visible;
}

function say(id, text, isError) {
  const node = $(id);
  node.textContent = text || "";
  node.classList.toggle("error", Boolean(isError));
}

function serverNow() {
  return Date.now() / 1000 + app.clockOffset;
}

// ---- HTTP API ----------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (app.token) headers.Authorization = `Bearer ${app.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, "the server cannot be reached");
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `request failed (${response.status})`;
    if (response.status === 401 && path !== "/api/login") sessionEnded(detail);
    throw new ApiError(response.status, detail);
  }
  return data;
}

// ---- session -----------------------------------------------------------
async function onLogin(event) {
  event.preventDefault();
  say("login-error", "");
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    const info = await api("POST", "/api/login", {
      login: $("login-name").value,
      password: $("login-password").value,
    });
    $("login-password").value = "";
    app.token = info.token;
    sessionStorage.setItem(TOKEN_KEY, info.token);
    await enterConsole(info);
  } catch (error) {
    say("login-error", error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function enterConsole(info) {
  app.agent = info.agent;
  app.expiresAt = info.expires_at;
  $("agent-name").textContent = `${info.agent.name} (${info.agent.role})`;
  show("login-view", false);
  show("console-view", true);
  show("floor", info.agent.role === "supervisor");
  scheduleRenew();
  try {
    const data = await api("GET", "/api/dispositions");
    app.dispositions = data.dispositions;
  } catch (error) {
    say("console-message", `dispositions unavailable: ${error.message}`, true);
  }
  connect();
  mountCustomers($("customers"), api, info.agent.login, (text, isError) => say("console-message", text, isError));
}

function sessionEnded(message) {
  const wasIn = app.token !== null;
  app.token = null;
  app.agent = null;
  app.status = null;
  sessionStorage.removeItem(TOKEN_KEY);
  disconnect();
  clearTimeout(app.renewTimer);
  for (const call of app.pops.keys()) removePop(call);
  $("floor-log").replaceChildren();
  $("agent-name").textContent = "";
  show("console-view", false);
  show("login-view", true);
  say("login-error", wasIn ? message : "", true);
  $("login-name").focus();
}

function scheduleRenew() {
  clearTimeout(app.renewTimer);
  const dueIn = Math.max(30, app.expiresAt - serverNow() - RENEW_BEFORE_S);
  app.renewTimer = setTimeout(renewIfActive, Math.min(dueIn, 86400) * 1000);
}

async function renewIfActive() {
  // A session left untouched is allowed to expire; an agent at work is not logged out.
  if (!app.activeSinceRenew) return;
  try {
    const info = await api("POST", "/api/session/renew");
    app.expiresAt = info.expires_at;
    app.activeSinceRenew = false;
    scheduleRenew();
  } catch (error) {
    if (error.status !== 401) app.renewTimer = setTimeout(renewIfActive, 30000);
  }
}

async function onLogout() {
  say("console-message", "");
  if (app.status && app.status.state !== "logged_out") {
    try {
      await api("POST", "/api/agent/state", { state: "logged_out" });
    } catch (error) {
      if (error.status !== 401) say("console-message", `cannot log out now: ${error.message}`, true);
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
    const body = reason ? { state, reason } : { state };
    setStatus(await api("POST", "/api/agent/state", body));
  } catch (error) {
    say("console-message", error.message, true);
  }
}

function setStatus(status) {
  app.status = status;
  renderStatus();
}

function renderStatus() {
  const status = app.status;
  const stateNode = $("state");
  if (!status) {
    stateNode.textContent = "no queues";
    stateNode.className = "state state-logged_out";
    $("state-reason").textContent = "";
    $("state-timer").textContent = "";
    for (const id of ["btn-ready", "btn-end-wrap", "pause-group"]) show(id, false);
    return;
  }
  stateNode.textContent = STATE_LABELS[status.state] || status.state;
  stateNode.className = `state state-${status.state}`;
  $("state-reason").textContent = status.reason ? `(${status.reason})` : "";
  show("btn-ready", status.state === "logged_out" || status.state === "paused");
  show("btn-end-wrap", status.state === "wrap_up");
  show("pause-group", status.state === "available" || status.state === "wrap_up");
  tick();
}

function tick() {
  if (app.status) $("state-timer").textContent = formatDuration(serverNow() - app.status.since);
}

// ---- websocket ---------------------------------------------------------
function setConnection(kind, label) {
  const node = $("connection");
  node.className = `connection ${kind}`;
  node.textContent = label;
}

function connect() {
  if (!app.token || app.ws) return;
  clearTimeout(app.reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  app.ws = ws;
  setConnection("connecting", "connecting…");
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: app.token })));
  ws.addEventListener("message", (event) => onSocketMessage(ws, event));
  ws.addEventListener("close", (event) => onSocketClose(ws, event));
}

function disconnect() {
  clearTimeout(app.reconnectTimer);
  stopPing();
  if (app.ws) {
    const ws = app.ws;
    app.ws = null;
    ws.close(1000, "bye");
  }
  setConnection("offline", "offline");
}

function onSocketClose(ws, event) {
  if (app.ws !== ws) return; // an old socket we already let go
  app.ws = null;
  stopPing();
  setConnection("offline", "offline");
  if (event.code === 4401) {
    sessionEnded(event.reason || "session ended; log in again");
    return;
  }
  if (!app.token) return;
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** app.wsAttempt);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  app.wsAttempt += 1;
  setConnection("offline", `offline · retry in ${Math.ceil(delay / 1000)} s`);
  app.reconnectTimer = setTimeout(connect, delay);
}

function startPing(ws) {
  stopPing();
  app.pingTimer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "ping" }));
    clearTimeout(app.pongTimer);
    app.pongTimer = setTimeout(() => ws.close(4000, "no pong"), PONG_WITHIN_MS);
  }, PING_EVERY_MS);
}

function stopPing() {
  clearInterval(app.pingTimer);
  clearTimeout(app.pongTimer);
}

function onSocketMessage(ws, event) {
  let message;
  try {
    message = JSON.parse(event.data);
  } catch (_) {
    return;
  }
  const data = message.event || {};
  const mine = app.agent && data.agent_login === app.agent.login;
  switch (message.type) {
    case "hello":
      app.wsAttempt = 0;
      app.clockOffset = message.server_time - Date.now() / 1000;
      app.expiresAt = message.expires_at;
      setStatus(message.status);
      setConnection("live", "live");
      startPing(ws);
      break;
    case "pong":
      clearTimeout(app.pongTimer);
      break;
    case "error":
      say("console-message", `server: ${message.message}`, true);
      break;
    case "call.offered":
      if (mine) {
        showPop(data);
        ws.send(JSON.stringify({ type: "ack", seq: message.seq }));
      }
      break;
    case "call.connected":
      if (mine) setPopState(data.call_id, "connected", false);
      break;
    case "call.ended":
      setPopState(data.call_id, `ended · ${data.outcome}`, true);
      break;
    case "agent.state":
      if (mine) {
        setStatus({
          login: data.agent_login,
          state: data.state,
          reason: data.reason,
          since: data.at,
          call_id: data.call_id,
        });
      }
      break;
    default:
      break;
  }
  if (app.agent && app.agent.role === "supervisor" && message.type.includes(".")) logFloor(message.type, data);
}

// ---- screen-pop --------------------------------------------------------
function showPop(offer) {
  removePop(offer.call_id);
  const pop = buildPop(offer, {
    dispositions: app.dispositions,
    saveNote: (callId, body) => api("POST", `/api/calls/${encodeURIComponent(callId)}/note`, body),
    onClose: removePop,
  });
  app.pops.set(offer.call_id, pop);
  $("pops").prepend(pop.card);
  show("no-calls", false);
}

function setPopState(callId, label, ended) {
  const pop = app.pops.get(callId);
  if (pop) pop.setState(label, ended);
}

function removePop(callId) {
  const pop = app.pops.get(callId);
  if (!pop) return;
  pop.card.remove();
  app.pops.delete(callId);
  show("no-calls", app.pops.size === 0);
}

// ---- supervisor floor log ---------------------------------------------
function logFloor(type, data) {
  const parts = [formatTime(data.at || serverNow()), type];
  if (data.call_id) parts.push(data.call_id);
  if (data.agent_login) parts.push(`→ ${data.agent_login}`);
  if (data.queue) parts.push(`(${data.queue})`);
  if (data.state) parts.push(data.reason ? `${data.state}: ${data.reason}` : data.state);
  if (data.outcome) parts.push(data.outcome);
  const log = $("floor-log");
  log.prepend(el("li", { text: parts.join(" ") }));
  while (log.children.length > FLOOR_LOG_MAX) log.lastElementChild.remove();
}

// ---- start -------------------------------------------------------------
function init() {
  $("login-form").addEventListener("submit", onLogin);
  $("btn-ready").addEventListener("click", () => requestState("available"));
  $("btn-end-wrap").addEventListener("click", () => requestState("available"));
  $("btn-pause").addEventListener("click", () => requestState("paused", $("pause-reason").value));
  $("btn-logout").addEventListener("click", onLogout);
  for (const kind of ["click", "keydown"]) {
    document.addEventListener(kind, () => {
      app.activeSinceRenew = true;
    });
  }
  setInterval(tick, 1000);
  window.addEventListener("online", () => {
    if (app.token && !app.ws) connect();
  });
  if (!app.token) {
    show("login-view", true);
    return;
  }
  api("GET", "/api/me")
    .then(enterConsole)
    .catch((error) => {
      if (error.status !== 401) sessionEnded(error.message);
    });
}

init();
