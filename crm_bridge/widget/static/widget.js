// kefu website chat widget. Embed with one tag:
//   <script src="https://kefu.example/widget.js" data-api="https://kefu.example" data-lang="zh"
//           data-title="Maple Market" defer></script>
// Plain JavaScript, no build step, no external downloads. Every piece of text from the server or the
// customer reaches the page through textContent, never innerHTML. Protocol: docs/widget.md.
// crm_bridge serves it after static/lang.js (detectLanguage, the one language rule), both in one closure.
// Over 300 lines on purpose: a third-party page loads it as one classic script (no modules, no build step),
// so the texts, the socket protocol and the UI stay in this one file.
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || window.__kefuWidgetLoaded) return;
  window.__kefuWidgetLoaded = true;

  // ---- configuration ----------------------------------------------------------------------------
  const scriptUrl = new URL(script.src, window.location.href);
  const API = (script.dataset.api || scriptUrl.origin).replace(/\/+$/, "");
  const pickLang = (value) => (String(value || "").toLowerCase().startsWith("zh") ? "zh" : "en");
  const LANG = pickLang(script.dataset.lang || navigator.language || (navigator.languages || [])[0]);
  const STORE = "kefu-widget:" + API + ":";
  const MAX_TEXT = 4000;

  const TEXTS = {
    en: {
      open: "Chat with us", close: "Close chat", title: "Customer service", send: "Send",
      placeholder: "Type your message…", log: "Conversation", connecting: "Connecting…",
      reconnecting: "Connection lost, reconnecting…", typingBot: "The assistant is typing…",
      typingAgent: "The agent is typing…", queued: "You are number {n} in the queue.",
      queuedNoPos: "Waiting for an agent.", wait: "Estimated wait: about {m} min.",
      waitShort: "Estimated wait: under a minute.", agent: "You are chatting with {name}.",
      agentAnon: "You are chatting with an agent.", resolved: "This conversation has been resolved.",
      csat: "How did we do?", csatStar: "Rate {n} out of 5", csatComment: "Anything to add? (optional)",
      csatSend: "Send rating", csatThanks: "Thank you for your feedback!", sending: "sending…",
      you: "You", bot: "Assistant", agentRole: "Agent", system: "Notice", tooLong: "Message too long.",
      quick: "Suggested replies",
    },
    zh: {
      open: "在线客服", close: "关闭对话", title: "在线客服", send: "发送",
      placeholder: "请输入您的问题…", log: "对话记录", connecting: "正在连接…",
      reconnecting: "连接中断，正在重新连接…", typingBot: "智能助手正在输入…",
      typingAgent: "客服正在输入…", queued: "您前面还有 {n} 位，正在为您排队。",
      queuedNoPos: "正在为您转接人工客服。", wait: "预计等待约 {m} 分钟。",
      waitShort: "预计等待不到 1 分钟。", agent: "客服 {name} 正在为您服务。",
      agentAnon: "人工客服正在为您服务。", resolved: "本次对话已结束。",
      csat: "请为本次服务评分", csatStar: "{n} 分（满分 5 分）", csatComment: "还有什么想告诉我们的吗？（选填）",
      csatSend: "提交评分", csatThanks: "感谢您的评价！", sending: "发送中…",
      you: "我", bot: "智能助手", agentRole: "客服", system: "提示", tooLong: "消息太长了。",
      quick: "快捷回复",
    },
  };
  const T = TEXTS[LANG];
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.hidden { display: none !important; }
div, section, p, ol, li, span, h2, header, form, button, textarea {
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "PingFang SC", sans-serif;
  font-size: 15px; line-height: 1.4; color: #1f2933; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;
  padding: 12px 20px; background: #b4432b; color: #fff; font-weight: 600; cursor: pointer;
  box-shadow: 0 6px 20px rgba(0,0,0,.25); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.panel { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 370px; height: min(600px, calc(100vh - 40px));
  display: flex; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;
  box-shadow: 0 12px 40px rgba(0,0,0,.3); }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px;
  background: #b4432b; }
header h2 { margin: 0; font-size: 16px; font-weight: 700; color: #fff; }
.close { border: 0; background: transparent; color: #fff; font-size: 24px; line-height: 1; cursor: pointer;
  min-width: 44px; min-height: 44px; }
.conn { margin: 0; padding: 6px 14px; background: #fff7ed; color: #9a3412; font-size: 13px; }
.banner { margin: 0; padding: 8px 14px; background: #eff6ff; color: #1e3a8a; font-size: 14px; }
.log { flex: 1; overflow-y: auto; margin: 0; padding: 12px; list-style: none; display: flex;
  flex-direction: column; gap: 8px; background: #f7f4f1; }
.msg { max-width: 85%; padding: 8px 11px; border-radius: 12px; background: #fff; white-space: pre-wrap;
  overflow-wrap: anywhere; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.msg .who { display: block; font-size: 11px; color: #6b7785; margin-bottom: 2px; }
.msg-customer { align-self: flex-end; background: #b4432b; }
.msg-customer .text, .msg-customer .who, .msg-customer .state { color: #fff; }
.msg-agent { background: #ecfdf5; }
.msg-system { align-self: center; background: #eef2f7; font-size: 13px; }
.pending { opacity: .7; }
.state { display: block; font-size: 11px; }
.typing { margin: 0; padding: 4px 14px; font-size: 13px; color: #6b7785; font-style: italic; }
.quick { display: flex; flex-wrap: wrap; gap: 6px; padding: 0 12px; }
.quick:not(:empty) { padding: 8px 12px; }
.reply { border: 1px solid #b4432b; color: #b4432b; background: #fff; border-radius: 999px; padding: 6px 12px;
  cursor: pointer; min-height: 36px; }
.csat { padding: 10px 14px; border-top: 1px solid #e5e7eb; }
.csat p { margin: 0 0 6px; font-weight: 600; }
.stars { display: flex; gap: 6px; margin-bottom: 6px; }
.star { flex: 1; min-height: 40px; border: 1px solid #c5cdd6; border-radius: 8px; background: #fff; cursor: pointer; }
.star[aria-pressed="true"] { background: #f59e0b; border-color: #d97706; color: #fff; }
.comment { width: 100%; border: 1px solid #c5cdd6; border-radius: 8px; padding: 6px; margin-bottom: 6px; resize: none; }
.csat-send, .send { border: 0; border-radius: 8px; padding: 8px 14px; background: #b4432b; color: #fff;
  cursor: pointer; font-weight: 600; min-height: 40px; }
button:disabled { opacity: .5; cursor: default; }
.composer { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; }
.input { flex: 1; border: 1px solid #c5cdd6; border-radius: 8px; padding: 9px; resize: none; min-height: 40px; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }
  .launcher { right: 12px; bottom: 12px; }
}
`;

  // ---- storage (localStorage may be unavailable: private mode, blocked cookies) -----------------
  const store = {
    get(key) {
      try { return window.localStorage.getItem(STORE + key); } catch (_) { return null; }
    },
    set(key, value) {
      try { window.localStorage.setItem(STORE + key, value); } catch (_) { /* memory only */ }
    },
    json(key, fallback) {
      try { return JSON.parse(this.get(key)) ?? fallback; } catch (_) { return fallback; }
    },
  };

  const uuid = () =>
    window.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);

  // ---- state --------------------------------------------------------------------------------------
  let token = store.get("token");
  let conversationId = null;
  let lastId = 0;                               // largest message id shown
  const shown = new Map();                       // message id -> element (dedupe by id)
  const pending = new Map();                     // client_id -> element of a message not yet acked
  let outbox = store.json("outbox", []);         // [{client_id, text, title}] until acked
  const buttonTitles = new Map();                // payload -> title, to show titles for sent payloads
  let ws = null;
  let attempt = 0;
  let reconnectTimer = null;
  let heartbeat = null;
  let lastFrameAt = 0;
  let pendingRating = null;
  let typingSent = false;
  let typingTimer = null;
  let peerTypingTimer = null;

  const saveOutbox = () => store.set("outbox", JSON.stringify(outbox));

  // ---- DOM (a shadow root keeps the host page's styles out and ours in) -------------------------
  // Its own el, not pages/static/lib/dom.js: the widget must stay one classic script (document.currentScript).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const langTag = (language) => (language === "zh" ? "zh-CN" : "en");   // a BCP 47 tag for `lang`
  const host = el("div", { id: "kefu-widget", lang: langTag(LANG) });
  const root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  const title = script.dataset.title || T.title;

  const launcher = el("button", { className: "launcher", type: "button", "aria-expanded": "false",
    "aria-controls": "kefu-panel", text: T.open });
  const closeBtn = el("button", { className: "close", type: "button", "aria-label": T.close, text: "×" });
  const conn = el("p", { className: "conn", role: "status", text: T.connecting });
  const banner = el("p", { className: "banner hidden", role: "status", "aria-live": "polite" });
  const log = el("ol", { className: "log", role: "log", "aria-live": "polite", "aria-label": T.log });
  const typing = el("p", { className: "typing hidden", "aria-live": "polite" });
  const quick = el("div", { className: "quick", role: "group", "aria-label": T.quick });
  const csat = el("section", { className: "csat hidden", "aria-label": T.csat });
  const input = el("textarea", { className: "input", rows: "1", maxlength: String(MAX_TEXT),
    placeholder: T.placeholder, "aria-label": T.placeholder });
  const sendBtn = el("button", { className: "send", type: "submit", text: T.send });
  const form = el("form", { className: "composer" }, input, sendBtn);
  const panel = el("section", { className: "panel hidden", id: "kefu-panel", role: "dialog",
    "aria-label": title },
    el("header", {}, el("h2", { text: title }), closeBtn), conn, banner, log, typing, quick, csat, form);
  root.append(panel, launcher);

  // Constructed style sheets are not inline styles, so a host page's strict CSP does not block them.
  function injectStyle() {
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.prepend(el("style", { text: CSS }));
    }
  }

  function setOpen(open) {
    panel.classList.toggle("hidden", !open);
    launcher.classList.toggle("hidden", open);
    launcher.setAttribute("aria-expanded", String(open));
    store.set("open", open ? "1" : "0");
    if (open) { scrollDown(); input.focus(); }
  }
  launcher.addEventListener("click", () => setOpen(true));
  closeBtn.addEventListener("click", () => { setOpen(false); launcher.focus(); });

  const scrollDown = () => { log.scrollTop = log.scrollHeight; };
  const roleName = { customer: T.you, bot: T.bot, agent: T.agentRole, system: T.system };

  // A bubble's `lang` is its text's language (screen readers' voice, CJK font choice); the name above it
  // and "sending…" stay in the widget's language.
  function bubble(role, text, extra) {
    return el("li", { className: "msg msg-" + role, lang: langTag(detectLanguage(text, LANG)) },
      el("span", { className: "who", lang: langTag(LANG), text: (extra && extra.name) || roleName[role] || role }),
      el("span", { className: "text", text }));
  }

  // Messages are kept in id order; unacknowledged ones (no id yet) stay at the end.
  function place(item, id) {
    let before = null;
    for (const node of log.children) {
      const other = node.dataset.id ? Number(node.dataset.id) : Infinity;
      if (other > id) { before = node; break; }
    }
    log.insertBefore(item, before);
  }

  function showMessage(msg) {
    const id = Number(msg.id);
    if (msg.conversation_id) conversationId = msg.conversation_id;
    if (!Number.isFinite(id) || shown.has(id)) return;    // a replay or a resend: already shown
    if (msg.role === "customer" && adopt(msg.text, id)) return;
    for (const b of msg.buttons || []) buttonTitles.set(String(b.payload), String(b.title));
    const text = msg.role === "customer" && buttonTitles.has(msg.text) ? buttonTitles.get(msg.text) : msg.text;
    const item = bubble(msg.role, String(text ?? ""), { name: msg.agent_name });
    item.dataset.id = String(id);
    shown.set(id, item);
    place(item, id);
    lastId = Math.max(lastId, id);
    if (msg.role !== "customer") renderButtons(msg.buttons || []);
    if (msg.role === "bot" || msg.role === "agent") hideTyping();
    scrollDown();
  }

  function renderButtons(buttons) {
    quick.replaceChildren(...buttons.map((b) => el("button", {
      type: "button", className: "reply", text: String(b.title),
      onclick: () => { quick.replaceChildren(); send(String(b.payload), String(b.title)); },
    })));
  }

  function showPending(entry) {
    const item = bubble("customer", entry.title || entry.text);
    item.classList.add("pending");
    item.append(el("span", { className: "state", lang: langTag(LANG), text: T.sending }));
    item.dataset.clientId = entry.client_id;
    pending.set(entry.client_id, item);
    log.append(item);
    scrollDown();
  }

  // The server may echo our own message before its ack: the waiting bubble takes the id (no second bubble).
  function adopt(text, id) {
    const entry = outbox.find((e) => e.text === text && pending.has(e.client_id) && !pending.get(e.client_id).dataset.id);
    if (!entry) return false;
    settle(pending.get(entry.client_id), id);
    return true;
  }

  function settle(item, id) {
    item.classList.remove("pending");
    const state = item.querySelector(".state");
    if (state) state.remove();
    item.dataset.id = String(id);
    shown.set(id, item);
    item.remove();
    place(item, id);
    lastId = Math.max(lastId, id);
  }

  function acked(clientId, id) {
    outbox = outbox.filter((entry) => entry.client_id !== clientId);
    saveOutbox();
    const item = pending.get(clientId);
    pending.delete(clientId);
    if (!item || item.dataset.id) return;          // already settled by an echo of the message
    if (shown.has(id)) { item.remove(); return; }   // the replay already showed it
    settle(item, id);
  }

  function showStatus(frame) {
    const parts = [];
    if (frame.status === "queued") {
      parts.push(frame.queue_position ? fmt(T.queued, { n: frame.queue_position }) : T.queuedNoPos);
      if (frame.estimated_wait_seconds !== null && frame.estimated_wait_seconds !== undefined) {
        const minutes = Math.ceil(Number(frame.estimated_wait_seconds) / 60);
        parts.push(minutes >= 1 ? fmt(T.wait, { m: minutes }) : T.waitShort);
      }
    } else if (frame.status === "agent") {
      parts.push(frame.agent_name ? fmt(T.agent, { name: frame.agent_name }) : T.agentAnon);
    } else if (frame.status === "resolved") {
      parts.push(T.resolved);
    }
    banner.textContent = parts.join(" ");
    banner.dataset.status = frame.status || "";
    banner.classList.toggle("hidden", parts.length === 0);
  }

  function showTyping(role) {
    typing.textContent = role === "agent" ? T.typingAgent : T.typingBot;
    typing.classList.remove("hidden");
    clearTimeout(peerTypingTimer);
    peerTypingTimer = setTimeout(hideTyping, 15000);     // a lost "typing: false" must not stick
  }
  function hideTyping() { typing.classList.add("hidden"); typing.textContent = ""; }

  // ---- CSAT -------------------------------------------------------------------------------------
  function showCsat() {
    let chosen = 0;
    const stars = [1, 2, 3, 4, 5].map((n) => el("button", {
      type: "button", className: "star", "aria-pressed": "false", "aria-label": fmt(T.csatStar, { n }),
      "data-rating": String(n), text: String(n),
      onclick: () => {
        chosen = n;
        for (const s of stars) s.setAttribute("aria-pressed", String(Number(s.dataset.rating) === n));
        submit.disabled = false;
      },
    }));
    const comment = el("textarea", { className: "comment", rows: "2", maxlength: "2000",
      "aria-label": T.csatComment, placeholder: T.csatComment });
    const submit = el("button", { type: "button", className: "csat-send", text: T.csatSend,
      onclick: () => {
        if (!chosen) return;
        pendingRating = { type: "rating", rating: chosen, comment: comment.value.trim() || null };
        submit.disabled = true;
        flushRating();
      } });
    submit.disabled = true;
    csat.replaceChildren(el("p", { className: "csat-q", text: T.csat }),
      el("div", { className: "stars", role: "group", "aria-label": T.csat }, ...stars), comment, submit);
    csat.classList.remove("hidden");
    setOpen(true);
    scrollDown();
  }
  function flushRating() {
    if (pendingRating && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(pendingRating));
  }
  function rated() {
    pendingRating = null;
    csat.replaceChildren(el("p", { className: "csat-thanks", role: "status", text: T.csatThanks }));
    csat.classList.remove("hidden");
  }

  // ---- sending ----------------------------------------------------------------------------------
  function send(text, titleShown) {
    const entry = { client_id: uuid(), text, title: titleShown || null };
    outbox.push(entry);
    saveOutbox();
    showPending(entry);
    transmit(entry);
  }
  function transmit(entry) {
    if (ws && ws.readyState === WebSocket.OPEN && ws.kefuReady) {
      ws.send(JSON.stringify({ type: "message", client_id: entry.client_id, text: entry.text }));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_TEXT) { conn.textContent = T.tooLong; return; }
    input.value = "";
    stopTyping();
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (!typingSent) sendFrame({ type: "typing", typing: true });
    typingSent = true;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 2500);
  });
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) sendFrame({ type: "typing", typing: false });
    typingSent = false;
  }
  function sendFrame(frame) {
    if (ws && ws.readyState === WebSocket.OPEN && ws.kefuReady) ws.send(JSON.stringify(frame));
  }

  // ---- session, history, socket -----------------------------------------------------------------
  async function openSession() {
    const response = await fetch(API + "/api/v1/widget/session", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token || null, language: LANG }),
    });
    if (!response.ok) throw new Error("session: HTTP " + response.status);
    const data = await response.json();
    token = data.token;
    conversationId = data.conversation_id || conversationId;
    store.set("token", token);
    return data;
  }

  async function loadHistory() {
    const response = await fetch(API + "/api/v1/widget/history", {
      headers: { Authorization: "Bearer " + token },
    });
    if (!response.ok) return;
    const data = await response.json();
    for (const msg of data.messages || []) showMessage(msg);
    if (data.status) showStatus({ status: data.status });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const url = new URL(API + "/api/v1/widget/ws");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    const socket = new WebSocket(url.toString());
    ws = socket;
    socket.kefuReady = false;
    socket.addEventListener("message", (event) => {
      if (socket !== ws) return;
      lastFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      onFrame(socket, frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== ws) return;
      ws = null;
      clearInterval(heartbeat);
      conn.textContent = T.reconnecting;
      conn.classList.remove("hidden");
      scheduleReconnect(event.code === 4401);
    });
  }

  function onFrame(socket, frame) {
    switch (frame.type) {
      case "hello":
        attempt = 0;
        socket.kefuReady = true;
        conversationId = frame.conversation_id || conversationId;
        conn.classList.add("hidden");
        conn.textContent = "";
        if (frame.status) showStatus(frame);
        // Replay what we missed, then resend every message not yet acknowledged (same client_id:
        // the server stores it once and acks with the same id).
        socket.send(JSON.stringify({ type: "resume", after: lastId }));
        for (const entry of outbox) transmit(entry);
        flushRating();
        startHeartbeat(socket);
        break;
      case "ack":
        if (frame.conversation_id) conversationId = frame.conversation_id;
        acked(frame.client_id, Number(frame.id));
        break;
      case "message": showMessage(frame); break;
      case "typing":
        if (frame.typing) showTyping(frame.role); else hideTyping();
        break;
      case "status": showStatus(frame); break;
      case "csat": showCsat(); break;
      case "rated": rated(); break;
      case "error":
        conn.textContent = String(frame.message || frame.code || "error");
        conn.classList.remove("hidden");
        break;
      default: break;   // pong and anything newer
    }
  }

  function startHeartbeat(socket) {
    clearInterval(heartbeat);
    lastFrameAt = Date.now();
    heartbeat = setInterval(() => {
      if (socket !== ws) return clearInterval(heartbeat);
      if (Date.now() - lastFrameAt > 60000) { socket.close(); return; }   // silent: a dead path
      socket.send(JSON.stringify({ type: "ping" }));
    }, 25000);
  }

  // Exponential backoff with full jitter: many widgets must not reconnect in step after a restart.
  function scheduleReconnect(renewSession) {
    const ceiling = Math.min(30000, 500 * 2 ** attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    attempt = Math.min(attempt + 1, 10);
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => start(renewSession), delay);
  }

  async function start(renewSession) {
    try {
      if (renewSession || !token) await openSession();
      connect();
    } catch (_) {
      conn.textContent = T.reconnecting;
      conn.classList.remove("hidden");
      scheduleReconnect(true);
    }
  }

  window.addEventListener("online", () => { if (!ws) { attempt = 0; start(false); } });

  async function boot() {
    document.body.append(host);
    injectStyle();
    for (const entry of outbox) showPending(entry);
    if (store.get("open") === "1") setOpen(true);
    try {
      await openSession();                // rotated on every load
      await loadHistory();
      connect();
    } catch (_) {
      conn.textContent = T.reconnecting;
      scheduleReconnect(true);
    }
  }

  // A small API for the host page (and tests): open/close, the UI language, the current conversation.
  window.kefuWidget = {
    open: () => setOpen(true),
    close: () => setOpen(false),
    language: LANG,
    get conversationId() { return conversationId; },
    get connected() { return Boolean(ws && ws.kefuReady); },
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
