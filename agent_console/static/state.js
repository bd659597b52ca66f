// Shared state of the agent page, the JSON API helper and small page helpers.
import { el } from "./dom.js";
import { t, tr } from "./i18n.js";

export const TOKEN_KEY = "bankcti.console.token";

export const app = {
  token: sessionStorage.getItem(TOKEN_KEY),
  agent: null,
  status: undefined, // undefined until the server says (hello); null: not an ACD agent
  expiresAt: 0,
  clockOffset: 0, // server time minus browser time, seconds
  config: { pause_reasons: [], dispositions: [], wrapup_seconds: null, release_warning_days: 7, today: "" },
  onSessionEnded: () => {},
  offline: false, // the server is unreachable (offline.js): state-changing requests are refused
  onReachability: (_reached) => {}, // told whether each request reached the server (offline.js)
};

export const $ = (id) => document.getElementById(id);

export function show(id, visible) {
  $(id).hidden = !visible;
}

/** Put a translated message (`key`, `vars`) or nothing into the element `id`. */
export function say(id, key, vars, isError) {
  const node = $(id);
  if (key) tr(node, key, vars);
  else {
    node.removeAttribute("data-i18n");
    node.textContent = "";
  }
  node.classList.toggle("error", Boolean(isError));
}

/** An element showing the translation of `key`; `props` as for el(). */
export function tx(tag, key, vars, props) {
  return tr(el(tag, props), key, vars);
}

export function serverNow() {
  return Date.now() / 1000 + app.clockOffset;
}

/** Today's date (YYYY-MM-DD) in the browser's time zone. */
export function localToday() {
  // The site's date as the server gave it (a browser in another zone must not offer yesterday).
  if (app.config && app.config.today) return app.config.today;
  const now = new Date();
  const month = String(now.getMonth() + 1).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${String(now.getDate()).padStart(2, "0")}`;
}

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null; // the input a 422 names
  }
}

// A 503 means the CRM's database is unavailable (an outage, a restart): nothing was done, so the
// request is sent again after the server's Retry-After, with a notice instead of an error.
export const UNAVAILABLE_RETRIES = 24;
const UNAVAILABLE_DEFAULT_S = 5;
const UNAVAILABLE_MAX_S = 60;
const unavailable = { waiting: 0 };

function retryAfter(response) {
  const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  if (!Number.isFinite(seconds)) return UNAVAILABLE_DEFAULT_S;
  return Math.min(Math.max(seconds, 1), UNAVAILABLE_MAX_S);
}

/** Show "the CRM is unavailable, retrying in N s" (counting down) for `seconds`, then resolve. */
async function waitUnavailable(seconds) {
  const node = $("crm-unavailable");
  unavailable.waiting += 1;
  try {
    for (let left = seconds; left > 0; left -= 1) {
      if (node) {
        tr(node, "crm.unavailable", { s: left });
        node.hidden = false;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    unavailable.waiting -= 1;
  }
}

function clearUnavailable() {
  const node = $("crm-unavailable");
  if (node && unavailable.waiting === 0) node.hidden = true;
}

async function send(method, path, body) {
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
    app.onReachability(false);
    throw new ApiError(0, t("conn.offline"));
  }
  app.onReachability(response.status !== 502 && response.status !== 504); // a proxy's "no server"
  return response;
}

/** Call the JSON API with the session's bearer token; ApiError with the server's message on failure.
 *
 * While the server answers 503 (CRM unavailable) the call waits and retries, up to
 * UNAVAILABLE_RETRIES times, showing the notice; the caller only sees the final outcome. */
export async function api(method, path, body) {
  // While the server is unreachable nothing that changes state is sent (the page says so and disables
  // its buttons; this catches whatever still asks, e.g. a form submitted with Enter).
  if (app.offline && method !== "GET" && path !== "/api/login") throw new ApiError(0, t("offline.refused"));
  let response;
  for (let attempt = 0; ; attempt += 1) {
    response = await send(method, path, body);
    if (response.status !== 503 || attempt >= UNAVAILABLE_RETRIES) break;
    await waitUnavailable(retryAfter(response));
  }
  if (response.status !== 503) clearUnavailable();
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
  }
  if (!response.ok) {
    if (response.status === 503) throw new ApiError(503, t("crm.unavailable.gaveup"));
    const detail = data && typeof data.detail === "string" ? data.detail : `request failed (${response.status})`;
    if (response.status === 401 && path !== "/api/login") app.onSessionEnded(detail);
    throw new ApiError(response.status, detail, data && typeof data.field === "string" ? data.field : null);
  }
  return data;
}

/** A small table: `headings` are [i18n key, class?], `rows` arrays of [text, class?]. */
export function table(headings, rows, emptyKey) {
  const head = el("tr", null, ...headings.map(([key, cls]) => tx("th", key, null, { class: cls })));
  const body = rows.length
    ? rows.map((cells) =>
        el(
          "tr",
          null,
          ...cells.map(([value, cls]) => (value instanceof Node ? el("td", { class: cls }, value) : el("td", { class: cls, text: value }))),
        ),
      )
    : [el("tr", null, tx("td", emptyKey, null, { class: "empty-row", colspan: headings.length }))];
  return el("table", null, el("thead", null, head), el("tbody", null, ...body));
}

/** The connection badge in the top bar: `kind` is live, connecting or offline. */
export function setConnectionLabel(kind, key, vars) {
  const node = $("connection");
  node.className = `connection ${kind}`;
  tr(node, key, vars);
}
