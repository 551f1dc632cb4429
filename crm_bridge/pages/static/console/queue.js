// The queue: who waits, for how long (red past the first-response target), and Accept.
import { $, el } from "../lib/dom.js";
import { api, itemsOf } from "../lib/api.js";
import { AGENT, clock, conversationUrl, fail, state } from "./state.js";
import { loadChats, openChat } from "./chats.js";

/** The queue as it stood at the last frame, with the time waited since. */
export function renderQueue() {
  const elapsed = (Date.now() - state.queueAt) / 1000;
  $("queue-list").replaceChildren(...state.queue.map((item) => {
    const waited = Number(item.waiting_seconds || 0) + elapsed;
    const breached = waited > state.sla;
    return el("li", { className: "queue-item" + (breached ? " breach" : ""),
      "data-conversation-id": item.conversation_id },
      el("div", { className: "line" },
        el("strong", { text: item.contact_name || "Visitor" }),
        el("span", { className: "badge", text: item.language || "?" }),
        item.channel ? el("span", { className: "badge channel-badge", text: item.channel }) : null,
        item.sentiment ? el("span", { className: "badge sentiment-" + item.sentiment, text: item.sentiment }) : null),
      el("div", { className: "line muted" },
        el("span", { className: "wait", text: "waiting " + clock(waited) }),
        breached ? el("span", { className: "flag", text: "SLA breached" }) : null,
        el("span", { text: item.reason ? "· " + item.reason.replace(/_/g, " ") : "" })),
      el("button", { type: "button", className: "primary accept", text: "Accept",
        "aria-label": "Accept the conversation with " + (item.contact_name || "a visitor"),
        onclick: () => accept(item.conversation_id) }));
  }));
  $("queue-count").textContent = String(state.queue.length);
  $("queue-empty").classList.toggle("hidden", state.queue.length > 0);
}

/** A new queue (from a frame or the API). */
export function setQueue(items) {
  state.queue = items;
  state.queueAt = Date.now();
  renderQueue();
}

/** Reload the queue from the API. */
export async function loadQueue() {
  try {
    setQueue(itemsOf(await api("GET", AGENT + "/queue")));
  } catch (err) { fail(err); }
}

async function accept(id) {
  try {
    await api("POST", conversationUrl(id, "/accept"));
    state.queue = state.queue.filter((item) => item.conversation_id !== id);
    renderQueue();
    await loadChats();
    await openChat(id);
  } catch (err) { fail(err); loadQueue(); }
}
