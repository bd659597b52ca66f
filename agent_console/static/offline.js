// The server is unreachable: the websocket is down (it reconnects by itself, live.js) and/or API requests
// fail to reach the server (then /api/health is probed until it answers). While that lasts the page says
// so in a banner, body[data-offline] is set, every state-changing button of the console is disabled and
// the shared api() helper refuses state-changing requests (state.js); the banner goes and the buttons come
// back once the server is reachable again. Nothing typed is touched, so unsaved notes stay.
import { $, app } from "./state.js";
import { setHandlers } from "./live.js";

const PROBE_EVERY_MS = 3000;
// Buttons that change nothing on the server stay usable: navigation, closing a card, the shortcut list.
const KEEP_ENABLED = "[data-offline-ok], .tab, .open-record, .note-form button.quiet";
const MARK = "data-offline-disabled";

const link = { wsDown: false, apiDown: false, probing: false };

/** Follow the websocket and the API's reachability; call once at start, before any request. */
export function mountOffline() {
  app.onReachability = onReachability;
  setHandlers({ connection: onConnection });
  // Buttons drawn (or re-enabled by their own code) while offline are disabled as well.
  new MutationObserver(() => {
    if (app.offline) disableButtons();
  }).observe($("console-view"), { childList: true, subtree: true, attributes: true, attributeFilter: ["disabled"] });
}

/** From live.js: "up" (hello received), "down" (closed, reconnecting) or "reset" (let go: logged out). */
function onConnection(kind) {
  if (kind === "reset") {
    link.wsDown = false;
    link.apiDown = false;
  } else link.wsDown = kind === "down";
  render();
}

/** From state.js: whether the last request reached the server. */
function onReachability(reached) {
  if (link.apiDown === !reached) return;
  link.apiDown = !reached;
  render();
}

function render() {
  const offline = Boolean(app.token) && (link.wsDown || link.apiDown);
  if (offline && link.apiDown && !link.probing) probe();
  if (offline === app.offline) return;
  app.offline = offline;
  document.body.toggleAttribute("data-offline", offline);
  $("offline-banner").hidden = !offline;
  if (offline) disableButtons();
  else enableButtons();
}

async function probe() {
  link.probing = true;
  try {
    while (link.apiDown && app.token) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
      try {
        const response = await fetch("/api/health", { cache: "no-store" });
        if (response.ok) onReachability(true);
      } catch (_) {
        // still unreachable: try again
      }
    }
  } finally {
    link.probing = false;
  }
}

function disableButtons() {
  for (const button of $("console-view").querySelectorAll("button")) {
    if (button.disabled || button.matches(KEEP_ENABLED)) continue;
    button.disabled = true;
    button.setAttribute(MARK, "");
  }
}

function enableButtons() {
  for (const button of document.querySelectorAll(`[${MARK}]`)) {
    button.removeAttribute(MARK);
    button.disabled = false;
  }
}
