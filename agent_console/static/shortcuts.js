// Keyboard shortcuts of the agent console. Each one presses a visible, enabled button exactly as a click
// would (so it does what the click does, and nothing while that button is hidden or disabled, e.g. offline):
//   Alt+R  go ready (or end the wrap-up)      Alt+H  hold / resume the call
//   Alt+X  hang up                             Ctrl+Enter or Alt+S  save the wrap-up
// Only the save shortcuts work while typing in a text field (they are how notes get saved from the
// keyboard); the others would fire by accident there. The call buttons belong to call.js: they are found
// by their classes inside the newest live `article.pop[data-call-id]` card.
import { el } from "./dom.js";
import { $ } from "./state.js";
import { tr } from "./i18n.js";

const SAVE_LABEL = "Ctrl+Enter / Alt+S";
const SHORTCUTS = [
  { label: "Alt+R", help: "keys.ready", match: (e) => alt(e, "KeyR"), run: goReady },
  { label: "Alt+H", help: "keys.hold", match: (e) => alt(e, "KeyH"), run: holdOrResume },
  { label: "Alt+X", help: "keys.hangup", match: (e) => alt(e, "KeyX"), run: hangUp },
  { label: SAVE_LABEL, help: "keys.save", match: (e) => alt(e, "KeyS") || ctrlEnter(e), run: save, whileTyping: true },
];
// The title (and aria-keyshortcuts) each button gets, by selector.
const BUTTON_KEYS = [
  ["#btn-ready, #btn-end-wrap", "Alt+R"],
  [".pop .btn-hold, .pop .btn-resume", "Alt+H"],
  [".pop .btn-hangup", "Alt+X"],
  [".pop .wrap-save", SAVE_LABEL],
];
const TEXT_INPUTS = new Set(["", "text", "search", "email", "tel", "url", "password", "number", "date", "datetime-local", "month", "time", "week"]);

function alt(event, code) {
  return event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.code === code;
}

function ctrlEnter(event) {
  return (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key === "Enter";
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && TEXT_INPUTS.has((target.getAttribute("type") || "").toLowerCase());
}

/** A button the agent could click now: present, shown and enabled. */
function usable(button) {
  return Boolean(button) && !button.disabled && button.getClientRects().length > 0;
}

function press(button) {
  if (!usable(button)) return false;
  button.click();
  return true;
}

/** The call cards, newest first (call.js puts a new card on top), those still live only. */
function livePops() {
  return [...document.querySelectorAll("#pops article.pop[data-call-id]")].filter((pop) => !pop.classList.contains("ended"));
}

function goReady() {
  return press($("btn-ready")) || press($("btn-end-wrap"));
}

function holdOrResume() {
  for (const pop of livePops()) {
    if (press(pop.querySelector(".btn-hold")) || press(pop.querySelector(".btn-resume"))) return true;
  }
  return false;
}

function hangUp() {
  return livePops().some((pop) => press(pop.querySelector(".btn-hangup")));
}

/** Save the wrap-up of the card being typed in, else of the newest card that can save. */
function save(event) {
  const here = event.target instanceof Element ? event.target.closest("article.pop[data-call-id]") : null;
  if (here) return press(here.querySelector(".wrap-save"));
  return [...document.querySelectorAll("#pops article.pop[data-call-id]")].some((pop) => press(pop.querySelector(".wrap-save")));
}

function onKeyDown(event) {
  if (event.repeat || event.isComposing || $("console-view").hidden) return;
  const shortcut = SHORTCUTS.find((s) => s.match(event));
  if (!shortcut || (typing(event.target) && !shortcut.whileTyping)) return;
  event.preventDefault();
  shortcut.run(event);
}

function labelButtons(root) {
  for (const [selector, keys] of BUTTON_KEYS) {
    for (const button of root.querySelectorAll(selector)) {
      if (button.getAttribute("aria-keyshortcuts") === keys) continue;
      button.setAttribute("aria-keyshortcuts", keys);
      button.setAttribute("title", keys);
    }
  }
}

function helpList() {
  return SHORTCUTS.map((s) => el("li", null, el("kbd", { text: s.label }), " ", tr(el("span"), s.help)));
}

/** Listen for the shortcuts, label the buttons with their keys and fill the "?" list; call once at start. */
export function mountShortcuts() {
  document.addEventListener("keydown", onKeyDown);
  labelButtons(document);
  new MutationObserver(() => labelButtons($("pops"))).observe($("pops"), { childList: true, subtree: true });
  const list = $("keys-help");
  list.replaceChildren(...helpList());
  const toggle = $("btn-keys");
  toggle.addEventListener("click", () => {
    list.hidden = !list.hidden;
    toggle.setAttribute("aria-expanded", String(!list.hidden));
  });
}
