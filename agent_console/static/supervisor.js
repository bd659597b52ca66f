// What the supervisor pages (wallboard, reports) share: the session, the JSON API, the log-in
// form, the language and the top bar. The token is the agent console's (same sessionStorage
// key), so a supervisor who opens a page from the console in the same tab is logged in already.
// The language choice is the console's too (i18n.js), strings come from each page's dictionary.
import { el } from "./dom.js";
import { getLanguage, onLanguageChange, setLanguage } from "./i18n.js";

export const TOKEN_KEY = "bankcti.console.token";
const RENEW_BEFORE_S = 600;

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: null, // {login, name, role}
  expiresAt: 0,
  clockOffset: 0, // server time minus browser time, seconds
  onEnded: () => {},
};

let renewTimer = null;

export const $ = (id) => document.getElementById(id);

export function serverNow() {
  return Date.now() / 1000 + session.clockOffset;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Call the JSON API with the bearer token; ApiError carrying the server's message on failure. */
export async function api(path, opts = {}) {
  const method = opts.method || (opts.body === undefined ? "GET" : "POST");
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, tr("the server cannot be reached", "无法连接服务器"));
  }
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (response.status !== 204 && type.includes("json")) {
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
  } else if (response.status !== 204) {
    data = await response.text();
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `request failed (${response.status})`;
    if (response.status === 401 && path !== "/api/login") endSession(detail);
    throw new ApiError(response.status, detail);
  }
  return data;
}

/** Fetch `path` with the token and save the answer as a file (CSV links cannot send headers). */
export async function download(path, filename) {
  const response = await fetch(path, {
    headers: session.token ? { Authorization: `Bearer ${session.token}` } : {},
    cache: "no-store",
  });
  if (!response.ok) {
    let detail = `download failed (${response.status})`;
    try {
      const data = await response.json();
      if (typeof data.detail === "string") detail = data.detail;
    } catch (_) {
      /* not JSON: keep the status */
    }
    throw new ApiError(response.status, detail);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename || path.split("/").pop().split("?")[0] || "export.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- language -----------------------------------------------------------------------

export const lang = () => getLanguage();

/** The English or the Chinese text, whichever the page shows now. */
export function tr(en, zh) {
  return getLanguage() === "zh" ? zh : en;
}

/** Mark `node` as showing [en, zh] (kept up to date on a language switch); returns `node`. */
export function bi(node, en, zh) {
  node.setAttribute("data-en", en);
  node.setAttribute("data-zh", zh);
  node.textContent = tr(en, zh);
  return node;
}

/** Re-translate every element marked by bi() or by data-en/data-zh attributes in the HTML. */
export function translatePage(title) {
  for (const node of document.querySelectorAll("[data-en]")) {
    node.textContent = tr(node.getAttribute("data-en"), node.getAttribute("data-zh"));
  }
  for (const node of document.querySelectorAll("[data-en-placeholder]")) {
    node.setAttribute("placeholder", tr(node.getAttribute("data-en-placeholder"), node.getAttribute("data-zh-placeholder")));
  }
  document.documentElement.lang = getLanguage() === "zh" ? "zh-CN" : "en";
  if (title) document.title = tr(title[0], title[1]);
  const button = $("btn-lang");
  if (button) button.textContent = getLanguage() === "zh" ? "English" : "中文";
}

export function wireLanguage(title, onChange) {
  translatePage(title);
  const button = $("btn-lang");
  if (button) button.addEventListener("click", () => setLanguage(getLanguage() === "zh" ? "en" : "zh"));
  onLanguageChange(() => {
    translatePage(title);
    onChange();
  });
}

// ---- session ------------------------------------------------------------------------

function storeToken(token) {
  session.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function endSession(reason) {
  storeToken(null);
  session.user = null;
  clearTimeout(renewTimer);
  session.onEnded(reason);
}

/** Note the session's end (from /api/me, /api/login or a websocket hello) and renew before it. */
export function sessionSeen(info, serverTime) {
  if (typeof serverTime === "number") session.clockOffset = serverTime - Date.now() / 1000;
  if (info && info.agent) session.user = info.agent;
  if (info && typeof info.expires_at === "number") {
    session.expiresAt = info.expires_at;
    clearTimeout(renewTimer);
    const wait = Math.max(5, session.expiresAt - serverNow() - RENEW_BEFORE_S);
    renewTimer = setTimeout(renew, Math.min(wait, 3600) * 1000);
  }
}

async function renew() {
  if (!session.token) return;
  try {
    sessionSeen(await api("/api/session/renew", { method: "POST" }));
  } catch (error) {
    if (error.status !== 401) renewTimer = setTimeout(renew, 30000);
  }
}

/** The logged-in user (checking the stored token), or null. */
export async function currentUser() {
  if (!session.token) return null;
  try {
    const info = await api("/api/me");
    sessionSeen(info);
    return info.agent;
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

export function isObserver(user) {
  return Boolean(user) && (user.role === "supervisor" || user.role === "admin");
}

/** Wire the log-in form (#login-form, #login-name, #login-password, #login-error). */
export function wireLogin(onLoggedIn) {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("login-error");
    error.textContent = "";
    try {
      const info = await api("/api/login", {
        body: { login: $("login-name").value.trim(), password: $("login-password").value },
      });
      storeToken(info.token);
      sessionSeen(info);
      $("login-password").value = "";
      onLoggedIn(info.agent);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

export async function logout() {
  try {
    await api("/api/logout", { method: "POST" });
  } catch (_) {
    /* logged out locally whatever the server says */
  }
  endSession(null);
}
