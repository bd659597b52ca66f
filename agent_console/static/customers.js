// The customers panel: my customers (owned and shared), the public pool with
// "Claim", and today's reminders. Read-only views of the CRM REST API; every
// string becomes a text node through el().
import { el, formatWhen } from "./dom.js";

const TABS = [
  // Owned or locked customers the agent may see: their own and those shared with them.
  { id: "mine", label: "My customers", queries: ["status=owned", "status=locked"] },
  { id: "pool", label: "Public pool", queries: ["status=public"] },
  { id: "reminders", label: "Reminders" },
];

function statusBadge(customer, me) {
  if (customer.status === "public") return el("span", { class: "badge pool" }, "public pool");
  if (customer.owner_login && customer.owner_login !== me) {
    return el("span", { class: "badge shared" }, `shared by ${customer.owner_name || customer.owner_login}`);
  }
  return el("span", { class: `badge ${customer.status}` }, customer.status);
}

function customerRows(page, me, onClaim) {
  const rows = page.items.map((c) =>
    el(
      "tr",
      {},
      el("td", {}, c.name),
      el("td", {}, el("span", { class: `tier tier-${c.tier}` }, c.tier)),
      el("td", {}, c.phone_masked || "—"),
      el("td", {}, statusBadge(c, me)),
      el("td", {}, c.deal_status),
      el("td", {}, c.last_follow_up_at ? formatWhen(c.last_follow_up_at) : "—"),
      el(
        "td",
        {},
        c.status === "public" && onClaim
          ? el("button", { type: "button", onclick: () => onClaim(c) }, "Claim")
          : "",
      ),
    ),
  );
  const head = ["Name", "Tier", "Phone", "Status", "Deal", "Last follow-up", ""].map((h) => el("th", {}, h));
  return el(
    "table",
    { class: "grid" },
    el("thead", {}, el("tr", {}, ...head)),
    el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, "nobody here"))])),
  );
}

function reminderList(title, items, line) {
  return el(
    "div",
    { class: "reminders" },
    el("h3", {}, `${title} (${items.length})`),
    el("ul", {}, ...(items.length ? items.map((i) => el("li", {}, line(i))) : [el("li", {}, "nothing")])),
  );
}

function reminderView(data) {
  return el(
    "div",
    {},
    reminderList("To contact today", data.to_contact, (r) =>
      `${r.customer_name} — ${r.next_contact_on}${r.content ? ` · ${r.content}` : ""}`,
    ),
    reminderList("About to be released to the pool", data.to_be_released, (r) =>
      `${r.customer_name} — released on ${r.release_on} (${r.rule})`,
    ),
    reminderList("Contracts expiring", data.contracts_expiring, (r) =>
      `${r.customer_name} — ${r.number} ends ${r.end_on}`,
    ),
  );
}

/** Mount the panel into `root`; `api(method, path, body)` is the page's API helper. */
export function mountCustomers(root, api, me, onMessage) {
  let current = "mine";
  const body = el("div", { class: "customers-body" });
  const buttons = TABS.map((tab) =>
    el(
      "button",
      { type: "button", class: "tab", "data-tab": tab.id, onclick: () => select(tab.id) },
      tab.label,
    ),
  );
  const refresh = el("button", { type: "button", class: "quiet", onclick: () => select(current) }, "Refresh");
  root.replaceChildren(el("div", { class: "tabs" }, ...buttons, refresh), body);

  async function claim(customer) {
    try {
      await api("POST", `/api/crm/customers/${customer.id}/claim`);
      onMessage(`${customer.name} is now yours.`, false);
      select("mine");
    } catch (error) {
      onMessage(`cannot claim ${customer.name}: ${error.message}`, true);
    }
  }

  async function select(id) {
    current = id;
    for (const b of buttons) b.classList.toggle("active", b.getAttribute("data-tab") === id);
    body.replaceChildren(el("p", { class: "idle" }, "loading…"));
    try {
      if (id === "reminders") {
        body.replaceChildren(reminderView(await api("GET", "/api/crm/reminders/today")));
        return;
      }
      const tab = TABS.find((t) => t.id === id);
      const pages = await Promise.all(tab.queries.map((q) => api("GET", `/api/crm/customers?${q}&page_size=100`)));
      const page = {
        items: pages.flatMap((p) => p.items).sort((a, b) => a.name.localeCompare(b.name)),
        total: pages.reduce((sum, p) => sum + p.total, 0),
      };
      body.replaceChildren(
        el("p", { class: "count" }, `${page.total} customer${page.total === 1 ? "" : "s"}`),
        customerRows(page, me, id === "pool" ? claim : null),
      );
    } catch (error) {
      body.replaceChildren(el("p", { class: "error" }, error.message));
    }
  }

  select(current);
}
