// bankcti agent accounts page (/admin), for admins: list the accounts, add and edit them, disable or enable
// them, give a new password. Every change goes through /api/admin/agents, which checks it, audits it and
// applies it to the running ACD; a generated password is shown here once and never again.
import { el } from "./dom.js";
import { queueName } from "./i18n.js";
import { $, api, bi, currentUser, logout, session, tr, wireLanguage, wireLogin } from "./supervisor.js";

const TITLE = ["bankcti · agent accounts", "bankcti · 座席账号管理"];
const ROLES = { agent: ["agent", "座席"], supervisor: ["supervisor", "班长"], admin: ["admin", "管理员"] };
const state = { agents: [], queues: [], editing: null };

function say(en, zh, isError) {
  const node = $("admin-message");
  bi(node, en, zh);
  node.classList.toggle("error", Boolean(isError));
}

function failed(error) {
  say(error.message, error.message, true);
}

/** A generated password, shown once: it disappears with the next action or reload. */
function showOnce(login, password) {
  const node = $("one-time");
  node.hidden = !password;
  node.textContent = password
    ? tr(`Password of ${login}, shown once — hand it over now: ${password}`, `${login} 的密码（仅显示一次，请立即转交）：${password}`)
    : "";
}

const skillsText = (skills) =>
  Object.entries(skills)
    .sort()
    .map(([name, level]) => `${name}:${level}`)
    .join(" ");

function parseSkills(text) {
  const skills = {};
  for (const item of text.split(/[\s,;]+/).filter(Boolean)) {
    const [name, level] = item.split(":");
    if (!name || !/^\d+$/.test(level || "")) throw new Error(tr(`Skill "${item}": write skill:level, e.g. cards:4`, `技能“${item}”：请写成 技能:等级，如 cards:4`));
    skills[name] = Number(level);
  }
  return skills;
}

const names = (text) => text.split(",").map((n) => n.trim()).filter(Boolean);

function actions(agent) {
  const button = (en, zh, handler, name) => {
    const node = bi(el("button", { type: "button", class: "small quiet", "data-action": name }), en, zh);
    node.addEventListener("click", handler);
    return node;
  };
  return el(
    "td",
    { class: "actions" },
    button("Edit", "编辑", () => openForm(agent), "edit"),
    agent.active
      ? button("Disable", "停用", () => act(agent, "disable", `Disable ${agent.login}?`, `停用 ${agent.login}？`), "disable")
      : button("Enable", "启用", () => act(agent, "enable"), "enable"),
    button("New password", "重置密码", () => act(agent, "password", `Give ${agent.login} a new password?`, `为 ${agent.login} 生成新密码？`), "password"),
  );
}

function row(agent) {
  const role = ROLES[agent.role] || [agent.role, agent.role];
  return el(
    "tr",
    { "data-login": agent.login, class: agent.active ? "" : "disabled" },
    el("td", { text: agent.login }),
    el("td", { text: agent.name }),
    el("td", { text: tr(role[0], role[1]) }),
    el("td", { text: agent.extension }),
    el("td", { text: agent.device }),
    el("td", { text: agent.team || "–" }),
    el("td", { class: "a-queues", title: agent.queues.join(" "), text: agent.queues.map((name) => queueName(name)).join(", ") || "–" }),
    el("td", { text: skillsText(agent.skills) || "–" }),
    el("td", { class: "state", text: agent.active ? tr("active", "启用") : tr("disabled", "已停用") }),
    actions(agent),
  );
}

function draw() {
  const head = el(
    "tr",
    {},
    ...[
      ["Login", "账号"], ["Name", "姓名"], ["Role", "角色"], ["Ext.", "分机"], ["Device", "设备"], ["Team", "班组"],
      ["Queues", "队列"], ["Skills", "技能"], ["State", "状态"], ["", ""],
    ].map(([en, zh]) => el("th", { text: tr(en, zh) })),
  );
  $("agents").replaceChildren(
    el("table", { class: "grid", id: "agents-table" }, el("thead", {}, head), el("tbody", {}, ...state.agents.map(row))),
  );
}

async function load() {
  try {
    const [agents, queues] = await Promise.all([api("/api/admin/agents"), api("/api/queues").catch(() => [])]);
    state.agents = agents;
    state.queues = queues.map((q) => q.name);
    draw();
  } catch (error) {
    $("agents").replaceChildren();
    failed(error);
  }
}

