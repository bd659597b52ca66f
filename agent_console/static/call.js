// The calls on the agent's screen: one card per offered call with the customer
// (pop.js), the call controls (hold, resume, transfer, hang up) and the wrap-up
// form (notes, disposition, next follow-up date, save → follow-up history).
import { el } from "./dom.js";
import { t, tr } from "./i18n.js";
import { $, api, app, localToday, serverNow, show, tx } from "./state.js";
import { customerPart } from "./pop.js";

const pops = new Map(); // call_id -> pop

const path = (callId, action) => `/api/calls/${encodeURIComponent(callId)}/${action}`;

function controls(pop) {
  const callId = pop.callId;
  const message = el("span", { class: "message call-message" });
  const report = (key, vars, isError) => {
    tr(message, key, vars);
    message.classList.toggle("error", Boolean(isError));
  };
  const act = async (action, body, labelKey, after) => {
    try {
      await api("POST", path(callId, action), body);
      report("", null, false);
      message.textContent = "";
      if (after) after();
    } catch (error) {
      report("call.failed", { action: t(labelKey), error: error.message }, true);
    }
  };
  const hold = tx("button", "call.hold", null, { type: "button", class: "btn-hold", onclick: () => act("hold", undefined, "call.hold", () => pop.setPhase("held")) });
  const resume = tx("button", "call.resume", null, { type: "button", class: "btn-resume", onclick: () => act("resume", undefined, "call.resume", () => pop.setPhase("connected")) });
  const hangup = tx("button", "call.hangup", null, { type: "button", class: "danger btn-hangup", onclick: () => act("hangup", undefined, "call.hangup") });
  const kind = el("select", { "aria-label": "transfer kind" }, tx("option", "call.blind", null, { value: "blind" }), tx("option", "call.attended", null, { value: "attended" }));
  const targetType = el(
    "select",
    { "aria-label": "transfer target type" },
    tx("option", "call.to.queue", null, { value: "queue" }),
    tx("option", "call.to.agent", null, { value: "agent" }),
    tx("option", "call.to.number", null, { value: "number" }),
  );
  const target = el("input", { class: "transfer-target", maxlength: 64, "data-i18n-placeholder": "call.target", placeholder: t("call.target"), "aria-label": t("call.target") });
  const complete = tx("button", "call.complete", null, { type: "button", hidden: "", onclick: () => act("transfer/complete", undefined, "call.complete", () => consulting(false)) });
  const cancel = tx("button", "call.cancel", null, { type: "button", hidden: "", onclick: () => act("transfer/cancel", undefined, "call.cancel", () => consulting(false)) });
  const consulting = (on) => {
    complete.hidden = !on;
    cancel.hidden = !on;
    transfer.hidden = on;
  };
  const transfer = el("form", { class: "inline-form transfer-form" }, kind, targetType, target, tx("button", "call.transfer", null, { type: "submit" }));
  transfer.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { kind: kind.value, target_type: targetType.value, target: target.value.trim() };
    if (!body.target) return;
    act("transfer", body, "call.transfer", () => {
      if (body.kind === "attended") {
        consulting(true);
        report("call.consulting", { target: body.target }, false);
      } else report("call.transferred", { target: body.target }, false);
    });
  });
  const node = el("div", { class: "call-controls" }, hold, resume, transfer, complete, cancel, hangup, message);
  const setPhase = (phase) => {
    const live = phase === "connected" || phase === "held";
    hold.hidden = phase !== "connected";
    resume.hidden = phase !== "held";
    hangup.hidden = !(live || phase === "ringing");
    transfer.hidden = !live || !complete.hidden;
    if (!live) consulting(false);
    if (!live) transfer.hidden = true;
  };
  return { node, setPhase };
}

function wrapForm(pop) {
  const notes = el("textarea", { class: "wrap-notes", maxlength: 4000, "data-i18n-placeholder": "wrap.notes", placeholder: t("wrap.notes"), "aria-label": t("wrap.notes") });
  const disposition = el(
    "select",
    { class: "wrap-disposition", "aria-label": "disposition" },
    tx("option", "wrap.disposition", null, { value: "" }),
    ...app.config.dispositions.map((d) => el("option", { value: d, text: d })),
  );
  const next = el("input", { type: "date", class: "wrap-next", min: localToday(), "aria-label": t("wrap.next") });
  const save = tx("button", "btn.save", null, { type: "submit", class: "primary wrap-save" });
  const close = tx("button", "btn.close", null, { type: "button", class: "quiet", onclick: () => removePop(pop.callId) });
  const status = el("span", { class: "message wrap-status", role: "status" });
  const countdown = el("span", { class: "wrap-countdown" });
  const report = (key, vars, isError) => {
    tr(status, key, vars);
    status.classList.toggle("error", Boolean(isError));
  };
  const form = el(
    "form",
    { class: "note-form" },
    notes,
    el("div", { class: "note-actions" }, disposition, el("label", { class: "next-label" }, tx("span", "wrap.next"), next), save, close, countdown, status),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = notes.value.trim();
    if (!text && !disposition.value) return report("wrap.empty", null, true);
    const known = pop.customer.current();
    const detail = known ? known.detail() : null;
    save.disabled = true;
    try {
      if (known && detail && detail.access === "write") {
        if (!disposition.value) return report("wrap.needdisp", null, true);
        await api("POST", `/api/crm/customers/${known.customerId}/follow-ups`, {
          channel: "phone",
          direction: "inbound",
          content: text || disposition.value,
          disposition: disposition.value,
          next_contact_on: next.value || null,
          call_id: pop.callId,
        });
      } else {
        await api("POST", path(pop.callId, "note"), { notes: text || null, disposition: disposition.value || null });
      }
      pop.saved = true;
      report(known ? "wrap.saved" : "wrap.savednote", null, false);
      if (known) await known.refresh();
    } catch (error) {
      report("msg.server", { error: error.message }, true);
    } finally {
      save.disabled = false;
    }
  });
  return { node: form, countdown, hasText: () => notes.value.trim() !== "" };
}

