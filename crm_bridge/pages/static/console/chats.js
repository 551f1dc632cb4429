// "My chats" (the agent's live conversations, with unread counts) and the open chat: its packet,
// transcript and customer panel, Resolve and Hand back to bot.
import { $, el, hide, show } from "../lib/dom.js";
import { api, itemsOf } from "../lib/api.js";
import { conversationUrl, fail, state, when } from "./state.js";
import { loadCanned } from "./composer.js";
import { renderCustomer } from "./customer.js";
import { setDeliveries, showTranscript } from "./transcript.js";

// Channels whose messages need no delivery (the customer's page or client reads them from kefu).
const LOCAL_CHANNELS = new Set(["api", "widget"]);

/** The list of the agent's chats. */
export function renderChats() {
  $("my-chats").replaceChildren(...[...state.chats.values()].map(({ conversation, unread }) =>
    el("li", { className: "chat-item" + (conversation.id === state.current ? " active" : ""),
      "data-conversation-id": conversation.id },
      el("button", { type: "button", className: "link open-chat", onclick: () => openChat(conversation.id) },
        el("span", { text: "Conversation " + conversation.id.slice(0, 8) }),
        el("span", { className: "badge", text: conversation.language || "?" }),
        el("span", { className: "badge channel-badge", text: conversation.channel || "?" }),
        unread ? el("span", { className: "badge unread", text: String(unread) }) : null))));
  $("chats-empty").classList.toggle("hidden", state.chats.size > 0);
}

/** Reload the agent's chats (unread counts are kept). */
export async function loadChats() {
  try {
    const page = await api("GET", "/api/v1/conversations?status=agent&assignee_id=" + state.me + "&limit=100");
    const next = new Map();
    for (const conversation of itemsOf(page)) {
      const old = state.chats.get(conversation.id);
      next.set(conversation.id, { conversation, unread: old ? old.unread : 0 });
    }
    state.chats = next;
    renderChats();
  } catch (err) { fail(err); }
}

function renderPacket(packet) {
  const c = packet.conversation || {};
  const contact = packet.contact || {};
  $("chat-title").textContent = contact.name || contact.display_name || "Visitor #" + (contact.id ?? "");
  $("chat-meta").textContent = [c.language, c.channel, c.status, "started " + when(c.started_at)]
    .filter(Boolean).join(" · ");
  const messages = packet.transcript || [];
  packet.transcript = [];   // refilled by addMessage, each message once
  showTranscript(messages);
  renderCustomer(packet);
}

/** Open a conversation: its handoff packet into the chat and the customer panel. */
export async function openChat(id) {
  try {
    const packet = await api("GET", conversationUrl(id, "/packet"));
    state.current = id;
    state.packet = packet;
    const chat = state.chats.get(id);
    if (chat) chat.unread = 0;
    $("chat-placeholder").classList.add("hidden");
    $("chat").classList.remove("hidden");
    hide($("ticket-result"));
    renderPacket(packet);
    renderChats();
    loadCanned(packet.conversation && packet.conversation.language);
    $("reply-text").focus();
  } catch (err) { fail(err); }
}

/** Refresh the delivery state of the open chat's messages (IM channels only; called every few seconds). */
export async function refreshDeliveries() {
  const c = state.packet && state.packet.conversation;
  if (!c || LOCAL_CHANNELS.has(c.channel)) return;
  const id = state.current;
  try {
    const answer = await api("GET", conversationUrl(id, "/deliveries"));
    if (id === state.current) setDeliveries(answer.deliveries || {});
  } catch (_) { /* the next tick tries again; a closed chat stops the polling */ }
}

/** Close the open chat (it left the agent) and say why. */
export function closeChat(message) {
  state.chats.delete(state.current);
  state.current = null;
  state.packet = null;
  $("chat").classList.add("hidden");
  $("customer-panel").classList.add("hidden");
  show($("chat-placeholder"), message);
  renderChats();
}

async function finish(action, message) {
  if (!state.current) return;
  try {
    await api("POST", conversationUrl(state.current, "/" + action));
    closeChat(message);
  } catch (err) { fail(err); }
}

/** Wire Resolve and Hand back to bot. */
export function initChatActions() {
  $("resolve-btn").addEventListener("click", () => finish("resolve", "Resolved: the customer was asked to rate the conversation."));
  $("handback-btn").addEventListener("click", () => finish("handback", "Handed back to the bot."));
}
