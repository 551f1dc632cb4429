// kefu Reports drill-down (an ES module): the conversations or tickets behind one figure, for the metric
// and filters in the URL, 50 a page (the page number is in the URL too), with the CSV export of the same
// filters. Every value reaches the page as text.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";
import { csvHref, filtersFrom, formatField, labelOf, rowValue, withQuery } from "./reports_shared.js";

const LIMIT = 50;
const url = new URLSearchParams(window.location.search);
const metric = (url.get("metric") || "").trim();
const filters = filtersFrom(url);
// Columns first when an item has them; any other field follows in the API's order.
const PREFERRED = ["id", "kind", "started_at", "created_at", "channel", "language", "contact_id", "agent_id", "value"];

function offset() {
  const n = Number.parseInt(new URLSearchParams(window.location.search).get("offset") || "0", 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

// The record a row stands for, in the API (the JSON detail an admin or the assigned agent may read).
function recordLink(item) {
  const id = item.id === null || item.id === undefined ? "" : String(item.id);
  if (!id) return "";
  const base = item.kind === "ticket" ? "/api/v1/tickets/" + encodeURIComponent(item.number ?? id) : "/api/v1/conversations/" + encodeURIComponent(id);
  return el("a", { href: base, text: (item.kind === "ticket" ? "ticket " : "conversation ") + id });
}

let unit = ""; // the metric's unit when the API says it

function cell(name, value, item) {
  if (name === "id") return el("td", {}, recordLink(item));
  if (value === null || value === undefined) return el("td", { className: "muted", text: "—" });
  if (name.endsWith("_at")) return el("td", { text: new Date(value).toLocaleString() });
  if (name === "value") return el("td", { className: "num", text: rowValue(metric, value, unit) });
  if (typeof value === "object") return el("td", {}, el("code", { text: JSON.stringify(value) }));
  return el("td", { className: typeof value === "number" ? "num" : "", text: typeof value === "number" ? formatField(name, value) : String(value) });
}

function columnsOf(items) {
  const seen = new Set();
  for (const item of items) for (const key of Object.keys(item)) if (key !== "value_text") seen.add(key);
  return [...PREFERRED.filter((k) => seen.has(k)), ...[...seen].filter((k) => !PREFERRED.includes(k))];
}

async function load() {
  const start = offset();
  const params = new URLSearchParams(filters);
  params.set("metric", metric);
  params.set("offset", String(start));
  params.set("limit", String(LIMIT));
  $("drill-summary").textContent = "Loading…";
  delete document.body.dataset.loaded;
  try {
    const page = await api("GET", "/api/v1/reports/drilldown?" + params);
    const items = itemsOf(page);
    hide($("drill-error"));
    const columns = columnsOf(items);
    $("drill-table").querySelector("thead tr").replaceChildren(...columns.map((c) => el("th", { text: c === "id" ? "Record" : labelOf(c) })));
    $("drill-table").querySelector("tbody").replaceChildren(...items.map((item) => el("tr", { "data-id": String(item.id) },
      ...columns.map((c) => cell(c, item[c], item)))));
    const total = page.total ?? items.length;
    $("drill-summary").textContent = total === 0 ? "Nothing behind this figure in the period."
      : "Records " + (start + 1) + "–" + (start + items.length) + " of " + total + ".";
    $("drill-prev").disabled = start === 0;
    $("drill-next").disabled = start + items.length >= total;
  } catch (err) {
    show($("drill-error"), err.message);
    $("drill-summary").textContent = "";
  }
  document.body.dataset.loaded = "1";
}

function go(to) {
  const params = new URLSearchParams(window.location.search);
  if (to > 0) params.set("offset", String(to)); else params.delete("offset");
  window.history.pushState(null, "", withQuery(window.location.pathname, params));
  load();
}

$("drill-title").textContent = "Behind the figure: " + (metric ? labelOf(metric) : "(no metric)");
// The metric's label and unit (seconds, ratio, count, score) from the API's list, for the title and values.
async function describe() {
  try {
    const found = itemsOf(await api("GET", "/api/v1/reports/metrics")).find((m) => m.name === metric);
    if (!found) return;
    $("drill-title").textContent = "Behind the figure: " + found.label;
    unit = found.unit;
  } catch { /* the metric's name stays as the title; values are formatted by their names */ }
}
$("drill-filters").textContent = [...filters.entries()].map(([k, v]) => labelOf(k) + " " + v).join(" · ") || "Default period (the last 30 days), every segment.";
$("drill-back").setAttribute("href", withQuery("/admin/reports", filters));
$("drill-csv").setAttribute("href", csvHref(filters, metric));
$("drill-prev").addEventListener("click", () => go(Math.max(0, offset() - LIMIT)));
$("drill-next").addEventListener("click", () => go(offset() + LIMIT));
window.addEventListener("popstate", load);
describe().then(load);
