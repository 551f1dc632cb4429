// kefu agents' load page (admins, an ES module): who is online, active chats against each one's limit,
// refreshed every 5 seconds.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";

const tbody = document.querySelector("#load-table tbody");

function row(a) {
  const active = Number(a.active_chats ?? a.active ?? 0);
  const limit = Number(a.limit ?? a.max_concurrent_chats ?? 0);
  const full = limit > 0 && active >= limit;
  return el("tr", { "data-username": a.username || "", className: full ? "full" : "" },
    el("td", { text: a.display_name ? a.display_name + " (" + a.username + ")" : a.username }),
    el("td", { text: a.role || "" }),
    el("td", { text: (a.languages || []).join(", ") }),
    el("td", {}, el("span", { className: "badge " + (a.online ? "badge-published" : ""), text: a.online ? "online" : "offline" })),
    el("td", { className: "num active-chats", text: String(active) }),
    el("td", { className: "num", text: String(limit) }),
    el("td", {}, el("meter", { min: "0", max: String(limit || 1), value: String(active),
      "aria-label": active + " of " + limit + " chats" })));
}

async function load() {
  try {
    const rows = itemsOf(await api("GET", "/api/v1/agent/load"));
    hide($("load-error"));
    tbody.replaceChildren(...rows.map(row));
    $("load-updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) { show($("load-error"), err.message); }
}

load();
setInterval(load, 5000);
