// Chinese / English strings of the agent console, and the language switch.
// The catalogs are i18n/en.js and i18n/zh.js (same keys).  Elements carry their key
// (data-i18n, data-i18n-vars, data-i18n-placeholder, data-i18n-aria-label, data-i18n-title)
// or what they render (data-i18n-render + data-i18n-args: a code's label, a date, an IVR
// step), so a switch re-translates the whole page in place, typed notes and open calls
// included.  The choice is kept in localStorage; the first visit follows the browser.
import { en } from "./i18n/en.js";
import { zh } from "./i18n/zh.js";

const LANG_KEY = "bankcti.console.lang";

const DICTIONARIES = { en, zh };
const listeners = [];

function initialLanguage() {
  const stored = localStorage.getItem(LANG_KEY);
  if (stored && DICTIONARIES[stored]) return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let language = initialLanguage();

export function getLanguage() {
  return language;
}

/** The catalogs, for the tests that compare them. */
export const catalogs = DICTIONARIES;

// A variable may itself be something to render in the current language:
// {kind, code} a code's label, {when} a date and time, {day} a date.
function varText(value) {
  if (value && typeof value === "object") {
    if ("kind" in value) return label(value.kind, value.code);
    if ("when" in value) return formatDateTime(value.when);
    if ("day" in value) return formatDate(value.day);
  }
  return String(value);
}

/** The text of `key` in the current language, `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const template = DICTIONARIES[language][key] ?? en[key] ?? key;
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? varText(vars[name]) : whole));
}

/** Whether the catalogs know `key`. */
export function has(key) {
  return key in en;
}

/** Mark `node` as showing `key` (kept up to date on a language switch); returns `node`. */
export function tr(node, key, vars) {
  node.removeAttribute("data-i18n-render");
  node.setAttribute("data-i18n", key);
  if (vars) node.setAttribute("data-i18n-vars", JSON.stringify(vars));
  else node.removeAttribute("data-i18n-vars");
  node.textContent = t(key, vars);
  return node;
}

// ---- codes ------------------------------------------------------------------------------

/**
 * The label of an enumeration value: `kind` is tier, disp, channel, dir, acct.type,
 * acct.status, contract.status, phone.type, pausereason, queue or end.  A code the catalogs
 * do not know (an administrator's new disposition, say) shows as it is.
 */
export function label(kind, code) {
  if (code === null || code === undefined || code === "") return "";
  const key = `${kind}.${code}`;
  return has(key) ? t(key) : String(code);
}

/** A queue's name: the catalog's for a known queue (in Chinese), else its display name. */
export function queueName(code, displayName) {
  if (language === "en" && displayName) return displayName;
  return has(`queue.${code}`) ? t(`queue.${code}`) : displayName || String(code ?? "");
}

// ---- dates and times --------------------------------------------------------------------

function locale() {
  return language === "zh" ? "zh-CN" : "en-GB";
}

// Epoch seconds, an ISO 8601 date-time, or a YYYY-MM-DD day (read as that day here, not UTC).
function toDate(value) {
  if (value instanceof Date) return value;
  if (typeof value === "number") return new Date(value * 1000);
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  if (day) return new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  return new Date(String(value));
}

function formatted(value, options) {
  if (value === null || value === undefined || value === "") return "";
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), { ...options, hourCycle: "h23" }).format(date);
}

/** A date and time in the current language's format (24-hour). */
export function formatDateTime(value) {
  return formatted(value, { dateStyle: "medium", timeStyle: "short" });
}

/** A time of day with seconds (24-hour). */
export function formatClock(value) {
  return formatted(value, { timeStyle: "medium" });
}

/** A day (no time). */
export function formatDate(value) {
  return formatted(value, { dateStyle: "medium" });
}

// ---- IVR steps ----------------------------------------------------------------------------

// Node name -> {label, label_zh}, from the menu files (GET /api/desk/config's ivr_nodes).
let ivrNodes = {};

/** Set the IVR nodes' descriptions the screen shows for a caller's path. */
export function setIvrNodes(nodes) {
  ivrNodes = nodes && typeof nodes === "object" ? nodes : {};
  applyTranslations();
}

function nodeLabel(node) {
  const known = ivrNodes[node];
  if (!known) return node;
  return (language === "zh" ? known.label_zh : known.label) || known.label || node;
}

function tierText(tier) {
  return !tier || tier === "unknown" ? t("ivr.r.unknowntier") : label("tier", tier);
}

function conditionText(fact) {
  let m = /^vip=(yes|no) \(tier=([^)]*)\)$/.exec(fact);
  if (m) return m[1] === "yes" ? tierText(m[2]) : m[2] === "unknown" ? tierText(m[2]) : t("ivr.r.notvip", { tier: tierText(m[2]) });
  if ((m = /^tier=(.*)$/.exec(fact))) return tierText(m[1]);
  if ((m = /^authentication=(\w+)$/.exec(fact))) return m[1] === "verified" ? t("ivr.r.verified") : has(`auth.${m[1]}`) ? t(`auth.${m[1]}`) : t("ivr.r.notverified");
  if ((m = /^\S+ (open|closed)$/.exec(fact))) return t(`ivr.r.${m[1]}`);
  if ((m = /^language=(\w+)$/.exec(fact))) return has(`ivr.r.lang.${m[1]}`) ? t(`ivr.r.lang.${m[1]}`) : m[1];
  return fact;
}

