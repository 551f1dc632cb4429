// The open conversation's transcript (in message-id order, each id once) and its first-response timer.
import { $, el } from "../lib/dom.js";
import { clock, state } from "./state.js";

const ROLES = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };

/** What the platform did with a message to an IM customer: "sent ✓", "failed: <reason>", … */
export function deliveryLabel(delivery) {
  switch (delivery.status) {
    case "queued": return "queued…" + (delivery.error ? " (retrying: " + delivery.error + ")" : "");
    case "sent": return "sent ✓";
    case "delivered": return "delivered ✓✓";
    case "failed": return "failed: " + (delivery.error || "unknown reason");
    default: return String(delivery.status);
  }
}

function deliveryNode(delivery) {
  return el("span", { className: "delivery delivery-" + delivery.status, text: deliveryLabel(delivery),
    title: "Delivery to the customer's app" });
}

function messageItem(msg) {
  const who = msg.internal ? "Internal note" : ROLES[msg.role] || msg.role;
  const time = msg.created_at ? new Date(msg.created_at).toLocaleTimeString() : "";
  return el("li", { className: "msg msg-" + msg.role + (msg.internal ? " internal" : ""), "data-id": String(msg.id) },
    el("span", { className: "who", text: who + " · " + time }),
    el("span", { className: "text", text: String(msg.text ?? "") }),
    msg.delivery ? deliveryNode(msg.delivery) : null);
}

/** Show the current delivery state of the open transcript's messages ({message id: {status, error}}). */
export function setDeliveries(deliveries) {
  for (const node of $("transcript").children) {
    const delivery = deliveries[node.dataset.id];
    if (!delivery) continue;
    const old = node.querySelector(".delivery");
    if (old) old.replaceWith(deliveryNode(delivery));
    else node.append(deliveryNode(delivery));
  }
  if (state.packet) {
    for (const msg of state.packet.transcript) if (deliveries[msg.id]) msg.delivery = deliveries[msg.id];
  }
}

/** Add a message to the open transcript, in id order; a message already shown is skipped. */
export function addMessage(msg) {
  const id = Number(msg.id);
  if (state.shown.has(id)) return;
  state.shown.add(id);
  const transcript = $("transcript");
  let before = null;
  for (const node of transcript.children) if (Number(node.dataset.id) > id) { before = node; break; }
  transcript.insertBefore(messageItem(msg), before);
  transcript.scrollTop = transcript.scrollHeight;
  if (state.packet) state.packet.transcript.push(msg);
  if (msg.role === "customer") $("customer-typing").classList.add("hidden");
  renderSla();
}

/** Replace the transcript with these messages. */
export function showTranscript(messages) {
  $("transcript").replaceChildren();
  state.shown.clear();
  for (const msg of messages) addMessage(msg);
}

/** The first-response timer of the open conversation: running, met or breached. */
export function renderSla() {
  const timer = $("sla-timer");
  if (!state.packet) { timer.textContent = ""; return; }
  const c = state.packet.conversation || {};
  const transcript = state.packet.transcript;
  const since = c.queued_at || (transcript.find((m) => m.role === "customer") || {}).created_at || c.started_at;
  const startMs = since ? new Date(since).getTime() : Date.now();
  const reply = transcript.find((m) => m.role === "agent" && !m.internal && new Date(m.created_at).getTime() >= startMs);
  // Conversation.first_response_at may be the bot's; the agent's clock stops at the first agent reply.
  const answeredAt = reply ? new Date(reply.created_at).getTime() : null;
  const took = ((answeredAt || Date.now()) - startMs) / 1000;
  const breached = took > state.sla;
  timer.className = "sla " + (breached ? "breach" : answeredAt ? "met" : "running");
  timer.textContent = answeredAt
    ? "First response in " + clock(took) + (breached ? " — SLA breached" : " — within SLA")
    : "First response due: " + clock(took) + " / " + clock(state.sla) + (breached ? " — SLA breached" : "");
}
