// What the agent console's modules share: who is logged in, the SLA, the queue, the chats, the open one.
import { $, show } from "../lib/dom.js";

export const AGENT = "/api/v1/agent";

export const state = {
  me: 0,                // the agent's user id
  sla: 120,             // first-response target, seconds
  queue: [],            // items of the last queue frame, with the time they arrived
  queueAt: Date.now(),
  chats: new Map(),     // conversation id -> {conversation, unread}
  current: null,        // open conversation id
  packet: null,         // the open conversation's handoff packet
  shown: new Set(),     // message ids in the open transcript
  canned: [],           // canned replies in the open conversation's language
  socket: null,         // the agent WebSocket
};

/** Read the agent's id and the SLA from the console element's data attributes. */
export function configure(root) {
  state.me = Number(root.dataset.userId);
  state.sla = Number(root.dataset.slaSeconds) || 120;
}

/** Show an error on the console's error line. */
export const fail = (err) => show($("console-error"), err.message || String(err));

/** "/api/v1/agent/conversations/<id><path>". */
export const conversationUrl = (id, path) => AGENT + "/conversations/" + encodeURIComponent(id) + path;

/** m:ss */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

/** A timestamp in the browser's locale, or a dash. */
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
