// A customer's record page: name, tier, protection, owner; phones (click-to-dial), accounts and
// contracts; the actions the server says the user's rights allow (detail.actions: edit, lock/unlock,
// share, transfer), each confirmed and reported; a form to record a follow-up outside a call (a visit,
// an email, an SMS, a web message, an outbound phone call); and the follow-up history.
// A record the user may not see answers 403: shown as "you may not see this customer", translated.
import { el, formatAmount } from "./dom.js";
import { shown, t, tr, trCode } from "./i18n.js";
import { api, app, localToday, table, tx } from "./state.js";
import { dial } from "./call.js";
import { followUpTable } from "./pop.js";

// Channels of a follow-up made outside a call in bankcti; "phone" is a call the agent made themself.
const CHANNELS = ["visit", "email", "sms", "web", "phone"];
const DIRECTIONS = ["inbound", "outbound"];
const TIERS = ["standard", "gold", "vip", "private"];

// The server's 403 for a customer that exists but is not the user's to see (crm_core.access.rules).
const NOT_VISIBLE = "you may not see this customer";

/** The i18n key and vars explaining a refused request for customer `id`. */
export function refusal(error, id) {
  if (error && error.status === 403 && error.message === NOT_VISIBLE) return ["record.forbidden", null];
  if (error && error.status === 404 && error.message === `no customer ${id}`) return ["record.missing", { id }];
  return ["msg.server", { error: error ? error.message : "" }];
}

function say(node, key, vars, isError) {
  tr(node, key, vars);
  node.classList.toggle("error", Boolean(isError));
}

function failure(node, error, id) {
  const [key, vars] = refusal(error, id);
  say(node, key, vars, true);
}

function protection(c) {
  if (c.status === "locked") return tx("span", "prot.locked", null, { class: "badge locked" });
  if (c.status === "public") return tx("span", "prot.public", null, { class: "badge pool" });
  return tx("span", "prot.owned", null, { class: "badge owned" });
}

function contractsTable(items) {
  return table(
    [["col.number"], ["col.title"], ["col.amount", "num"], ["record.starts"], ["col.ends"], ["col.status"]],
    items.map((c) => [
      [c.number],
      [c.title],
      [`${formatAmount(c.amount)} ${c.currency}`, "num"],
      [shown(el("span"), "day", { v: c.start_on })],
      [shown(el("span"), "day", { v: c.end_on })],
      [trCode(el("span"), "contract.status", c.status)],
    ]),
    "record.nocontracts",
  );
}

function select(name, kind, codes, value) {
  return el("select", { name, "aria-label": t(`record.${name}`) }, ...codes.map((code) => trCode(el("option", { value: code, selected: code === value ? "" : null }), kind, code)));
}

function labelled(key, input) {
  return el("label", null, tx("span", key), " ", input);
}

