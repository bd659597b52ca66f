// bankcti reports page: a shell of tabs, each a report module loaded on first use.
//
// A report module is an ES module under /static/reports/ exporting
//     export async function render(root, ctx)
// where `root` is an empty element the module owns and
//     ctx = {
//       api: async (path, opts) => json     // GET by default; opts {method, body}; adds the Bearer token,
//                                           // throws Error(message from the server) on failure
//       lang: "en" | "zh",
//       t: (en, zh) => string,              // the text in the page's language
//       csv: (path) => url,                 // a link target for a CSV export of a report path
//       download: async (path, filename)    // fetch with the token and save as a file
//     }
// Links to /api/… inside a report (e.g. <a href=ctx.csv(path)>) are downloaded with the token
// by this shell, since a plain link cannot send it. A module that fails to load or to render
// leaves a clear message in its tab; the other tabs keep working. A language switch renders the
// open tab again in a fresh root.
import { el } from "./dom.js";
import { $, api, bi, currentUser, download, lang, logout, session, tr, wireLanguage, wireLogin } from "./supervisor.js";

const TITLE = ["bankcti · reports", "bankcti · 统计报表"];
export const TABS = [
  { id: "segments", en: "Customer segments", zh: "客户细分", module: "./reports/segments.js" },
  { id: "crm", en: "CRM statistics", zh: "CRM统计", module: "./reports/crm.js" },
  { id: "contact-center", en: "Contact center", zh: "呼叫中心", module: "./reports/contact-center.js" },
  { id: "commission", en: "Commission", zh: "提成核算", module: "./reports/commission.js" },
];

const state = { current: null, modules: new Map() };

/** The CSV export URL of a report path (its `format=csv` variant). */
export function csvUrl(path) {
  if (/[?&]format=/.test(path)) return path;
  return path + (path.includes("?") ? "&" : "?") + "format=csv";
}

function context() {
  return {
    api: (path, opts) => api(path, opts || {}),
    lang: lang(),
    t: (en, zh) => tr(en, zh),
    csv: csvUrl,
    download: (path, filename) => download(path, filename),
  };
}

function say(en, zh, isError) {
  const node = $("reports-message");
  if (en) bi(node, en, zh);
  else {
    node.removeAttribute("data-en");
    node.textContent = "";
  }
  node.classList.toggle("error", Boolean(isError));
}

async function loadModule(tab) {
  if (!state.modules.has(tab.id)) {
    // A failed import is not cached: the next click tries again (e.g. after a deploy).
    const loading = import(tab.module).catch((error) => {
      state.modules.delete(tab.id);
      throw error;
    });
    state.modules.set(tab.id, loading);
  }
  return state.modules.get(tab.id);
}

function failure(tab, en, zh, error) {
  const detail = error && error.message ? error.message : String(error);
  return el(
    "div",
    { class: "tab-failed", role: "alert", "data-tab-error": tab.id },
    el("p", { text: tr(`${en} “${tab.en}”.`, `${zh}“${tab.zh}”。`) }),
    el("p", { class: "muted", text: detail }),
  );
}

async function open(id) {
  const tab = TABS.find((t) => t.id === id) || TABS[0];
  state.current = tab.id;
  for (const button of $("tabs").children) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab.id));
  }
  if (location.hash !== `#${tab.id}`) history.replaceState(null, "", `#${tab.id}`);
  const root = el("div", { class: "report", "data-report": tab.id });
  const panel = $("tab-panel");
  panel.replaceChildren(bi(el("p", { class: "muted" }), "Loading…", "加载中…"));
  let module;
  try {
    module = await loadModule(tab);
  } catch (error) {
    if (state.current === tab.id) panel.replaceChildren(failure(tab, "Cannot load the report", "无法加载报表", error));
    return;
  }
  if (state.current !== tab.id) return; // another tab was chosen meanwhile
  if (typeof module.render !== "function") {
    panel.replaceChildren(failure(tab, "The report module has no render() in", "报表模块缺少 render()：", new Error(tab.module)));
    return;
  }
  panel.replaceChildren(root);
  try {
    await module.render(root, context());
  } catch (error) {
    if (root.isConnected) root.replaceChildren(failure(tab, "The report failed", "报表出错", error));
  }
}

function drawTabs() {
  $("tabs").replaceChildren(
    ...TABS.map((tab) =>
      bi(
        el("button", {
          type: "button",
          role: "tab",
          "data-tab": tab.id,
          "aria-selected": String(tab.id === state.current),
          onclick: () => open(tab.id),
        }),
        tab.en,
        tab.zh,
      ),
    ),
  );
}

// Report links to the API need the token: download them instead of navigating.
function interceptApiLinks(event) {
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!link) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/api/")) return;
  event.preventDefault();
  say(null);
  download(url.pathname + url.search, link.getAttribute("download") || undefined).catch((error) =>
    say(`Download failed: ${error.message}`, `下载失败：${error.message}`, true),
  );
}

function showLogin(reason) {
  $("reports-view").hidden = true;
  $("login-view").hidden = false;
  $("btn-logout").hidden = true;
  $("user-name").textContent = "";
  $("login-error").textContent = reason || "";
}

function showReports(user) {
  $("login-view").hidden = true;
  $("reports-view").hidden = false;
  $("btn-logout").hidden = false;
  $("user-name").textContent = `${user.name} (${user.login})`;
  const wanted = location.hash.slice(1);
  state.current = TABS.some((t) => t.id === wanted) ? wanted : TABS[0].id;
  drawTabs();
  open(state.current);
}

async function start() {
  wireLanguage(TITLE, () => {
    if (state.current && !$("reports-view").hidden) open(state.current);
  });
  session.onEnded = (reason) => showLogin(reason ? tr("Session ended; log in again.", "会话已结束，请重新登录。") : "");
  wireLogin(showReports);
  $("btn-logout").addEventListener("click", () => logout());
  $("tab-panel").addEventListener("click", interceptApiLinks);
  window.addEventListener("hashchange", () => {
    const wanted = location.hash.slice(1);
    if (session.user && wanted !== state.current && TABS.some((t) => t.id === wanted)) open(wanted);
  });
  let user = null;
  try {
    user = await currentUser();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
  if (user) showReports(user);
  else showLogin("");
}

start();
