// Ringing gets attention. While a call is offered to this agent — its pop is on screen and the ACD has the
// agent ringing for it — the tab title alternates with "☎ Incoming call — <caller>", the favicon turns to
// its ringing variant, an optional ring tone plays (Web Audio, off by default, remembered in localStorage)
// and a desktop notification appears (permission asked once, on the first Ready click). All of it stops
// when the call is answered, ends, is taken by a colleague, or the agent stops ringing for it.
import { t } from "./i18n.js";
import { $, app } from "./state.js";

const FAVICON = "/static/favicon.svg";
const FAVICON_RINGING = "/static/favicon-ringing.svg";
const SOUND_KEY = "bankcti.console.ringSound";
const ASKED_KEY = "bankcti.console.notifyAsked";
const BLINK_MS = 1000;
const RING_EVERY_MS = 3000;
const ENDED = new Set(["call.connected", "call.ended", "call.taken"]);

const offers = new Map(); // call_id -> offer: popped, not yet answered, ended or taken
const ring = { callId: null, blink: null, tone: null, notification: null };
const audio = { context: null };

/** Wire the ring-sound toggle and the notification permission request; call once at start. */
export function mountAttention() {
  const toggle = $("ring-sound");
  toggle.checked = soundWanted();
  toggle.addEventListener("change", () => {
    localStorage.setItem(SOUND_KEY, toggle.checked ? "on" : "off");
    if (!toggle.checked) stopTone();
    else {
      audioContext(); // created inside the click: browsers only let a page make sound after a gesture
      if (ring.callId) startTone();
    }
  });
  // A tone switched on in an earlier visit needs a gesture on this page before it may play.
  for (const kind of ["pointerdown", "keydown"]) {
    document.addEventListener(kind, () => {
      if (soundWanted()) audioContext();
    });
  }
  $("btn-ready").addEventListener("click", askNotificationOnce);
}

/** A pop arrived for this agent (`call.offered`). */
export function noticeOffer(offer) {
  offers.set(offer.call_id, offer);
  update();
}

/** Any `call.*` event: an answered, ended or taken call rings no more (for anybody in its group). */
export function noticeCallEvent(type, data) {
  if (!ENDED.has(type) || !offers.delete(data.call_id)) return;
  update();
}

/** The agent's status changed (`app.status`): ringing only while the ACD rings this agent for a popped call. */
export function noticeStatus() {
  const status = app.status;
  const current = status ? status.call_id : null;
  for (const callId of [...offers.keys()]) if (callId !== current) offers.delete(callId);
  update();
}

/** The session ended: nothing rings any more. */
export function resetAttention() {
  offers.clear();
  update();
}

function update() {
  const status = app.status;
  const ringing = app.token && status && status.state === "ringing" && offers.has(status.call_id);
  const callId = ringing ? status.call_id : null;
  if (callId === ring.callId) return;
  stopRinging();
  if (callId) startRinging(offers.get(callId));
}

function callerOf(offer) {
  if (offer.customer && offer.customer.name) return offer.customer.name;
  return offer.caller_number || t("pop.withheld");
}

function startRinging(offer) {
  ring.callId = offer.call_id;
  const caller = callerOf(offer);
  let alerting = false;
  const flip = () => {
    alerting = !alerting;
    document.title = alerting ? t("ring.title", { caller }) : t("app.title");
  };
  flip();
  ring.blink = setInterval(flip, BLINK_MS);
  setFavicon(FAVICON_RINGING);
  document.body.setAttribute("data-ringing", offer.call_id);
  if (soundWanted()) startTone();
  notify(offer, caller);
}

function stopRinging() {
  if (!ring.callId) return;
  ring.callId = null;
  clearInterval(ring.blink);
  ring.blink = null;
  document.title = t("app.title");
  setFavicon(FAVICON);
  document.body.removeAttribute("data-ringing");
  stopTone();
  if (ring.notification) {
    ring.notification.close();
    ring.notification = null;
  }
}

function setFavicon(href) {
  const link = document.querySelector("link[rel~='icon']");
  if (link) link.setAttribute("href", href);
}

// ---- desktop notification -------------------------------------------------
function notificationsSupported() {
  return typeof window.Notification === "function";
}

/** Ask for the permission once (remembered), from a click: browsers refuse to ask without a gesture. */
function askNotificationOnce() {
  if (!notificationsSupported() || localStorage.getItem(ASKED_KEY)) return;
  if (Notification.permission !== "default") return; // the browser already has the agent's answer
  localStorage.setItem(ASKED_KEY, new Date().toISOString());
  Promise.resolve(Notification.requestPermission()).catch(() => {});
}

function notify(offer, caller) {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    const notification = new Notification(t("ring.notify"), {
      body: t("ring.notify.body", { caller, queue: offer.queue }),
      tag: `bankcti-ring-${offer.call_id}`,
      icon: FAVICON_RINGING,
    });
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
    });
    ring.notification = notification;
  } catch (_) {
    // Some browsers only allow notifications from a service worker: the title and favicon still ring.
  }
}

// ---- ring tone (Web Audio, no audio file) -----------------------------------
function soundWanted() {
  return localStorage.getItem(SOUND_KEY) === "on";
}

function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio.context) audio.context = new Context();
  if (audio.context.state === "suspended") audio.context.resume().catch(() => {});
  return audio.context;
}

/** One double ring: two short bursts of a 400 + 450 Hz tone. */
function ringOnce() {
  const context = audioContext();
  if (!context) return;
  const start = context.currentTime + 0.02;
  for (const offset of [0, 0.6]) {
    const gain = context.createGain();
    gain.gain.setValueAtTime(0, start + offset);
    gain.gain.linearRampToValueAtTime(0.08, start + offset + 0.03);
    gain.gain.setValueAtTime(0.08, start + offset + 0.37);
    gain.gain.linearRampToValueAtTime(0, start + offset + 0.4);
    gain.connect(context.destination);
    for (const frequency of [400, 450]) {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.42);
    }
  }
}

function startTone() {
  if (ring.tone) return;
  ringOnce();
  ring.tone = setInterval(ringOnce, RING_EVERY_MS);
}

function stopTone() {
  clearInterval(ring.tone);
  ring.tone = null;
}
