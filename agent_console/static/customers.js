// The customers panel: my customers (owned and shared, protection status and
// days until release), the public pool with "Claim", today's reminders, and a
// search (name, phone in any format, account last 4), and the agent's recent calls (recent.js).
// Any customer opens as a record (record.js): phones (click-to-dial), accounts, contracts, the
// actions the user's rights allow, a follow-up form and the follow-up history.
import { el } from "./dom.js";
import { shown, t, trCode } from "./i18n.js";
import { api, table, tx } from "./state.js";
import { dial } from "./call.js";
import { recentCalls } from "./recent.js";
import { showRecord } from "./record.js";

const TABS = ["mine", "recent", "pool", "reminders", "search"];

function protection(c) {
  if (c.status === "locked") return tx("span", "prot.locked", null, { class: "badge locked" });
  if (c.status === "public") return tx("span", "prot.public", null, { class: "badge pool" });
  return tx("span", "prot.owned", null, { class: "badge owned" });
}

function releaseCell(c, warningDays) {
  if (c.release_on === null || c.release_on === undefined) return el("span", { class: "muted", text: "—" });
  const key = c.days_until_release <= 0 ? "prot.today" : "prot.days";
  const soon = c.days_until_release <= warningDays;
  return tx("span", key, { date: { day: c.release_on }, n: c.days_until_release }, { class: soon ? "release soon" : "release" });
}

/** Mount the panel into `root`; `onMessage(key, vars, isError)` reports to the status line. */
export function mountCustomers(root, onMessage) {
  let current = "mine";
  const body = el("div", { class: "customers-body" });
  const buttons = TABS.map((id) => tx("button", `tab.${id}`, null, { type: "button", class: "tab", "data-tab": id, onclick: () => select(id) }));
  const refresh = tx("button", "btn.refresh", null, { type: "button", class: "quiet", onclick: () => select(current) });
  root.replaceChildren(el("div", { class: "tabs" }, ...buttons, refresh), body);

  const openButton = (c) => tx("button", "btn.open", null, { type: "button", class: "open-record", onclick: () => openRecord(c.id) });
  const callButton = (c) => tx("button", "btn.call", null, { type: "button", class: "dial", onclick: () => dial(c.id, null, c.name, onMessage) });

  async function claim(customer) {
    try {
      await api("POST", `/api/crm/customers/${customer.id}/claim`);
      onMessage("msg.claimed", { name: customer.name }, false);
      select("mine");
    } catch (error) {
      onMessage("msg.claimfail", { name: customer.name, error: error.message }, true);
    }
  }

  function summaryTable(items, withClaim) {
    return table(
      [["col.name"], ["col.tier"], ["pop.phone"], ["col.protection"], ["col.last"], [""]],
      items.map((c) => [
        [c.name],
        [trCode(el("span", { class: `tier tier-${c.tier}`, "data-tier": c.tier }), "tier", c.tier)],
        [c.phone_masked || "—"],
        [protection(c)],
        [c.last_follow_up_at ? shown(el("span"), "when", { v: c.last_follow_up_at }) : "—"],
        [el("span", { class: "row-actions" }, withClaim ? tx("button", "btn.claim", null, { type: "button", onclick: () => claim(c) }) : openButton(c), withClaim ? "" : callButton(c))],
      ]),
      "msg.nobody",
    );
  }

  async function mine() {
    const data = await api("GET", "/api/desk/customers");
    const rows = data.items.map((c) => [
      [c.name],
      [trCode(el("span", { class: `tier tier-${c.tier}`, "data-tier": c.tier }), "tier", c.tier)],
      [c.phone_masked || "—"],
      [c.shared ? tx("span", "prot.shared", { owner: c.owner_name || c.owner_login }, { class: "badge shared" }) : protection(c)],
      [releaseCell(c, data.release_warning_days)],
      [c.last_follow_up_at ? shown(el("span"), "when", { v: c.last_follow_up_at }) : "—"],
      [el("span", { class: "row-actions" }, openButton(c), callButton(c))],
    ]);
    return [
      tx("p", "msg.count", { n: data.total }, { class: "count" }),
      table([["col.name"], ["col.tier"], ["pop.phone"], ["col.protection"], ["col.release"], ["col.last"], [""]], rows, "msg.nobody"),
    ];
  }

  function reminderList(key, items, line) {
    return el(
      "div",
      { class: "reminders" },
      el("h3", null, tx("span", key), ` (${items.length})`),
      el("ul", null, ...(items.length ? items.map(line) : [tx("li", "msg.nothing")])),
    );
  }

  async function reminders() {
    const data = await api("GET", "/api/crm/reminders/today");
    return [
      reminderList("rem.today", data.to_contact, (r) =>
        tx("li", "rem.contact_line", { name: r.customer_name, date: { day: r.next_contact_on }, content: r.content ? ` · ${r.content}` : "" }),
      ),
      reminderList("rem.release", data.to_be_released, (r) => tx("li", "rem.release_line", { name: r.customer_name, date: { day: r.release_on } })),
      reminderList("rem.contracts", data.contracts_expiring, (r) =>
        tx("li", "rem.contract_line", { name: r.customer_name, number: r.number, date: { day: r.end_on } }),
      ),
    ];
  }

  function searchView() {
    const input = el("input", { type: "search", class: "customer-search", "data-i18n-placeholder": "search.placeholder", placeholder: t("search.placeholder"), "aria-label": t("tab.search") });
    const results = el("div", { class: "search-results" });
    const form = el("form", { class: "inline-form" }, input, tx("button", "btn.search", null, { type: "submit", class: "primary" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      results.replaceChildren(tx("p", "msg.loading", null, { class: "muted" }));
      try {
        const page = await api("GET", `/api/crm/customers?q=${encodeURIComponent(input.value.trim())}&page_size=50`);
        results.replaceChildren(page.items.length ? summaryTable(page.items, false) : tx("p", "search.none", null, { class: "muted" }));
      } catch (error) {
        results.replaceChildren(el("p", { class: "error", text: error.message }));
      }
    });
    setTimeout(() => input.focus(), 0);
    return [form, results];
  }

  function openRecord(id) {
    for (const b of buttons) b.classList.remove("active");
    return showRecord(body, id, onMessage);
  }

  async function select(id) {
    current = id;
    for (const b of buttons) b.classList.toggle("active", b.getAttribute("data-tab") === id);
    if (id === "search") {
      body.replaceChildren(...searchView());
      return;
    }
    body.replaceChildren(tx("p", "msg.loading", null, { class: "idle" }));
    try {
      if (id === "mine") body.replaceChildren(...(await mine()));
      else if (id === "recent") body.replaceChildren(...(await recentCalls(openRecord)));
      else if (id === "reminders") body.replaceChildren(...(await reminders()));
      else {
        const page = await api("GET", "/api/crm/customers?status=public&page_size=100");
        body.replaceChildren(tx("p", "msg.count", { n: page.total }, { class: "count" }), summaryTable(page.items, true));
      }
    } catch (error) {
      body.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  select(current);
  return { openRecord, select };
}
