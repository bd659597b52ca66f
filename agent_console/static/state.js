// Shared state of the agent page, the JSON API helper and small page helpers.
import { el } from "./dom.js";
import { t, tr } from "./i18n.js";

export const TOKEN_KEY = "bankcti.console.token";

export const app = {
  token: sessionStorage.getItem(TOKEN_KEY),
  agent: null,
  status: null,
  expiresAt: 0,
  clockOffset: 0, // server time minus browser time, seconds
  config: { pause_reasons: [], dispositions: [], wrapup_seconds: null, release_warning_days: 7, today: "" },
  onSessionEnded: () => {},
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
  const now = new Date();
  const month = String(now.getMonth() + 1).padStart(2, "0");
  return `${now.getFullYear()}-${month}-${String(now.getDate()).padStart(2, "0")}`;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Call the JSON API with the session's bearer token; ApiError with the server's message on failure. */
export async function api(method, path, body) {
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
    throw new ApiError(0, t("conn.offline"));
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
    if (response.status === 401 && path !== "/api/login") app.onSessionEnded(detail);
    throw new ApiError(response.status, detail);
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
