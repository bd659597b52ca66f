// Login locks on the wallboard, for admins: the login throttle's failure counts and locks in force
// (GET /api/crm/login-locks), each with an Unlock button (DELETE, audited by the server). Supervisors
// never see the panel; the server refuses them anyway.
import { el } from "./dom.js";
import { $, api, tr } from "./supervisor.js";

const REFRESH_MS = 30000;
let timer = null;

function lockedText(lock) {
  if (!lock.locked_until || lock.retry_after <= 0) return tr("not locked", "未锁定");
  return tr(`locked, ${lock.retry_after} s left`, `已锁定，剩余 ${lock.retry_after} 秒`);
}

function row(lock) {
  const unlock = el("button", { type: "button", class: "quiet unlock", text: tr("Unlock", "解锁") });
  unlock.addEventListener("click", async () => {
    const query = new URLSearchParams();
    if (lock.login) query.set("login", lock.login);
    if (lock.address) query.set("address", lock.address);
    unlock.disabled = true;
    try {
      await api(`/api/crm/login-locks?${query}`, { method: "DELETE" });
      $("locks-message").textContent = tr(
        `Cleared ${lock.login || lock.address}.`,
        `已清除 ${lock.login || lock.address}。`,
      );
    } catch (error) {
      $("locks-message").textContent = error.message;
    }
    await loadLocks();
  });
  return el(
    "tr",
    { "data-login": lock.login || "", "data-address": lock.address || "" },
    el("td", { text: lock.scope }),
    el("td", { text: lock.login || "–" }),
    el("td", { text: lock.address || "–" }),
    el("td", { class: "num", text: String(lock.failures) }),
    el("td", { class: "lock-state", text: lockedText(lock) }),
    el("td", {}, unlock),
  );
}

export async function loadLocks() {
  let locks;
  try {
    locks = await api("/api/crm/login-locks");
  } catch (error) {
    $("locks").replaceChildren(el("p", { class: "error", text: error.message }));
    return;
  }
  if (!locks.length) {
    $("locks").replaceChildren(el("p", { class: "muted", text: tr("No failed logins.", "没有登录失败记录。") }));
    return;
  }
  const head = el(
    "tr",
    {},
    el("th", { text: tr("Counted per", "计数范围") }),
    el("th", { text: tr("Login", "账号") }),
    el("th", { text: tr("Address", "地址") }),
    el("th", { text: tr("Failures", "失败次数") }),
    el("th", { text: tr("State", "状态") }),
    el("th", {}),
  );
  $("locks").replaceChildren(el("table", { class: "grid" }, el("thead", {}, head), el("tbody", {}, ...locks.map(row))));
}

/** Show the panel for an admin (and refresh it every 30 s); hide it for anyone else. */
export function showLocks(user) {
  clearInterval(timer);
  const admin = Boolean(user) && user.role === "admin";
  $("locks-panel").hidden = !admin;
  if (!admin) return;
  loadLocks();
  timer = setInterval(loadLocks, REFRESH_MS);
}
