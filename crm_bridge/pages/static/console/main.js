// kefu agent console (ES modules, no build step): the queue, the agent's chats, the open chat with the
// customer panel, live over the agent WebSocket. Talks to /api/v1/agent/* with the session cookie.
import { $ } from "../lib/dom.js";
import { configure } from "./state.js";
import { initPresence } from "./presence.js";
import { loadQueue, renderQueue } from "./queue.js";
import { initChatActions, loadChats, refreshDeliveries } from "./chats.js";
import { initComposer } from "./composer.js";
import { initTicketForm } from "./customer.js";
import { renderSla } from "./transcript.js";
import { connect } from "./socket.js";

configure($("console"));
initPresence();
initComposer();
initChatActions();
initTicketForm();
setInterval(() => { renderQueue(); renderSla(); }, 1000);   // the waits and the timer tick
setInterval(refreshDeliveries, 4000);   // sent / delivered / failed of the open IM chat's messages
loadQueue();
loadChats();
connect();
