// The customer side of a screen-pop: who is calling, how they were authenticated,
// why, their accounts, open contracts, reminders and last follow-ups; for an
// unknown caller a search box, a chooser when several customers share the
// number, and "create customer".  Shown from the call.offered event at once,
// then completed from the CRM API while the phone still rings.
import { el, formatAmount, formatTime } from "./dom.js";
import { defineRenderer, label, queueName, shown, t, trCode } from "./i18n.js";
import { api, localToday, table, tx } from "./state.js";

const OPEN_CONTRACTS = new Set(["draft", "pending", "approved", "active"]);
const CONTRACT_SOON_DAYS = 30;
// The most specific IVR node a caller went through says why they call (the last one wins).
const REASONS = [
  ["account-services", "reason.accounts"],
  ["account-menu", "reason.accounts"],
  ["balance", "reason.balance"],
  ["transactions", "reason.transactions"],
  ["card-menu", "reason.cards"],
  ["lost-card", "reason.lostcard"],
  ["report-lost", "reason.lostcard"],
  ["wealth", "reason.wealth"],
  ["callback", "reason.callback"],
  ["after-hours-callback", "reason.callback"],
  ["agent", "reason.agent"],
];

export function callReason(steps) {
  let reason = "reason.none";
  const known = new Map(REASONS);
  for (const step of steps) {
    if (step.node === "agent" && reason !== "reason.none") continue; // "0" after a menu keeps the menu's topic
    if (known.has(step.node)) reason = known.get(step.node);
  }
  return reason;
}

function authBadge(authentication) {
  const key = `auth.${authentication}`;
  return tx("span", t(key) === key ? "auth.none" : key, null, { class: `badge auth-${authentication}` });
}

function ivrSection(steps) {
  if (!steps.length) return [];
  // Each step in words (the menu's description of the node → what happened), its time on hover.
  const items = steps.map((step) =>
    shown(el("li", { title: formatTime(step.at), "data-node": step.node }), "ivr", { node: step.node, keys: step.keys || "", result: step.result || "" }),
  );
  return [tx("h3", "pop.ivr"), el("ol", { class: "ivr" }, ...items)];
}

function accountsTable(accounts) {
  return table(
    [["col.account"], ["col.type"], ["col.balance", "num"], ["col.status"]],
    accounts.map((a) => [
      [a.masked_number],
      [trCode(el("span"), "acct.type", a.type)],
      [a.balance === null || a.balance === undefined ? "—" : `${formatAmount(a.balance)} ${a.currency}`, "num"],
      [trCode(el("span"), "acct.status", a.status)],
    ]),
    "pop.noaccounts",
  );
}

export function followUpTable(items) {
  return table(
    [["col.when"], ["col.channel"], ["col.disposition"], ["col.notes"], ["col.next"], ["col.agent"], ["col.legs"]],
    items.map((f) => [
      [shown(el("span"), "when", { v: f.at })],
      [el("span", null, trCode(el("span"), "channel", f.channel), " · ", trCode(el("span"), "dir", f.direction))],
      [trCode(el("span"), "disp", f.disposition || "")],
      [f.content ?? f.notes ?? ""],
      [f.next_contact_on ? shown(el("span"), "day", { v: f.next_contact_on }) : ""],
      [f.agent_name || ""],
      [legList(f.legs)],
    ]),
    "pop.nofollowups",
  );
}

// A call's legs, one line each: when it started and ended, what it was (IVR, a queue wait, an
// agent, a number, a hold), who, when answered and how it ended (transferred → where).
function legList(legs) {
  if (!legs || !legs.length) return "";
  return el("ul", { class: "legs" }, ...legs.map((leg) => shown(el("li"), "leg", leg)));
}

function clock(value) {
  return value ? formatTime(value) : "";
}

function legText(leg) {
  const who = leg.agent_login || (leg.queue ? queueName(leg.queue) : "") || leg.target || "";
  const end = leg.ended_at ? clock(leg.ended_at) : leg.end_reason ? "?" : "…";
  const answered = leg.answered_at ? ` · ${t("leg.answered")} ${clock(leg.answered_at)}` : "";
  const to = leg.transferred_to ? ` → ${leg.transferred_to}` : "";
  const how = leg.end_reason ? ` (${label("end", leg.end_reason)}${to})` : "";
  return `${clock(leg.started_at)}–${end} ${t(`leg.${leg.kind}`)} ${who}${answered}${how}`;
}
defineRenderer("leg", legText);

