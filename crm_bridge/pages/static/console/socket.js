// The agent WebSocket: queue pushes, live messages, the customer's typing and status changes;
// reconnects with backoff and catches up on what arrived while it was away.
import { $ } from "../lib/dom.js";
import { loginRedirect } from "../lib/api.js";
import { state } from "./state.js";
import { loadQueue, setQueue } from "./queue.js";
import { closeChat, loadChats, openChat, renderChats } from "./chats.js";
import { addMessage } from "./transcript.js";

let attempt = 0;

function setState(text, className) {
  $("ws-state").textContent = text;
  $("ws-state").className = "conn-state " + className;
}

function onFrame(frame) {
  switch (frame.type) {
    case "queue":
      setQueue(frame.items || []);
      break;
    case "message":
      if (frame.conversation_id === state.current) addMessage(frame);
      else if (state.chats.has(frame.conversation_id) && frame.role === "customer") {
        state.chats.get(frame.conversation_id).unread += 1;
        renderChats();
      }
      break;
    case "typing":
      if (frame.conversation_id === state.current) {
        $("customer-typing").classList.toggle("hidden", !frame.typing);
      }
      break;
    case "status":
      if (frame.conversation_id === state.current && frame.status !== "agent") {
        closeChat("The conversation is now " + frame.status + ".");
      }
      loadChats();
      break;
    default: break;
  }
}

/** Open the agent WebSocket (and again after it drops, with exponential backoff and jitter). */
export function connect() {
  const url = new URL("/api/v1/agent/ws", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url.toString());
  state.socket = ws;
  ws.addEventListener("open", () => {
    attempt = 0;
    setState("live", "live");
    loadQueue();
    loadChats();
    if (state.current) openChat(state.current);   // catch up on what arrived while away
  });
  ws.addEventListener("message", (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch (_) { return; }
    onFrame(frame);
  });
  // A ping every 20 s tells the server this console is still open (an agent whose console goes
  // quiet for KEFU_AGENT_AWAY_SECONDS takes no new chats).
  const heartbeat = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
  }, 20000);
  ws.addEventListener("close", (event) => {
    clearInterval(heartbeat);
    if (ws !== state.socket) return;
    setState("reconnecting…", "down");
    if (event.code === 4401 || event.code === 4403) { loginRedirect(); return; }
    const ceiling = Math.min(30000, 500 * 2 ** attempt++);
    setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
  });
}
