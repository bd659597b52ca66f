// The wrap-up of a call on the agent's screen: notes (with the server's limit and a counter),
// disposition, next contact date and channel, one save path for every call, whoever owns the
// customer (PUT /api/calls/{id}/wrap-up; saving again edits the same entry), and the wrap-up
// countdown with its extension (POST /api/agent/wrap-up/extend).
import { el } from "./dom.js";
import { t, tr, trCode } from "./i18n.js";
import { api, app, localToday, serverNow, tx } from "./state.js";

const path = (callId, action) => `/api/calls/${encodeURIComponent(callId)}/${action}`;

const NEXT_CHANNELS = ["phone", "visit", "email", "sms", "web"];
const EXTEND_SECONDS = 60; // one click: a minute more, up to the queue's maximum
// What the server's 422 names, as the page's own words.
const FIELD_MESSAGES = { notes: "wrap.toolong", next_contact_on: "wrap.pastdate", disposition: "wrap.baddisp", next_contact_channel: "wrap.needdate" };

/**
 * The wrap-up form: one save path for every call, whoever owns the customer
 * (PUT /api/calls/{id}/wrap-up).  Saving again edits the same follow-up entry.
 */
export function wrapForm(pop, onClose) {
  const limit = app.config.notes_max_length || 4000;
  const notes = el("textarea", { class: "wrap-notes", maxlength: limit, "data-i18n-placeholder": "wrap.notes", placeholder: t("wrap.notes"), "aria-label": t("wrap.notes") });
  const counter = el("span", { class: "wrap-counter", "aria-live": "polite" });
  const count = () => {
    counter.textContent = `${notes.value.length} / ${limit}`;
    counter.classList.toggle("near", notes.value.length > limit * 0.9);
  };
  notes.addEventListener("input", count);
  count();
  const disposition = el(
    "select",
    { class: "wrap-disposition", "aria-label": "disposition" },
    tx("option", "wrap.disposition", null, { value: "" }),
    ...app.config.dispositions.map((d) => trCode(el("option", { value: d }), "disp", d)),
  );
  const next = el("input", { type: "date", class: "wrap-next", min: localToday(), "aria-label": t("wrap.next") });
  const channel = el(
    "select",
    { class: "wrap-channel", "aria-label": "next contact channel" },
    tx("option", "wrap.channel", null, { value: "" }),
    ...NEXT_CHANNELS.map((c) => trCode(el("option", { value: c }), "channel", c)),
  );
  const save = tx("button", "btn.save", null, { type: "submit", class: "primary wrap-save" });
  const close = tx("button", "btn.close", null, { type: "button", class: "quiet", onclick: onClose });
  const status = el("span", { class: "message wrap-status", role: "status" });
  const countdown = el("span", { class: "wrap-countdown" });
  const extend = tx("button", "wrap.extend", null, { type: "button", class: "quiet wrap-extend", hidden: "" });
  extend.addEventListener("click", async () => {
    try {
      app.onStatus(await api("POST", "/api/agent/wrap-up/extend", { seconds: EXTEND_SECONDS }));
    } catch (error) {
      report("msg.server", { error: error.message }, true);
    }
  });
  const report = (key, vars, isError) => {
    tr(status, key, vars);
    status.classList.toggle("error", Boolean(isError));
  };
  const form = el(
    "form",
    { class: "note-form", novalidate: "" },
    el("div", { class: "notes-box" }, notes, counter),
    el(
      "div",
      { class: "note-actions" },
      disposition,
      el("label", { class: "next-label" }, tx("span", "wrap.next"), next),
      channel,
      save,
      close,
      countdown,
      extend,
      status,
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = notes.value.trim();
    if (!text && !disposition.value) return report("wrap.empty", null, true);
    if (text.length > limit) return report("wrap.toolong", { n: limit }, true);
    if (next.value && next.value < localToday()) return report("wrap.pastdate", null, true);
    if (channel.value && !next.value) return report("wrap.needdate", null, true);
    const known = pop.customer.current();
    const body = {
      notes: text || null,
      disposition: disposition.value || null,
      next_contact_on: next.value || null,
      next_contact_channel: channel.value || null,
    };
    if (known) body.customer_id = known.customerId;
    save.disabled = true;
    try {
      const saved = await api("PUT", path(pop.callId, "wrap-up"), body);
      pop.saved = true;
      pop.card.classList.add("wrapped");
      report(saved.customer_id ? "wrap.saved" : "wrap.savednote", null, false);
      // The ACD may release an agent held for this wrap-up: show the true state and deadline at once.
      api("GET", "/api/agent/state").then((full) => app.onStatus && app.onStatus(full), () => {});
      if (known) await known.refresh();
    } catch (error) {
      const key = error.status === 422 && FIELD_MESSAGES[error.field];
      if (key) report(key, { n: limit }, true);
      else if (error.status === 403) report("wrap.notyours", null, true);
      else report("msg.server", { error: error.message }, true);
    } finally {
      save.disabled = false;
    }
  });
  /** Show the wrap-up time left (and the extension while the queue's maximum allows one). */
  const tick = () => {
    const current = app.status;
    const wrapping = current && current.state === "wrap_up" && current.call_id === pop.callId;
    const until = wrapping ? current.wrapup_until || (app.config.wrapup_seconds ? current.since + app.config.wrapup_seconds : null) : null;
    if (!until) {
      countdown.textContent = "";
      countdown.removeAttribute("data-i18n");
      extend.hidden = true;
      return;
    }
    const left = Math.ceil(until - serverNow());
    if (left > 0) tr(countdown, "wrap.left", { s: left });
    else tr(countdown, current.wrapup_required ? "wrap.required" : "wrap.over", { s: left });
    const max = current.wrapup_max_until;
    extend.hidden = !max || until + 1 > max;
  };
  return { node: form, tick, hasText: () => notes.value.trim() !== "", saved: () => pop.saved };
}

