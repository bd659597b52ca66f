// Recent calls: the last calls this agent answered (GET /api/me/recent-calls), newest first, with the
// customer (name, or the caller's number), the time and the disposition.  "Open" reopens the record of
// a customer the agent may still see — their own, shared with them, or one whose call they handled in
// the last while (the server's handled-call grant, read-only and audited).  An entry the agent may no
// longer open still tries: the server's 403 becomes "you may not see this customer".
import { el } from "./dom.js";
import { shown, trCode } from "./i18n.js";
import { api, table, tx } from "./state.js";

export const RECENT_CALLS = 20;

/** The recent-calls view; `openRecord(id)` opens a customer's record. Returns the nodes to show. */
export async function recentCalls(openRecord) {
  const calls = await api("GET", `/api/me/recent-calls?limit=${RECENT_CALLS}`);
  const rows = calls.map((c) => [
    [shown(el("span"), "when", { v: c.at })],
    [c.customer_name ? el("span", { class: "recent-name", text: c.customer_name }) : el("span", { class: "recent-number", text: c.caller_number || "—" })],
    [c.disposition ? trCode(el("span"), "disp", c.disposition) : "—"],
    [
      c.customer_id === null
        ? ""
        : tx("button", c.can_open ? "btn.open" : "recent.reopen", null, {
            type: "button",
            class: c.can_open ? "open-record" : "open-record quiet",
            "data-call-id": c.call_id,
            onclick: () => openRecord(c.customer_id),
          }),
    ],
  ]);
  return [
    tx("p", "recent.intro", { n: RECENT_CALLS }, { class: "count muted" }),
    el("div", { class: "recent-calls" }, table([["col.when"], ["recent.customer"], ["col.disposition"], [""]], rows, "recent.none")),
  ];
}
