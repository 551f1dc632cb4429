// The customer panel of the open conversation: profile, handoff summary, sentiment trend, open tickets
// (with a status change and a new ticket from the chat) and past conversations.
import { $, el, show } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { state, when } from "./state.js";

const TICKET_STATUSES = ["new", "open", "pending", "resolved", "closed"];
const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());

function dl(target, pairs) {
  target.replaceChildren(...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: Array.isArray(v) ? v.join(", ") || "—" : String(v) })]));
}

function renderSentiment(sentiment) {
  const list = $("sentiment");
  list.replaceChildren(...(sentiment.trend || []).map((point) =>
    el("li", { className: "dot sentiment-" + (point.label || "neutral"),
      title: (point.label || "?") + (point.score !== null && point.score !== undefined ? " " + Number(point.score).toFixed(2) : ""),
      text: point.label ? point.label[0].toUpperCase() : "?" })));
  if (sentiment.average !== null && sentiment.average !== undefined) {
    list.append(el("li", { className: "avg", text: "avg " + Number(sentiment.average).toFixed(2) }));
  }
}

function renderTickets(tickets) {
  const list = $("open-tickets");
  list.replaceChildren(...tickets.map((t) => {
    const select = el("select", { "aria-label": "Status of " + t.number },
      ...TICKET_STATUSES.map((s) => el("option", { value: s, text: s })));
    select.value = t.status;
    const update = async () => {
      try {
        const updated = await api("PATCH", "/api/v1/tickets/" + encodeURIComponent(t.number), { status: select.value });
        show($("ticket-result"), t.number + " is now " + updated.status + ".");
      } catch (err) { show($("ticket-result"), err.message); }
    };
    return el("li", { className: "ticket", "data-number": t.number },
      el("strong", { text: t.number }), " ", el("span", { text: t.subject }),
      el("span", { className: "muted", text: " · " + (t.priority || "") }),
      el("div", { className: "row-inline" }, select, el("button", { type: "button", text: "Update", onclick: update })));
  }));
  if (!tickets.length) list.append(el("li", { className: "muted", text: "None." }));
}

function renderPast(past) {
  $("past-conversations").replaceChildren(...past.map((p) =>
    el("li", {}, el("span", { text: when(p.started_at) + " · " + (p.status || "") + " · " + (p.channel || "") }),
      p.summary || p.last_message ? el("div", { className: "muted", text: String(p.summary || p.last_message) }) : null)));
  if (!past.length) $("past-conversations").append(el("li", { className: "muted", text: "None." }));
}

/** Fill the customer panel from a handoff packet and show it. */
export function renderCustomer(packet) {
  const c = packet.conversation || {};
  const contact = packet.contact || {};
  dl($("profile"), [["Name", contact.name], ["Email", contact.email], ["Phone", contact.phone],
    ["Language", contact.preferred_language || c.language], ["Tier", contact.tier],
    ["Tags", contact.tags], ["Customer since", contact.created_at ? when(contact.created_at) : null]]);
  const summary = packet.summary || {};
  dl($("summary"), [["Reason", summary.reason], ["Intents", summary.intents],
    ["FAQ answers given", (summary.faq_answers || []).map((a) => (typeof a === "string" ? a : a.question || a.faq_id || JSON.stringify(a)))],
    ["What failed", (summary.failures || []).map((f) => (typeof f === "string" ? f : f.text || JSON.stringify(f)))]]);
  renderSentiment(packet.sentiment || {});
  renderTickets(packet.open_tickets || []);
  renderPast(packet.past_conversations || []);
  $("customer-panel").classList.remove("hidden");
}

/** The "New ticket from this chat" form: the transcript (without internal notes) is its description. */
export function initTicketForm() {
  $("ticket-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.packet) return;
    const c = state.packet.conversation || {};
    const contact = state.packet.contact || {};
    const lines = state.packet.transcript.filter((m) => !m.internal).map((m) => m.role + ": " + m.text);
    try {
      const ticket = await api("POST", "/api/v1/tickets", {
        subject: $("ticket-subject").value,
        description: lines.join("\n").slice(-20000),
        priority: $("ticket-priority").value,
        contact_id: contact.id || c.contact_id || null,
        conversation_id: c.id || state.current,
      }, { "Idempotency-Key": uuid() });
      $("ticket-subject").value = "";
      (state.packet.open_tickets = state.packet.open_tickets || []).push(ticket);
      renderTickets(state.packet.open_tickets);
      show($("ticket-result"), "Created " + ticket.number + ".");
    } catch (err) { show($("ticket-result"), err.message); }
  });
}
