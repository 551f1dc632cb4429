// kefu Reports: contacts at risk (an ES module; agents and admins). GET /api/v1/reports/at-risk for the
// filters in the URL, 25 a page (the offset is in the URL too), highest score first, each with its reasons
// and last contact. Every value reaches the page as text.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";
import { filterForm } from "./reports_filters.js";
import { withQuery } from "./reports_shared.js";

const LIMIT = 25;
let generation = 0;

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const conversationLink = (id) => (id ? el("a", { href: "/api/v1/conversations/" + encodeURIComponent(id), title: String(id),
  text: "conversation " + String(id).slice(0, 8) }) : null);
const ticketNumber = (id) => "T-" + String(id).padStart(6, "0");

/** One reason as a line: what happened, when, and a link to what it refers to. */
function reasonItem(r) {
  let text;
  let link = null;
  if (r.code === "low_rating") { text = "Low rating " + r.rating + "/5"; link = conversationLink(r.conversation_id); }
  else if (r.code === "negative_sentiment") text = "Negative trend: " + r.negative + " of their last " + r.of + " messages";
  else if (r.code === "reopened_ticket") {
    text = "Reopened ticket";
    link = el("a", { href: "/api/v1/tickets/" + ticketNumber(r.ticket_id), text: ticketNumber(r.ticket_id) });
  } else if (r.code === "complaint") { text = "Complaint"; link = conversationLink(r.conversation_id); }
  else text = String(r.code);
  return el("li", { "data-code": r.code }, text, link ? " · " : "", link, el("span", { className: "muted", text: " · " + when(r.at) }));
}

function scoreBadge(score) {
  const level = score >= 70 ? "high" : score >= 40 ? "medium" : "low";
  return el("span", { className: "badge risk-" + level, text: String(score) });
}

function row(item) {
  return el("tr", { "data-contact": String(item.contact_id) },
    el("td", {}, el("a", { href: "/api/v1/contacts/" + encodeURIComponent(item.contact_id), text: item.name || "(no name)" }),
      el("span", { className: "muted", text: " #" + item.contact_id })),
    el("td", { text: item.tier || "—" }),
    el("td", { className: "num score" }, scoreBadge(item.score)),
    el("td", {}, el("ul", { className: "reasons" }, ...(item.reasons || []).map(reasonItem))),
    el("td", { className: "last-contact", text: when(item.last_contact_at) }));
}

function offset() {
  const n = Number.parseInt(new URLSearchParams(window.location.search).get("offset") || "0", 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

async function load() {
  const mine = ++generation;
  const start = offset();
  delete document.body.dataset.loaded;
  hide($("risk-error"));
  $("risk-summary").textContent = "Loading…";
  const params = filters.current();
  params.set("offset", String(start));
  params.set("limit", String(LIMIT));
  try {
    const page = await api("GET", withQuery("/api/v1/reports/at-risk", params));
    if (mine !== generation) return;
    const items = itemsOf(page);
    const total = page.total ?? items.length;
    $("risk-table").querySelector("tbody").replaceChildren(...(items.length ? items.map(row)
      : [el("tr", { className: "empty" }, el("td", { colspan: 5, className: "muted", text: "Nobody is at risk in this period." }))]));
    $("risk-summary").textContent = total === 0 ? "No contact at risk." : "Contacts " + (start + 1) + "–" + (start + items.length) + " of " + total + ".";
    $("risk-prev").disabled = start === 0;
    $("risk-next").disabled = start + items.length >= total;
  } catch (err) {
    if (mine !== generation) return;
    $("risk-table").querySelector("tbody").replaceChildren();
    $("risk-summary").textContent = "The list could not be loaded.";
    if (!filters.fieldError(err)) show($("risk-error"), err.message);
    $("risk-prev").disabled = true;
    $("risk-next").disabled = true;
  }
  document.body.dataset.loaded = String(mine); // the tests wait for this
}

function go(to) {
  const params = new URLSearchParams(window.location.search);
  if (to > 0) params.set("offset", String(to)); else params.delete("offset");
  window.history.pushState(null, "", withQuery(window.location.pathname, params));
  load();
}

const filters = filterForm(load);
$("risk-prev").addEventListener("click", () => go(Math.max(0, offset() - LIMIT)));
$("risk-next").addEventListener("click", () => go(offset() + LIMIT));
filters.start();
