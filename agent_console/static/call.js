// The calls on the agent's screen: one card per call, inbound (offered by the ACD) or outbound
// (click-to-dial), with the call controls (hold, resume, transfer, hang up), the wrap-up form
// (wrapup.js) and the customer (pop.js).
import { el } from "./dom.js";
import { t, tr } from "./i18n.js";
import { $, api, serverNow, show, tx } from "./state.js";
import { customerPart } from "./pop.js";
import { wrapForm } from "./wrapup.js";

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

function buildPop(offer) {
  const outbound = offer.direction === "outbound";
  const pop = { callId: offer.call_id, offer, phase: outbound ? "dialing" : "ringing", saved: false, connectedAt: null };
  const say = (key, vars, isError) => {
    const node = $("console-message");
    tr(node, key, vars);
    node.classList.toggle("error", Boolean(isError));
  };
  pop.customer = customerPart(offer, say);
  const stateLabel = tx("span", `call.${pop.phase}`, null, { class: "call-state" });
  const timer = el("span", { class: "call-timer", "aria-label": "call time" });
  const ctl = controls(pop);
  const wrap = wrapForm(pop, () => removePop(pop.callId));
  const caller = offer.caller_number ? el("span", { class: "caller", text: offer.caller_number }) : tx("span", "pop.withheld", null, { class: "caller" });
  const badge = outbound ? tx("span", "pop.outbound", null, { class: "badge outbound" }) : tx("span", "pop.queue", { q: { kind: "queue", code: offer.queue } }, { class: "badge" });
  // Controls and wrap-up first: at 1366x768 notes, disposition, date and Save stay in view during the call.
  pop.card = el("article", { class: "pop", "data-call-id": offer.call_id, "data-direction": outbound ? "outbound" : "inbound" }, el("div", { class: "pop-head" }, caller, badge, stateLabel, timer), ctl.node, wrap.node, pop.customer.node);
  pop.setPhase = (phase, vars) => {
    pop.phase = phase;
    if (phase === "connected" && pop.connectedAt === null) pop.connectedAt = serverNow();
    tr(stateLabel, `call.${phase}`, vars);
    pop.card.classList.toggle("ended", phase === "ended" || phase === "gone" || phase === "taken");
    pop.card.classList.toggle("held", phase === "held");
    wrap.node.hidden = phase === "taken"; // never this agent's call: nothing to wrap up
    ctl.setPhase(phase);
    if (phase === "ended" || phase === "gone") pop.endedAt = pop.endedAt || serverNow();
    pop.tick();
  };
  pop.tick = () => {
    wrap.tick();
    if (pop.connectedAt === null) {
      timer.textContent = "";
      return;
    }
    const seconds = Math.max(0, Math.floor((pop.endedAt || serverNow()) - pop.connectedAt));
    timer.textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
  pop.pendingWrapUp = () => !pop.saved && ["ended", "gone"].includes(pop.phase);
  ctl.setPhase(pop.phase);
  return pop;
}

export function showPop(offer) {
  const existing = pops.get(offer.call_id);
  if (existing && existing.phase !== "ringing") return; // a re-sent pop of a call already on screen
  if (existing) existing.card.remove();
  const pop = buildPop(offer);
  pops.set(offer.call_id, pop);
  // A new call never pushes an unsaved wrap-up out of sight: it goes below the cards still to wrap up.
  const holder = $("pops");
  const below = [...holder.children].find((card) => {
    const other = pops.get(card.dataset.callId);
    return !other || !other.pendingWrapUp();
  });
  holder.insertBefore(pop.card, below || null);
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

/** A call event about one of the agent's calls (connected, held, resumed, ended, an outbound call's state). */
export function onCallEvent(type, data) {
  if (type === "call.outbound") return onOutbound(data);
  const pop = pops.get(data.call_id);
  if (!pop) return;
  if (type === "call.connected" || type === "call.resumed") pop.setPhase("connected");
  else if (type === "call.held") pop.setPhase("held");
  else if (type === "call.ended") pop.setPhase("ended", { outcome: { kind: "end", code: data.outcome } });
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

/** Ring a customer from their record: the call shows as a card like an inbound one, with its wrap-up. */
export async function dial(customerId, number, name, onMessage) {
  try {
    const body = number ? { customer_id: customerId, number } : { customer_id: customerId };
    const started = await api("POST", "/api/dial", body);
    onMessage("msg.dialing", { name }, false);
    await openOutbound(started.call_id, customerId, started.number);
  } catch (error) {
    onMessage("msg.dialfail", { error: error.message }, true);
  }
}

/** The card of an outbound call, made once (by the dial's answer or its first event, whichever is first). */
async function openOutbound(callId, customerId, number) {
  if (pops.has(callId)) return pops.get(callId);
  let customer = null;
  if (customerId) {
    try {
      const detail = await api("GET", `/api/crm/customers/${customerId}`);
      customer = { id: detail.id, name: detail.name, tier: detail.tier, owner_agent: detail.owner_name, accounts: detail.accounts, recent_follow_ups: [] };
    } catch (_) {
      customer = null; // the card still shows the call and its controls; the record stays closed
    }
  }
  if (pops.has(callId)) return pops.get(callId); // the event or the answer made it meanwhile
  showPop({ call_id: callId, direction: "outbound", caller_number: number || null, queue: null, customer, ivr_path: [] });
  return pops.get(callId);
}

async function onOutbound(data) {
  const pop = pops.get(data.call_id) || (data.state !== "ended" ? await openOutbound(data.call_id, data.customer_id, data.number) : null);
  if (!pop) return;
  if (data.state === "connected") pop.setPhase("connected");
  else if (data.state === "ended") pop.setPhase("ended", { outcome: { kind: "end", code: data.outcome } });
}