// What happened at a step, in words; "" when the node's description says it all.
function resultText(step) {
  const r = String(step.result || "");
  let m;
  if (r === "" || r === "played" || r.startsWith("goto=") || r.startsWith("said ")) return "";
  if ((m = /^(.*): (then|else)$/.exec(r))) return conditionText(m[1]);
  if ((m = /^choice=(.+)$/.exec(r))) return t("ivr.r.pressed", { keys: m[1] });
  if (r === "barged-in") return t("ivr.r.skipped");
  if (r === "timeout") return t("ivr.r.timeout");
  if (r === "invalid" || r.startsWith("invalid: ")) return t("ivr.r.invalid");
  if ((m = /^matched=(\d+)$/.exec(r))) return m[1] === "0" ? t("ivr.r.matched.none") : m[1] === "1" ? t("ivr.r.matched.one") : t("ivr.r.matched", { n: m[1] });
  if (["withheld", "unparsable", "lookup-failed", "hangup", "abandoned", "verified", "locked"].includes(r)) return t(`ivr.r.${r}`);
  if ((m = /^(?:queue|fallback)=(.+)$/.exec(r))) return t("ivr.r.queue", { queue: queueName(m[1]) });
  if ((m = /^language=(\w+)$/.exec(r))) return has(`ivr.r.lang.${m[1]}`) ? t(`ivr.r.lang.${m[1]}`) : m[1];
  if ((m = /^(?:wrong_pin|no_pin)(?:, (\d+) attempts left)?$/.exec(r))) return m[1] ? t("ivr.r.wrongpin", { n: m[1] }) : t("ivr.r.wrongpin.last");
  if (r.endsWith(" unavailable")) return t("ivr.r.unavailable");
  if (r.endsWith(" failed") || r.startsWith("verification failed")) return t("ivr.r.failed");
  if (r.startsWith("denied: ")) return t("ivr.r.denied");
  if ((m = /^entered (\d+) digits$/.exec(r))) return t("ivr.r.digits", { n: m[1] });
  if ((m = /^[\w.-]+=(\d+)$/.exec(r))) return t("ivr.r.digits", { n: m[1].length });
  if ((m = /^balance: (\d+) accounts$/.exec(r))) return t("ivr.r.balance", { n: m[1] });
  if ((m = /^recent transactions: (\d+)$/.exec(r))) return t("ivr.r.transactions", { n: m[1] });
  if ((m = /^card reported lost: (.+)$/.exec(r))) return t("ivr.r.lost", { ref: m[1] });
  if ((m = /^callback requested: (.+)$/.exec(r))) return t("ivr.r.callback", { ref: m[1] });
  return r;
}

/** One step of a caller's IVR path in words: the node's description → what happened. */
export function ivrStepText(step) {
  const result = resultText(step);
  const name = nodeLabel(step.node);
  return result ? t("ivr.step", { label: name, result }) : name;
}

// ---- rendered nodes -----------------------------------------------------------------------

const RENDERERS = {
  code: (args) => label(args.kind, args.code),
  queue: (args) => queueName(args.code, args.display),
  when: (args) => formatDateTime(args.v),
  clock: (args) => formatClock(args.v),
  day: (args) => formatDate(args.v),
  ivr: (args) => ivrStepText(args),
};

/** Add a way of showing something (`render(args)` → text) that shown() can name. */
export function defineRenderer(name, render) {
  RENDERERS[name] = render;
}

/**
 * Make `node` show `what` (code, queue, when, clock, day, ivr or a defineRenderer() name) of
 * `args`, in the current language and again after a switch; returns `node`.
 */
export function shown(node, what, args) {
  node.removeAttribute("data-i18n");
  node.removeAttribute("data-i18n-vars");
  node.setAttribute("data-i18n-render", what);
  node.setAttribute("data-i18n-args", JSON.stringify(args));
  node.textContent = RENDERERS[what](args);
  return node;
}

/** `node` showing the label of `code` (see label()); returns `node`. */
export function trCode(node, kind, code) {
  return shown(node, "code", { kind, code });
}

const ATTRIBUTES = ["placeholder", "aria-label", "title"];

/** Translate every marked element under `root`. */
export function applyTranslations(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const vars = node.getAttribute("data-i18n-vars");
    node.textContent = t(node.getAttribute("data-i18n"), vars ? JSON.parse(vars) : undefined);
  }
  for (const node of root.querySelectorAll("[data-i18n-render]")) {
    const render = RENDERERS[node.getAttribute("data-i18n-render")];
    if (render) node.textContent = render(JSON.parse(node.getAttribute("data-i18n-args") || "{}"));
  }
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    }
  }
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
}

export function setLanguage(next) {
  if (!DICTIONARIES[next] || next === language) return;
  language = next;
  localStorage.setItem(LANG_KEY, next);
  applyTranslations();
  for (const listener of listeners) listener(next);
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}
