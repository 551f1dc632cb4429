// kefu Audit log page (admins, an ES module): GET /api/v1/audit with the form's filters, 50 entries a
// page, newest first; the CSV link carries the same filters. Every value reaches the page as text.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";

const LIMIT = 50;
const tbody = document.querySelector("#audit-table tbody");
let offset = 0;

function filters() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("audit-filters")).entries()) {
    const text = String(value).trim();
    if (!text) continue;
    // datetime-local is the browser's local time: sent as an instant, so the server needs no guess.
    params.set(name, name === "from" || name === "to" ? new Date(text).toISOString() : text);
  }
  return params;
}

function actor(entry) {
  if (entry.actor_id === null || entry.actor_id === undefined) return entry.actor_role === "service" ? "kefu service" : "anonymous";
  return (entry.actor_username || "?") + " (#" + entry.actor_id + ")";
}

function row(entry) {
  const target = entry.target_type ? entry.target_type + (entry.target_id ? " " + entry.target_id : "") : "";
  return el("tr", { "data-entry-id": String(entry.id) },
    el("td", { text: new Date(entry.at).toLocaleString() }),
    el("td", { text: actor(entry) }),
    el("td", { text: entry.actor_role || "" }),
    el("td", {}, el("code", { text: entry.action })),
    el("td", { text: target }),
    el("td", { text: entry.client_address || "" }),
    el("td", {}, el("code", { text: entry.request_id || "" })),
    el("td", {}, el("code", { text: JSON.stringify(entry.details || {}) })));
}

async function load() {
  const params = filters();
  $("audit-csv").setAttribute("href", "/api/v1/audit.csv" + (params.size ? "?" + params : ""));
  params.set("limit", String(LIMIT));
  params.set("offset", String(offset));
  try {
    const page = await api("GET", "/api/v1/audit?" + params);
    const entries = itemsOf(page);
    hide($("audit-error"));
    tbody.replaceChildren(...entries.map(row));
    const total = page.total;
    $("audit-summary").textContent = total === 0 ? "No entries match."
      : "Entries " + (offset + 1) + "–" + (offset + entries.length) + " of " + total + ", newest first.";
    $("audit-prev").disabled = offset === 0;
    $("audit-next").disabled = offset + entries.length >= total;
  } catch (err) { show($("audit-error"), err.message); }
}

$("audit-filters").addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
$("audit-prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
$("audit-next").addEventListener("click", () => { offset += LIMIT; load(); });
load();
