// Replying: the reply box (Enter sends, Shift+Enter a new line), internal notes, the agent's typing
// indicator for the customer, and the canned replies in the conversation's language.
import { $, el } from "../lib/dom.js";
import { api, itemsOf } from "../lib/api.js";
import { AGENT, conversationUrl, fail, state } from "./state.js";
import { addMessage } from "./transcript.js";

let typingTimer = null;
let typingOn = false;

/** Tell the customer whether the agent is typing (never while writing an internal note). */
function sendTyping(on) {
  if (!state.current || typingOn === on || $("reply-internal").checked) return;
  typingOn = on;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "typing", conversation_id: state.current, typing: on }));
  }
}

/** The canned replies for `language` into the picker. */
export async function loadCanned(language) {
  try {
    const query = language ? "?language=" + encodeURIComponent(language) : "";
    state.canned = itemsOf(await api("GET", AGENT + "/canned-replies" + query));
  } catch (_) { state.canned = []; }
  $("canned-select").replaceChildren(el("option", { value: "", text: "Canned replies…" }),
    ...state.canned.map((c) => el("option", { value: String(c.id), text: c.title + " (" + c.language + ")" })));
}

/** Wire the reply form, the typing indicator and the canned-reply picker. */
export function initComposer() {
  const replyText = $("reply-text");
  // Replies go out one after another, in the order written; the box is emptied at once, so what the
  // agent types while one is sending is theirs (clearing it after the send wiped the next reply).
  let sending = Promise.resolve();
  $("reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = replyText.value.trim();
    const conversation = state.current;
    if (!text || !conversation) return;
    const internal = $("reply-internal").checked;
    replyText.value = "";
    $("reply-internal").checked = false;
    sending = sending.then(async () => {
      try {
        const msg = await api("POST", conversationUrl(conversation, "/messages"), { text, internal });
        if (msg && msg.id !== undefined && state.current === conversation) {
          addMessage({ role: "agent", internal, ...msg });
        }
        sendTyping(false);
      } catch (err) {
        if (!replyText.value && state.current === conversation) replyText.value = text; // not lost
        fail(err);
      }
    });
  });
  replyText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
  replyText.addEventListener("input", () => {
    sendTyping(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => sendTyping(false), 2500);
  });
  $("canned-select").addEventListener("change", (event) => {
    const reply = state.canned.find((c) => String(c.id) === event.target.value);
    if (reply) {
      replyText.value = replyText.value ? replyText.value + " " + reply.text : reply.text;
      replyText.focus();
    }
    event.target.value = "";
  });
}