/** The follow-up form (a contact outside a call); `saved()` runs after the server took it. */
function followUpForm(id, message, saved) {
  const channel = select("channel", "channel", CHANNELS, "visit");
  const direction = select("direction", "dir", DIRECTIONS, "inbound");
  channel.addEventListener("change", () => {
    direction.value = channel.value === "visit" ? "inbound" : "outbound";
  });
  const content = el("textarea", { name: "content", rows: 3, maxlength: 10000, required: "", "aria-label": t("record.fu.content"), "data-i18n-placeholder": "record.fu.content", placeholder: t("record.fu.content") });
  const disposition = el(
    "select",
    { name: "disposition", required: "", "aria-label": t("col.disposition") },
    tx("option", "wrap.disposition", null, { value: "" }),
    ...app.config.dispositions.map((d) => trCode(el("option", { value: d }), "disp", d)),
  );
  const next = el("input", { type: "date", name: "next_contact_on", min: localToday(), "aria-label": t("col.next") });
  const save = tx("button", "record.fu.save", null, { type: "submit", class: "primary" });
  const form = el(
    "form",
    { class: "followup-form" },
    tx("h3", "record.fu.title"),
    el("div", { class: "inline-form" }, labelled("col.channel", channel), labelled("record.direction", direction), labelled("col.disposition", disposition), labelled("col.next", next)),
    content,
    el("div", null, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!content.value.trim()) return say(message, "record.fu.empty", null, true);
    if (!disposition.value) return say(message, "wrap.needdisp", null, true);
    save.disabled = true;
    try {
      await api("POST", `/api/crm/customers/${id}/follow-ups`, {
        channel: channel.value,
        direction: direction.value,
        content: content.value.trim(),
        disposition: disposition.value,
        next_contact_on: next.value || null,
      });
      await saved(["record.fu.saved", null]);
    } catch (error) {
      failure(message, error, id);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

/** The action buttons detail.actions allows; each opens its form or confirmation in `area`. */
function actionBar(detail, area, message, reload) {
  const id = detail.id;
  const run = async (method, path, body, doneKey, vars) => {
    try {
      await api(method, path, body);
      await reload([doneKey, vars]);
    } catch (error) {
      failure(message, error, id);
    }
  };
  const confirmStep = (questionKey, vars, onYes) => {
    area.replaceChildren(
      el(
        "div",
        { class: "confirm" },
        tx("span", questionKey, vars),
        " ",
        tx("button", "record.confirm", null, { type: "button", class: "primary confirm-yes", onclick: onYes }),
        tx("button", "record.cancel", null, { type: "button", class: "quiet", onclick: () => area.replaceChildren() }),
      ),
    );
  };
  const smallForm = (fields, submitKey, onSubmit) => {
    const form = el("form", { class: "inline-form action-form" }, ...fields, tx("button", submitKey, null, { type: "submit", class: "primary" }), tx("button", "record.cancel", null, { type: "button", class: "quiet", onclick: () => area.replaceChildren() }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSubmit(new FormData(form));
    });
    area.replaceChildren(form);
    const first = form.querySelector("input");
    if (first) first.focus();
  };
  const buttons = {
    edit: () =>
      smallForm(
        [labelled("col.name", el("input", { name: "name", required: "", maxlength: 200, value: detail.name })), labelled("col.tier", select("tier", "tier", TIERS, detail.tier))],
        "btn.save",
        (data) => confirmStep("record.edit.confirm", { name: detail.name }, () => run("PATCH", `/api/crm/customers/${id}`, { name: String(data.get("name")).trim(), tier: data.get("tier") }, "record.edit.done", { name: String(data.get("name")).trim() })),
      ),
    lock: () => confirmStep("record.lock.confirm", { name: detail.name }, () => run("POST", `/api/crm/customers/${id}/lock`, {}, "record.lock.done", { name: detail.name })),
    unlock: () => confirmStep("record.unlock.confirm", { name: detail.name }, () => run("POST", `/api/crm/customers/${id}/unlock`, {}, "record.unlock.done", { name: detail.name })),
    share: () =>
      smallForm(
        [labelled("record.share.with", el("input", { name: "user_login", required: "", maxlength: 64 })), labelled("record.share.access", select("access", "record.access", ["read", "write"], "read"))],
        "record.share",
        (data) => {
          const login = String(data.get("user_login")).trim();
          confirmStep("record.share.confirm", { name: detail.name, login }, () => run("POST", `/api/crm/customers/${id}/grants`, { user_login: login, access: data.get("access") }, "record.share.done", { name: detail.name, login }));
        },
      ),
    transfer: () =>
      smallForm(
        [labelled("record.transfer.to", el("input", { name: "to_login", required: "", maxlength: 64 })), labelled("record.reason", el("input", { name: "reason", required: "", maxlength: 255 }))],
        "record.transfer",
        (data) => {
          const login = String(data.get("to_login")).trim();
          confirmStep("record.transfer.confirm", { name: detail.name, login }, () => run("POST", `/api/crm/customers/${id}/transfer`, { to_login: login, reason: String(data.get("reason")).trim() }, "record.transfer.done", { name: detail.name, login }));
        },
      ),
  };
  const allowed = (detail.actions || []).filter((action) => action in buttons);
  return el("div", { class: "record-actions" }, ...allowed.map((action) => tx("button", `record.${action}`, null, { type: "button", class: `action-${action}`, onclick: buttons[action] })));
}

/** Show customer `id` in `body`; `onMessage` reports to the console's status line; `notice` [key, vars]: a result to show. */
export async function showRecord(body, id, onMessage, notice) {
  body.replaceChildren(tx("p", "msg.loading", null, { class: "idle" }));
  let detail;
  try {
    detail = await api("GET", `/api/crm/customers/${id}`);
  } catch (error) {
    const message = el("p", { class: "error record-refused", role: "alert" });
    failure(message, error, id);
    body.replaceChildren(message);
    return;
  }
  const [history, deals] = await Promise.allSettled([
    api("GET", `/api/crm/customers/${id}/follow-ups?page_size=20`),
    detail.limited ? Promise.resolve({ items: [] }) : api("GET", `/api/crm/contracts?customer_id=${id}&page_size=50`),
  ]);
  const message = el("p", { class: "message record-message", role: "status", "aria-live": "polite" });
  if (notice) say(message, notice[0], notice[1], false);
  const reload = (done) => showRecord(body, id, onMessage, done);
  const area = el("div", { class: "action-area" });
  const phones = detail.phones.map((p) =>
    el("li", null, `${p.e164} (`, trCode(el("span"), "phone.type", p.type), ") ", detail.limited ? "" : tx("button", "btn.call", null, { type: "button", class: "dial", onclick: () => dial(id, p.e164, detail.name, onMessage) })),
  );
  const accounts = detail.accounts.map((a) => [`${a.masked_number} `, trCode(el("span"), "acct.type", a.type), ` ${a.balance === null ? "" : `${formatAmount(a.balance)} ${a.currency}`}`]);
  const historyNode = history.status === "fulfilled" ? followUpTable(history.value.items) : el("p", { class: "error", text: history.reason.message });
  const contractsNode = deals.status === "fulfilled" ? contractsTable(deals.value.items) : el("p", { class: "error", text: deals.reason.message });
  const canFollowUp = (detail.actions || []).includes("follow-up");
  body.replaceChildren(
    el(
      "article",
      { class: "record", "data-customer-id": id },
      el(
        "div",
        { class: "customer-line" },
        el("h2", { text: detail.name }),
        trCode(el("span", { class: `badge tier tier-${detail.tier}`, "data-tier": detail.tier }), "tier", detail.tier),
        protection(detail),
        detail.owner_name ? tx("span", "record.owner", { name: detail.owner_name }, { class: "badge" }) : null,
        detail.access === "read" ? tx("span", detail.access_reason ? "record.handled" : "record.readonly", null, { class: "badge readonly" }) : null,
        detail.limited ? null : tx("button", "btn.call", null, { type: "button", class: "primary dial", onclick: () => dial(id, null, detail.name, onMessage) }),
      ),
      actionBar(detail, area, message, reload),
      area,
      message,
      tx("h3", "record.phones"),
      el("ul", { class: "phones" }, ...phones),
      tx("h3", "pop.accounts"),
      el("ul", null, ...accounts.map((parts) => el("li", null, ...parts))),
      tx("h3", "record.contracts"),
      el("div", { class: "record-contracts" }, contractsNode),
      canFollowUp ? followUpForm(id, message, reload) : null,
      tx("h3", "record.history"),
      el("div", { class: "record-history" }, historyNode),
    ),
  );
}
