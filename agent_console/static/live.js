// The page's one websocket: authenticate, receive sequenced events, acknowledge
// pops, ping, and reconnect by itself with back-off; every (re)connection starts
// with a fresh `hello` snapshot the page redraws from.
import { app, setConnectionLabel } from "./state.js";

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10000;

const live = {
  ws: null,
  attempt: 0,
  lastSeq: 0,
  reconnectTimer: null,
  pingTimer: null,
  pongTimer: null,
  handlers: { hello: () => {}, event: () => {}, unauthorized: () => {}, error: () => {}, connection: () => {} },
};

/** `handlers`: hello(message), event(type, data, message), unauthorized(reason), error(text),
 * connection(kind): "up" (hello received), "down" (lost, reconnecting) or "reset" (let go on purpose). */
export function setHandlers(handlers) {
  live.handlers = { ...live.handlers, ...handlers };
}

export function connect() {
  if (!app.token || live.ws) return;
  clearTimeout(live.reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  live.ws = ws;
  setConnectionLabel("connecting", "conn.connecting");
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token: app.token })));
  ws.addEventListener("message", (event) => onMessage(ws, event));
  ws.addEventListener("close", (event) => onClose(ws, event));
}

export function disconnect() {
  clearTimeout(live.reconnectTimer);
  stopPing();
  if (live.ws) {
    const ws = live.ws;
    live.ws = null;
    ws.close(1000, "bye");
  }
  setConnectionLabel("offline", "conn.offline");
  live.handlers.connection("reset");
}

export function connected() {
  return live.ws !== null;
}

/** Acknowledge the pop sent as `seq` (the server re-sends unacknowledged pops on reconnect). */
export function ack(seq) {
  if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.send(JSON.stringify({ type: "ack", seq }));
}

function onClose(ws, event) {
  if (live.ws !== ws) return; // an old socket we already let go
  live.ws = null;
  stopPing();
  setConnectionLabel("offline", "conn.offline");
  if (event.code === 4401) {
    live.handlers.unauthorized(event.reason);
    return;
  }
  if (!app.token) return;
  live.handlers.connection("down");
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** live.attempt);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  live.attempt += 1;
  setConnectionLabel("offline", "conn.retry", { s: Math.ceil(delay / 1000) });
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

function onMessage(ws, event) {
  let message;
  try {
    message = JSON.parse(event.data);
  } catch (_) {
    return;
  }
  if (typeof message.seq === "number") live.lastSeq = message.seq;
  switch (message.type) {
    case "hello":
      live.attempt = 0;
      setConnectionLabel("live", "conn.live");
      startPing(ws);
      live.handlers.connection("up");
      live.handlers.hello(message);
      break;
    case "pong":
      clearTimeout(live.pongTimer);
      break;
    case "error":
      live.handlers.error(message.message);
      break;
    default:
      live.handlers.event(message.type, message.event || {}, message);
  }
}

// Back-online hint from the browser: try at once rather than wait for the back-off.
window.addEventListener("online", () => {
  if (app.token && !live.ws) connect();
});