function contractsTable(items) {
  return table(
    [["col.number"], ["col.title"], ["col.amount", "num"], ["col.ends"], ["col.status"]],
    items.map((c) => [[c.number], [c.title], [`${formatAmount(c.amount)} ${c.currency}`, "num"], [shown(el("span"), "day", { v: c.end_on })], [trCode(el("span"), "contract.status", c.status)]]),
    "pop.nocontracts",
  );
}

function daysFrom(today, isoDate) {
  return Math.round((Date.parse(isoDate) - Date.parse(today)) / 86400000);
}

function reminderList(followUps, contracts) {
  const today = localToday();
  const items = [];
  const planned = followUps.find((f) => f.next_contact_on);
  if (planned && planned.next_contact_on <= today) {
    items.push(tx("li", "pop.contact_due", { date: { day: planned.next_contact_on } }));
  }
  for (const c of contracts) {
    if (c.status === "active" && daysFrom(today, c.end_on) <= CONTRACT_SOON_DAYS) {
      items.push(tx("li", "pop.contract_ends", { number: c.number, date: { day: c.end_on } }));
    }
  }
  return items.length ? el("ul", { class: "due" }, ...items) : tx("p", "pop.noreminders", null, { class: "muted" });
}

// The pop's "last follow-ups": only entries someone wrote something in, newest first (a bare call
// record with no notes says nothing the agent can use), at most LAST_FOLLOW_UPS of them.
const LAST_FOLLOW_UPS = 5;

export function lastFollowUps(items) {
  const when = (f) => Date.parse(f.at) || 0;
  return items
    .filter((f) => typeof f.content === "string" && f.content.trim() !== "")
    .sort((a, b) => when(b) - when(a) || (b.id || 0) - (a.id || 0))
    .slice(0, LAST_FOLLOW_UPS);
}

/** The customer block of a known customer; returns {node, refresh(), detail()}. */
function knownCustomer(customer, offer, callId) {
  let rmNode = customer.owner_agent
    ? tx("span", "pop.rm", { name: customer.owner_agent }, { class: "badge rm" })
    : el("span", { class: "badge rm", hidden: "" });
  const followUps = el("div", { class: "followups" }, followUpTable(lastFollowUps(customer.recent_follow_ups || [])));
  const contracts = el("div", { class: "contracts" }, tx("p", "msg.loading", null, { class: "muted" }));
  const reminders = el("div", { class: "reminders-due" }, tx("p", "msg.loading", null, { class: "muted" }));
  const accounts = el("div", { class: "accounts" }, accountsTable(customer.accounts || []));
  const node = el(
    "div",
    { class: "customer", "data-customer-id": customer.id },
    el(
      "div",
      { class: "customer-line" },
      el("h2", { class: "customer-name", text: customer.name }),
      trCode(el("span", { class: `badge tier tier-${customer.tier}`, "data-tier": customer.tier }), "tier", customer.tier),
      offer.direction === "outbound" ? "" : authBadge(offer.authentication),
      rmNode,
    ),
    // An outbound call (click-to-dial) has no IVR path and no caller authentication to show.
    offer.direction === "outbound" ? "" : el("p", { class: "reason" }, tx("strong", "pop.reason"), ": ", tx("span", callReason(offer.ivr_path || []), null, { class: "reason-text" })),
    ...ivrSection(offer.ivr_path || []),
    el(
      "div",
      { class: "pop-grid" },
      el("section", null, tx("h3", "pop.accounts"), accounts),
      el("section", null, tx("h3", "pop.reminders"), reminders),
      el("section", null, tx("h3", "pop.contracts"), contracts),
    ),
    tx("h3", "pop.followups"),
    followUps,
  );
  let detail = null;

  async function refresh() {
    const id = customer.id;
    const [info, history, deals] = await Promise.allSettled([
      api("GET", `/api/crm/customers/${id}`),
      api("GET", `/api/crm/customers/${id}/follow-ups?page_size=50`),
      api("GET", `/api/crm/contracts?customer_id=${id}&page_size=50`),
    ]);
    if (info.status === "fulfilled") {
      detail = info.value;
      const rm = detail.owner_name
        ? tx("span", "pop.rm", { name: detail.owner_name }, { class: "badge rm" })
        : tx("span", "pop.norm", null, { class: "badge rm" });
      rmNode.replaceWith(rm);
      rmNode = rm;
      if (detail.accounts.length) accounts.replaceChildren(accountsTable(detail.accounts));
    }
    const items = history.status === "fulfilled" ? history.value.items : customer.recent_follow_ups || [];
    if (history.status === "fulfilled") followUps.replaceChildren(followUpTable(lastFollowUps(items)));
    const open = deals.status === "fulfilled" ? deals.value.items.filter((c) => OPEN_CONTRACTS.has(c.status)) : [];
    contracts.replaceChildren(contractsTable(open));
    reminders.replaceChildren(reminderList(items, open));
  }

  return { node, refresh, detail: () => detail, customerId: customer.id, callId };
}