async function act(agent, action, askEn, askZh) {
  if (askEn && !window.confirm(tr(askEn, askZh))) return;
  showOnce(null, null);
  try {
    const saved = await api(`/api/admin/agents/${encodeURIComponent(agent.login)}/${action}`, {
      method: "POST",
      body: action === "password" ? { password: null } : undefined,
    });
    const done = { disable: ["disabled", "已停用"], enable: ["enabled", "已启用"], password: ["has a new password", "已重置密码"] }[action];
    say(`${agent.login} ${done[0]}.`, `${agent.login} ${done[1]}。`);
    showOnce(saved.agent.login, saved.password);
  } catch (error) {
    failed(error);
  }
  await load();
}

function openForm(agent) {
  state.editing = agent ? agent.login : null;
  const form = $("agent-form");
  form.hidden = false;
  $("form-error").textContent = "";
  bi($("form-title"), agent ? `Edit ${agent.login}` : "Add an agent", agent ? `编辑 ${agent.login}` : "新增座席");
  $("f-login").value = agent ? agent.login : "";
  $("f-login").disabled = Boolean(agent);
  $("f-name").value = agent ? agent.name : "";
  $("f-extension").value = agent ? agent.extension : "";
  $("f-device").value = agent ? agent.device : "";
  $("f-role").value = agent ? agent.role : "agent";
  $("f-team").value = agent && agent.team ? agent.team : "";
  $("f-supervises").value = agent ? agent.supervises.join(", ") : "";
  $("f-skills").value = agent ? skillsText(agent.skills) : "";
  $("f-password").value = "";
  $("f-password-label").hidden = Boolean(agent);
  const chosen = new Set(agent ? agent.queues : []);
  $("f-queues").replaceChildren(
    ...state.queues.map((name) =>
      el("label", { title: name }, el("input", { type: "checkbox", value: name, checked: chosen.has(name) ? "checked" : null }), queueName(name)),
    ),
  );
  $("f-name").focus();
}

async function submit(event) {
  event.preventDefault();
  const error = $("form-error");
  error.textContent = "";
  let body;
  try {
    body = {
      name: $("f-name").value,
      extension: $("f-extension").value,
      role: $("f-role").value,
      team: $("f-team").value,
      supervises: names($("f-supervises").value),
      queues: [...$("f-queues").querySelectorAll("input:checked")].map((box) => box.value),
      skills: parseSkills($("f-skills").value),
    };
  } catch (failure) {
    error.textContent = failure.message;
    return;
  }
  const device = $("f-device").value.trim();
  showOnce(null, null);
  try {
    let saved;
    if (state.editing) {
      if (device) body.device = device;
      saved = await api(`/api/admin/agents/${encodeURIComponent(state.editing)}`, { method: "PATCH", body });
    } else {
      body.login = $("f-login").value.trim();
      body.device = device || null;
      body.team = body.team || null;
      body.password = $("f-password").value || null;
      saved = await api("/api/admin/agents", { body });
    }
    $("agent-form").hidden = true;
    say(`Saved ${saved.agent.login}.`, `已保存 ${saved.agent.login}。`);
    showOnce(saved.agent.login, saved.password);
    await load();
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function showLogin(reason) {
  $("admin-view").hidden = true;
  $("login-view").hidden = false;
  $("btn-logout").hidden = true;
  $("user-name").textContent = "";
  $("login-error").textContent = reason || "";
}

function showAdmin(user) {
  $("login-view").hidden = true;
  $("admin-view").hidden = false;
  $("btn-logout").hidden = false;
  $("user-name").textContent = `${user.name} (${user.login})`;
  if (user.role !== "admin") {
    $("btn-new").hidden = true;
    $("agents").replaceChildren();
    say("Only admins manage agent accounts.", "只有管理员可以管理座席账号。", true);
    return;
  }
  $("btn-new").hidden = false;
  load();
}

async function start() {
  wireLanguage(TITLE, () => {
    if (!$("admin-view").hidden && state.agents.length) draw();
  });
  session.onEnded = (reason) => showLogin(reason ? tr("Session ended; log in again.", "会话已结束，请重新登录。") : "");
  wireLogin(showAdmin);
  $("btn-logout").addEventListener("click", () => logout());
  $("btn-new").addEventListener("click", () => openForm(null));
  $("btn-cancel").addEventListener("click", () => {
    $("agent-form").hidden = true;
  });
  $("agent-form").addEventListener("submit", submit);
  let user = null;
  try {
    user = await currentUser();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
  if (user) showAdmin(user);
  else showLogin("");
}

start();
