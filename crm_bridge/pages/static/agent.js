// kefu agent console, canned replies and agents' load pages. Talks to /api/v1/agent/* with the session
// cookie and listens on the agent WebSocket. Every piece of data reaches the page through textContent or
// attributes, never innerHTML. Wrapped in a function: admin.js shares the page's global scope.
(function () {
  "use strict";

  const AGENT = "/api/v1/agent";
  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const show = (node, text) => { node.textContent = text; node.classList.remove("hidden"); };
  const hide = (node) => { node.textContent = ""; node.classList.add("hidden"); };
  const itemsOf = (data) => (Array.isArray(data) ? data : (data && data.items) || []);
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());

  async function api(method, url, body, headers) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) {
      window.location.assign("/admin/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("your session has ended");
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const err = data && data.error;
      throw Object.assign(new Error(err && err.message ? err.message : "HTTP " + response.status),
        { status: response.status });
    }
    return data;
  }

  const clock = (seconds) => {
    const s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  };
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
  const seconds = (iso) => (iso ? (Date.now() - new Date(iso).getTime()) / 1000 : 0);

  // ---- the console --------------------------------------------------------------------------------
  function initConsole() {
    const root = $("console");
    const me = Number(root.dataset.userId);
    const SLA = Number(root.dataset.slaSeconds) || 120;
    const state = {
      queue: [],            // items of the last queue frame, with the time they arrived
      queueAt: Date.now(),
      chats: new Map(),     // conversation id -> {conversation, unread}
      current: null,        // open conversation id
      packet: null,
      shown: new Set(),     // message ids in the open transcript
      canned: [],
    };
    const error = (err) => show($("console-error"), err.message || String(err));

    // -- presence
    const toggle = $("online-toggle");
    const setOnlineLabel = (online) => {
      toggle.checked = online;
      $("online-label").textContent = online ? "Online" : "Offline";
    };
    api("GET", "/api/v1/auth/me").then((user) => setOnlineLabel(Boolean(user.online)), error);
    toggle.addEventListener("change", async () => {
      try {
        const result = await api("POST", AGENT + "/status", { online: toggle.checked });
        setOnlineLabel(result && "online" in result ? Boolean(result.online) : toggle.checked);
      } catch (err) { setOnlineLabel(!toggle.checked); error(err); }
    });

    // -- queue
    function renderQueue() {
      const list = $("queue-list");
      const elapsed = (Date.now() - state.queueAt) / 1000;
      list.replaceChildren(...state.queue.map((item) => {
        const waited = Number(item.waiting_seconds || 0) + elapsed;
        const breached = waited > SLA;
        return el("li", { className: "queue-item" + (breached ? " breach" : ""),
          "data-conversation-id": item.conversation_id },
          el("div", { className: "line" },
            el("strong", { text: item.contact_name || "Visitor" }),
            el("span", { className: "badge", text: item.language || "?" }),
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
    async function loadQueue() {
      try {
        state.queue = itemsOf(await api("GET", AGENT + "/queue"));
        state.queueAt = Date.now();
        renderQueue();
      } catch (err) { error(err); }
    }

    async function accept(id) {
      try {
        await api("POST", AGENT + "/conversations/" + encodeURIComponent(id) + "/accept");
        state.queue = state.queue.filter((item) => item.conversation_id !== id);
        renderQueue();
        await loadChats();
        await openChat(id);
      } catch (err) { error(err); loadQueue(); }
    }

    // -- my chats
    function renderChats() {
      const list = $("my-chats");
      list.replaceChildren(...[...state.chats.values()].map(({ conversation, unread }) =>
        el("li", { className: "chat-item" + (conversation.id === state.current ? " active" : ""),
          "data-conversation-id": conversation.id },
          el("button", { type: "button", className: "link open-chat", onclick: () => openChat(conversation.id) },
            el("span", { text: "Conversation " + conversation.id.slice(0, 8) }),
            el("span", { className: "badge", text: conversation.language || "?" }),
            unread ? el("span", { className: "badge unread", text: String(unread) }) : null))));
      $("chats-empty").classList.toggle("hidden", state.chats.size > 0);
    }
    async function loadChats() {
      try {
        const page = await api("GET", "/api/v1/conversations?status=agent&assignee_id=" + me + "&limit=100");
        const next = new Map();
        for (const conversation of itemsOf(page)) {
          const old = state.chats.get(conversation.id);
          next.set(conversation.id, { conversation, unread: old ? old.unread : 0 });
        }
        state.chats = next;
        renderChats();
      } catch (err) { error(err); }
    }

    // -- the open chat
    function messageItem(msg) {
      const who = msg.internal ? "Internal note" : { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" }[msg.role] || msg.role;
      return el("li", { className: "msg msg-" + msg.role + (msg.internal ? " internal" : ""), "data-id": String(msg.id) },
        el("span", { className: "who", text: who + " · " + (msg.created_at ? new Date(msg.created_at).toLocaleTimeString() : "") }),
        el("span", { className: "text", text: String(msg.text ?? "") }));
    }
    function addMessage(msg) {
      const id = Number(msg.id);
      if (state.shown.has(id)) return;
      state.shown.add(id);
      const transcript = $("transcript");
      const item = messageItem(msg);
      let before = null;
      for (const node of transcript.children) if (Number(node.dataset.id) > id) { before = node; break; }
      transcript.insertBefore(item, before);
      transcript.scrollTop = transcript.scrollHeight;
      if (state.packet) state.packet.transcript.push(msg);
      if (msg.role === "customer") $("customer-typing").classList.add("hidden");
      renderSla();
    }

    function dl(target, pairs) {
      target.replaceChildren(...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
        .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: Array.isArray(v) ? v.join(", ") || "—" : String(v) })]));
    }

    function renderPacket(packet) {
      const c = packet.conversation || {};
      const contact = packet.contact || {};
      $("chat-title").textContent = contact.name || contact.display_name || "Visitor #" + (contact.id ?? "");
      $("chat-meta").textContent = [c.language, c.channel, c.status, "started " + when(c.started_at)]
        .filter(Boolean).join(" · ");
      const transcript = $("transcript");
      transcript.replaceChildren();
      state.shown.clear();
      const messages = packet.transcript || [];
      packet.transcript = [];
      for (const msg of messages) addMessage(msg);
      dl($("profile"), [["Name", contact.name], ["Email", contact.email], ["Phone", contact.phone],
        ["Language", contact.preferred_language || c.language], ["Tier", contact.tier],
        ["Tags", contact.tags], ["Customer since", contact.created_at ? when(contact.created_at) : null]]);
      const summary = packet.summary || {};
      dl($("summary"), [["Reason", summary.reason], ["Intents", summary.intents],
        ["FAQ answers given", (summary.faq_answers || []).map((a) => (typeof a === "string" ? a : a.question || a.faq_id || JSON.stringify(a)))],
        ["What failed", (summary.failures || []).map((f) => (typeof f === "string" ? f : f.text || JSON.stringify(f)))]]);
      const sentiment = packet.sentiment || {};
      $("sentiment").replaceChildren(...(sentiment.trend || []).map((point) =>
        el("li", { className: "dot sentiment-" + (point.label || "neutral"),
          title: (point.label || "?") + (point.score !== null && point.score !== undefined ? " " + Number(point.score).toFixed(2) : ""),
          text: point.label ? point.label[0].toUpperCase() : "?" })));
      if (sentiment.average !== null && sentiment.average !== undefined) {
        $("sentiment").append(el("li", { className: "avg", text: "avg " + Number(sentiment.average).toFixed(2) }));
      }
      renderTickets(packet.open_tickets || []);
      $("past-conversations").replaceChildren(...(packet.past_conversations || []).map((p) =>
        el("li", {}, el("span", { text: when(p.started_at) + " · " + (p.status || "") + " · " + (p.channel || "") }),
          p.summary || p.last_message ? el("div", { className: "muted", text: String(p.summary || p.last_message) }) : null)));
      if (!(packet.past_conversations || []).length) $("past-conversations").append(el("li", { className: "muted", text: "None." }));
      $("customer-panel").classList.remove("hidden");
    }

    function renderTickets(tickets) {
      const list = $("open-tickets");
      list.replaceChildren(...tickets.map((t) => {
        const select = el("select", { "aria-label": "Status of " + t.number },
          ...["new", "open", "pending", "resolved", "closed"].map((s) => el("option", { value: s, text: s })));
        select.value = t.status;
        return el("li", { className: "ticket", "data-number": t.number },
          el("strong", { text: t.number }), " ", el("span", { text: t.subject }),
          el("span", { className: "muted", text: " · " + (t.priority || "") }),
          el("div", { className: "row-inline" }, select,
            el("button", { type: "button", text: "Update", onclick: async () => {
              try {
                const updated = await api("PATCH", "/api/v1/tickets/" + encodeURIComponent(t.number), { status: select.value });
                show($("ticket-result"), t.number + " is now " + updated.status + ".");
              } catch (err) { show($("ticket-result"), err.message); }
            } })));
      }));
      if (!tickets.length) list.append(el("li", { className: "muted", text: "None." }));
    }

    function renderSla() {
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
      const breached = took > SLA;
      timer.className = "sla " + (breached ? "breach" : answeredAt ? "met" : "running");
      timer.textContent = answeredAt
        ? "First response in " + clock(took) + (breached ? " — SLA breached" : " — within SLA")
        : "First response due: " + clock(took) + " / " + clock(SLA) + (breached ? " — SLA breached" : "");
    }

    async function openChat(id) {
      try {
        const packet = await api("GET", AGENT + "/conversations/" + encodeURIComponent(id) + "/packet");
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
      } catch (err) { error(err); }
    }

    function closeChat(message) {
      state.chats.delete(state.current);
      state.current = null;
      state.packet = null;
      $("chat").classList.add("hidden");
      $("customer-panel").classList.add("hidden");
      show($("chat-placeholder"), message);
      renderChats();
    }

    // -- replying
    const replyText = $("reply-text");
    $("reply-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = replyText.value.trim();
      if (!text || !state.current) return;
      const internal = $("reply-internal").checked;
      $("reply-send").disabled = true;
      try {
        const msg = await api("POST", AGENT + "/conversations/" + encodeURIComponent(state.current) + "/messages",
          { text, internal });
        replyText.value = "";
        $("reply-internal").checked = false;
        if (msg && msg.id !== undefined) addMessage({ role: "agent", internal, ...msg });
        sendTyping(false);
      } catch (err) { error(err); } finally { $("reply-send").disabled = false; }
    });
    replyText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("reply-form").requestSubmit();
      }
    });
    let typingTimer = null;
    let typingOn = false;
    function sendTyping(on) {
      if (!state.current || typingOn === on || $("reply-internal").checked) return;
      typingOn = on;
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "typing", conversation_id: state.current, typing: on }));
      }
    }
    replyText.addEventListener("input", () => {
      sendTyping(true);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => sendTyping(false), 2500);
    });

    // -- canned replies
    async function loadCanned(language) {
      const select = $("canned-select");
      try {
        const query = language ? "?language=" + encodeURIComponent(language) : "";
        state.canned = itemsOf(await api("GET", AGENT + "/canned-replies" + query));
      } catch (_) { state.canned = []; }
      select.replaceChildren(el("option", { value: "", text: "Canned replies…" }),
        ...state.canned.map((c) => el("option", { value: String(c.id), text: c.title + " (" + c.language + ")" })));
    }
    $("canned-select").addEventListener("change", (event) => {
      const reply = state.canned.find((c) => String(c.id) === event.target.value);
      if (reply) {
        replyText.value = replyText.value ? replyText.value + " " + reply.text : reply.text;
        replyText.focus();
      }
      event.target.value = "";
    });

    // -- resolve / hand back / ticket
    async function finish(action, message) {
      if (!state.current) return;
      try {
        await api("POST", AGENT + "/conversations/" + encodeURIComponent(state.current) + "/" + action);
        closeChat(message);
      } catch (err) { error(err); }
    }
    $("resolve-btn").addEventListener("click", () => finish("resolve", "Resolved: the customer was asked to rate the conversation."));
    $("handback-btn").addEventListener("click", () => finish("handback", "Handed back to the bot."));

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

    // -- the agent WebSocket
    let socket = null;
    let attempt = 0;
    function connect() {
      const url = new URL("/api/v1/agent/ws", window.location.href);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(url.toString());
      socket = ws;
      ws.addEventListener("open", () => {
        attempt = 0;
        $("ws-state").textContent = "live";
        $("ws-state").className = "conn-state live";
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
      ws.addEventListener("close", () => clearInterval(heartbeat));
      ws.addEventListener("close", (event) => {
        if (ws !== socket) return;
        $("ws-state").textContent = "reconnecting…";
        $("ws-state").className = "conn-state down";
        if (event.code === 4401 || event.code === 4403) {
          window.location.assign("/admin/login?next=" + encodeURIComponent(window.location.pathname));
          return;
        }
        const ceiling = Math.min(30000, 500 * 2 ** attempt++);
        setTimeout(connect, ceiling / 2 + Math.random() * ceiling / 2);
      });
    }
    function onFrame(frame) {
      switch (frame.type) {
        case "queue":
          state.queue = frame.items || [];
          state.queueAt = Date.now();
          renderQueue();
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
    setInterval(() => {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
    }, 25000);
    setInterval(() => { renderQueue(); renderSla(); }, 1000);
    loadQueue();
    loadChats();
    connect();
  }

  // ---- canned replies (admins) ----------------------------------------------------------------------
  function initCanned() {
    const URL_ = AGENT + "/canned-replies";
    const tbody = document.querySelector("#canned-table tbody");
    let items = [];
    function resetForm() {
      $("canned-id").value = "";
      $("canned-title").value = "";
      $("canned-text").value = "";
      $("canned-form-title").textContent = "New canned reply";
      $("canned-cancel").classList.add("hidden");
    }
    async function load() {
      const language = $("canned-filter").value;
      try {
        items = itemsOf(await api("GET", URL_ + (language ? "?language=" + language : "")));
      } catch (err) { show($("canned-error"), err.message); return; }
      tbody.replaceChildren(...items.map((c) => el("tr", { "data-canned-id": String(c.id) },
        el("td", { text: c.title }), el("td", { text: c.language }), el("td", { className: "question", text: c.text }),
        el("td", {},
          el("button", { type: "button", className: "edit", text: "Edit", onclick: () => {
            $("canned-id").value = String(c.id);
            $("canned-title").value = c.title;
            $("canned-text").value = c.text;
            $("canned-language").value = c.language;
            $("canned-form-title").textContent = "Edit canned reply";
            $("canned-cancel").classList.remove("hidden");
          } }), " ",
          el("button", { type: "button", className: "delete", text: "Delete", onclick: async () => {
            if (!window.confirm("Delete the canned reply \u201c" + c.title + "\u201d?")) return;
            try { await api("DELETE", URL_ + "/" + c.id); load(); } catch (err) { show($("canned-error"), err.message); }
          } })))));
      $("canned-empty").classList.toggle("hidden", items.length > 0);
    }
    $("canned-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      hide($("canned-error"));
      const body = { title: $("canned-title").value, text: $("canned-text").value, language: $("canned-language").value };
      const id = $("canned-id").value;
      try {
        if (id) {
          try { await api("PATCH", URL_ + "/" + id, body); } catch (err) {
            if (err.status !== 405) throw err;
            await api("PUT", URL_ + "/" + id, body);
          }
        } else {
          await api("POST", URL_, body);
        }
        resetForm();
        load();
      } catch (err) { show($("canned-error"), err.message); }
    });
    $("canned-cancel").addEventListener("click", resetForm);
    $("canned-filter").addEventListener("change", load);
    load();
  }

  // ---- agents' load (admins) --------------------------------------------------------------------------
  function initLoad() {
    const tbody = document.querySelector("#load-table tbody");
    async function load() {
      try {
        const rows = itemsOf(await api("GET", AGENT + "/load"));
        hide($("load-error"));
        tbody.replaceChildren(...rows.map((a) => {
          const active = Number(a.active_chats ?? a.active ?? 0);
          const limit = Number(a.limit ?? a.max_concurrent_chats ?? 0);
          const full = limit > 0 && active >= limit;
          return el("tr", { "data-username": a.username || "" , className: full ? "full" : "" },
            el("td", { text: a.display_name ? a.display_name + " (" + a.username + ")" : a.username }),
            el("td", { text: a.role || "" }),
            el("td", { text: (a.languages || []).join(", ") }),
            el("td", {}, el("span", { className: "badge " + (a.online ? "badge-published" : ""), text: a.online ? "online" : "offline" })),
            el("td", { className: "num active-chats", text: String(active) }),
            el("td", { className: "num", text: String(limit) }),
            el("td", {}, el("meter", { min: "0", max: String(limit || 1), value: String(active),
              "aria-label": active + " of " + limit + " chats" })));
        }));
        $("load-updated").textContent = "updated " + new Date().toLocaleTimeString();
      } catch (err) { show($("load-error"), err.message); }
    }
    load();
    setInterval(load, 5000);
  }

  const PAGES = { "agent-console": initConsole, "agent-canned": initCanned, "agent-load": initLoad };
  document.addEventListener("DOMContentLoaded", () => (PAGES[document.body.dataset.page] || (() => {}))());
})();