function buildPop(offer) {
  const pop = { callId: offer.call_id, offer, phase: "ringing", saved: false };
  const say = (key, vars, isError) => {
    const node = $("console-message");
    tr(node, key, vars);
    node.classList.toggle("error", Boolean(isError));
  };
  pop.customer = customerPart(offer, say);
  const stateLabel = tx("span", "call.ringing", null, { class: "call-state" });
  const ctl = controls(pop);
  const wrap = wrapForm(pop);
  pop.card = el(
    "article",
    { class: "pop", "data-call-id": offer.call_id },
    el(
      "div",
      { class: "pop-head" },
      offer.caller_number ? el("span", { class: "caller", text: offer.caller_number }) : tx("span", "pop.withheld", null, { class: "caller" }),
      tx("span", "pop.queue", { q: offer.queue }, { class: "badge" }),
      stateLabel,
    ),
    pop.customer.node,
    ctl.node,
    wrap.node,
  );
  pop.setPhase = (phase, vars) => {
    pop.phase = phase;
    tr(stateLabel, `call.${phase}`, vars);
    pop.card.classList.toggle("ended", phase === "ended" || phase === "gone" || phase === "taken");
    pop.card.classList.toggle("held", phase === "held");
    wrap.node.hidden = phase === "taken"; // never this agent's call: nothing to wrap up
    ctl.setPhase(phase);
  };
  pop.tick = () => {
    const status = app.status;
    const wrapping = status && status.state === "wrap_up" && status.call_id === pop.callId;
    if (!wrapping || !app.config.wrapup_seconds) {
      wrap.countdown.textContent = "";
      wrap.countdown.removeAttribute("data-i18n");
      return;
    }
    const left = Math.ceil(status.since + app.config.wrapup_seconds - serverNow());
    tr(wrap.countdown, left > 0 ? "wrap.left" : "wrap.over", { s: left });
  };
  ctl.setPhase("ringing");
  return pop;
}

export function showPop(offer) {
  const existing = pops.get(offer.call_id);
  if (existing && existing.phase !== "ringing") return; // a re-sent pop of a call already on screen
  if (existing) existing.card.remove();
  const pop = buildPop(offer);
  pops.set(offer.call_id, pop);
  $("pops").prepend(pop.card);
  show("no-calls", false);
}

export function removePop(callId) {
  const pop = pops.get(callId);
  if (!pop) return;
  pop.card.remove();
  pops.delete(callId);
  show("no-calls", pops.size === 0);
}

export function removeAllPops() {
  for (const callId of [...pops.keys()]) removePop(callId);
}

/** A call event about one of the agent's calls (connected, held, resumed, ended). */
export function onCallEvent(type, data) {
  const pop = pops.get(data.call_id);
  if (!pop) return;
  if (type === "call.connected" || type === "call.resumed") pop.setPhase("connected");
  else if (type === "call.held") pop.setPhase("held");
  else if (type === "call.ended") pop.setPhase("ended", { outcome: data.outcome });
  else if (type === "call.taken") {
    // Another agent of a ring-all group answered: this agent no longer sees the customer.
    pop.setPhase("taken", { agent: data.taken_by });
    pop.customer.node.remove();
  }
}

/**
 * After a (re)connection: calls the server no longer has for this agent are not
 * shown as live (no ghost calls); their cards stay so unsaved notes are not lost.
 */
export function reconcile(status) {
  const current = status ? status.call_id : null;
  for (const pop of pops.values()) {
    if (pop.callId === current || ["ended", "gone", "taken"].includes(pop.phase)) continue;
    pop.setPhase("gone");
  }
  if (status && current && pops.has(current)) {
    const pop = pops.get(current);
    if (status.state === "on_call" && pop.phase === "gone") pop.setPhase("connected");
  }
}

export function tickPops() {
  for (const pop of pops.values()) pop.tick();
}

/** Ring a customer from their record (the server originates through the PBX and records it). */
export async function dial(customerId, number, name, onMessage) {
  try {
    const body = number ? { customer_id: customerId, number } : { customer_id: customerId };
    await api("POST", "/api/dial", body);
    onMessage("msg.dialing", { name }, false);
  } catch (error) {
    onMessage("msg.dialfail", { error: error.message }, true);
  }
}
