// The screen-pop card: caller, customer, accounts, follow-ups, IVR path, note form.
import { el, formatAmount, formatTime, formatWhen } from "./dom.js";

const AUTH_LABELS = { none: "not authenticated", caller_id: "caller ID only", verified: "verified" };

function table(headings, rows, emptyText) {
  const head = el("tr", null, ...headings.map(([label, cls]) => el("th", { class: cls, text: label })));
  const body = rows.length
    ? rows.map((cells) => el("tr", null, ...cells.map(([value, cls]) => el("td", { class: cls, text: value }))))
    : [el("tr", null, el("td", { class: "empty-row", colspan: headings.length, text: emptyText }))];
  return el("table", null, el("thead", null, head), el("tbody", null, ...body));
}

function customerSection(offer) {
  const authBadge = el("span", {
    class: `badge auth-${offer.authentication}`,
    text: AUTH_LABELS[offer.authentication] || offer.authentication,
  });
  const customer = offer.customer;
  if (!customer) {
    return [el("div", { class: "customer-line" }, el("span", { class: "unknown", text: "Unknown caller" }), authBadge)];
  }
  const accounts = table(
    [["Account"], ["Type"], ["Balance", "num"], ["Status"]],
    customer.accounts.map((a) => [
      [a.masked_number],
      [a.type],
      [`${formatAmount(a.balance)} ${a.currency}`, "num"],
      [a.status],
    ]),
    "no accounts",
  );
  const followUps = table(
    [["When"], ["Channel"], ["Direction"], ["Outcome"], ["Disposition"], ["Notes"], ["Agent"]],
    customer.recent_follow_ups.map((f) => [
      [formatWhen(f.at)],
      [f.channel],
      [f.direction],
      [f.outcome || ""],
      [f.disposition || ""],
      [f.notes || ""],
      [f.agent_name || ""],
    ]),
    "no earlier contact",
  );
  return [
    el(
      "div",
      { class: "customer-line" },
      el("h2", { text: customer.name }),
      el("span", { class: "badge tier", text: customer.tier }),
      authBadge,
      customer.owner_agent ? el("span", { class: "badge", text: `owner: ${customer.owner_agent}` }) : null,
    ),
    el("h3", { text: "Accounts" }),
    accounts,
    el("h3", { text: "Last follow-ups" }),
    followUps,
  ];
}

function ivrSection(steps) {
  if (!steps.length) return [];
  const items = steps.map((step) =>
    el(
      "li",
      { title: formatTime(step.at) },
      step.node,
      step.keys ? el("span", { class: "keys", text: ` [${step.keys}]` }) : null,
      step.result ? ` → ${step.result}` : null,
    ),
  );
  return [el("h3", { text: "IVR path" }), el("ol", { class: "ivr" }, ...items)];
}

function noteForm(callId, dispositions, saveNote, onClose) {
  const notes = el("textarea", { maxlength: 4000, placeholder: "Call notes", "aria-label": "call notes" });
  const disposition = el(
    "select",
    { "aria-label": "disposition" },
    el("option", { value: "", text: "— disposition —" }),
    ...dispositions.map((d) => el("option", { value: d, text: d })),
  );
  const save = el("button", { type: "submit", class: "primary", text: "Save" });
  const close = el("button", { type: "button", class: "quiet", text: "Close", onclick: () => onClose(callId) });
  const status = el("p", { class: "message" });
  const report = (text, isError) => {
    status.textContent = text;
    status.classList.toggle("error", isError);
  };
  const form = el(
    "form",
    { class: "note-form" },
    notes,
    el("div", { class: "note-actions" }, disposition, save, close, status),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { notes: notes.value.trim() || null, disposition: disposition.value || null };
    if (!body.notes && !body.disposition) {
      report("write a note or choose a disposition", true);
      return;
    }
    report("", false);
    save.disabled = true;
    try {
      await saveNote(callId, body);
      report("saved", false);
    } catch (error) {
      report(error.message, true);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

// Build the card of one call.offered event. saveNote(callId, body) returns a
// promise; onClose(callId) removes the card. Returns {card, setState}.
export function buildPop(offer, { dispositions, saveNote, onClose }) {
  const stateLabel = el("span", { class: "call-state", text: "ringing" });
  const card = el("article", { class: "pop" });
  card.append(
    el(
      "div",
      { class: "pop-head" },
      el("span", { class: "caller", text: offer.caller_number || "number withheld" }),
      el("span", { class: "badge", text: `queue ${offer.queue}` }),
      stateLabel,
    ),
    ...customerSection(offer),
    ...ivrSection(offer.ivr_path || []),
    noteForm(offer.call_id, dispositions, saveNote, onClose),
  );
  const setState = (label, ended) => {
    stateLabel.textContent = label;
    card.classList.toggle("ended", ended);
  };
  return { card, setState };
}