/** Unknown caller: search, chooser for several matches, create; `onChosen(card)` swaps in a customer. */
function unknownCaller(offer, onChosen, onMessage) {
  const results = el("div", { class: "matches" });
  const query = el("input", {
    type: "search",
    class: "pop-search",
    "data-i18n-placeholder": "pop.search",
    placeholder: t("pop.search"),
    "aria-label": t("pop.search"),
    value: offer.caller_number || "",
  });
  const form = el("form", { class: "inline-form" }, query, tx("button", "btn.search", null, { type: "submit" }));
  const name = el("input", { required: "", maxlength: 200, "aria-label": t("pop.name"), "data-i18n-placeholder": "pop.name", placeholder: t("pop.name") });
  const phone = el("input", { maxlength: 40, value: offer.caller_number || "", "aria-label": t("pop.phone") });
  const create = el("form", { class: "inline-form create-form" }, name, phone, tx("button", "btn.create", null, { type: "submit", class: "primary" }));

  async function choose(id) {
    try {
      const detail = await api("GET", `/api/crm/customers/${id}`);
      onChosen({ id: detail.id, name: detail.name, tier: detail.tier, owner_agent: detail.owner_name, accounts: detail.accounts, recent_follow_ups: [] });
    } catch (error) {
      onMessage("msg.server", { error: error.message }, true);
    }
  }

  async function search(text, several) {
    if (!text.trim()) return;
    results.replaceChildren(tx("p", "msg.loading", null, { class: "muted" }));
    try {
      const page = await api("GET", `/api/crm/customers?q=${encodeURIComponent(text.trim())}&page_size=20`);
      const rows = page.items.map((c) =>
        el(
          "li",
          null,
          el("strong", { text: c.name }),
          " ",
          trCode(el("span", { class: `badge tier tier-${c.tier}`, "data-tier": c.tier }), "tier", c.tier),
          ` ${c.phone_masked || ""} `,
          tx("button", "btn.choose", null, { type: "button", onclick: () => choose(c.id) }),
        ),
      );
      const heading = several && rows.length > 1 ? tx("p", "pop.several", { n: rows.length }, { class: "several" }) : null;
      results.replaceChildren(heading || "", rows.length ? el("ul", { class: "chooser" }, ...rows) : tx("p", "search.none", null, { class: "muted" }));
    } catch (error) {
      results.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(query.value, false);
  });
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), phones: phone.value.trim() ? [{ number: phone.value.trim(), is_primary: true }] : [] };
    try {
      const detail = await api("POST", "/api/crm/customers", body);
      onMessage("pop.created", { name: detail.name }, false);
      onChosen({ id: detail.id, name: detail.name, tier: detail.tier, owner_agent: detail.owner_name, accounts: detail.accounts, recent_follow_ups: [] });
    } catch (error) {
      onMessage("msg.server", { error: error.message }, true);
    }
  });
  if (offer.caller_number) search(offer.caller_number, true);
  return el(
    "div",
    { class: "customer unknown-caller" },
    el("div", { class: "customer-line" }, tx("span", "pop.unknown", null, { class: "unknown" }), authBadge(offer.authentication)),
    el("p", { class: "reason" }, tx("strong", "pop.reason"), ": ", tx("span", callReason(offer.ivr_path || []))),
    ...ivrSection(offer.ivr_path || []),
    form,
    results,
    tx("h3", "pop.create"),
    create,
  );
}

/**
 * The customer part of a pop.  Returns {node, current()} where current() is the
 * known-customer block in view (null while the caller is unknown).
 */
export function customerPart(offer, onMessage) {
  const holder = el("div", { class: "customer-holder" });
  let current = null;
  const showKnown = (card) => {
    current = knownCustomer(card, offer, offer.call_id);
    holder.replaceChildren(current.node);
    current.refresh();
  };
  if (offer.customer) showKnown(offer.customer);
  else holder.replaceChildren(unknownCaller(offer, showKnown, onMessage));
  return { node: holder, current: () => current };
}
