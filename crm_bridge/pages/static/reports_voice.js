// kefu Reports: voice of the customer (an ES module, admins' page). Complaints, negative messages and
// low-rating comments grouped by topic (GET /api/v1/reports/voice), each with its count, kinds, trend
// against the previous period, sentiment mix and the conversations it came from; then what customers ask
// most (reports_topics.js). The filters live in the URL. Every value reaches the page as text.
import { $, el, hide, show } from "./lib/dom.js";
import { api } from "./lib/api.js";
import { filterForm } from "./reports_filters.js";
import { number, withQuery } from "./reports_shared.js";
import { shareBar, sparkline } from "./reports_svg.js";
import { loadTopics } from "./reports_topics.js";

const KIND_LABELS = { complaint: "complaint", negative: "negative message", low_rating: "low-rating comment" };
const SENTIMENTS = ["negative", "neutral", "positive", "unknown"];
const LINKS_SHOWN = 3; // conversation links shown in a row; the rest (up to the API's 20) fold away

let generation = 0; // a slower answer to an older request must not overwrite a newer one

/** What a refused request says on this page: an agent's 403 is a note, not a failure. */
export function refusal(err) {
  return err && err.status === 403 ? "Only admins can see this: it quotes customers' own words." : err.message;
}

const plural = (n, one, many) => number(n) + " " + (n === 1 ? one : many || one + "s");

function kindsText(kinds) {
  const parts = Object.entries(kinds || {}).filter(([, n]) => n).map(([k, n]) => plural(n, KIND_LABELS[k] || k));
  return parts.join(" · ") || "—";
}

function trendCell(group) {
  const trend = group.trend || {};
  const change = Number(trend.change || 0);
  const arrow = change > 0 ? "▲ +" + number(change) : change < 0 ? "▼ −" + number(-change) : "= 0";
  const weekly = (trend.weekly || []).map((w) => ({ label: "week of " + String(w.t).slice(0, 10), count: Number(w.count) }));
  return el("td", { className: "trend" },
    el("span", { className: "trend-change " + (change > 0 ? "up" : change < 0 ? "down" : "flat"), text: arrow }),
    el("span", { className: "muted trend-previous", text: " previous " + number(trend.previous ?? 0) }),
    weekly.length > 1 ? el("div", {}, sparkline(weekly, "Per week")) : null);
}

function sentimentCell(mix) {
  const parts = SENTIMENTS.map((key) => ({ key, count: Number((mix || {})[key] || 0) }));
  return el("td", { className: "sentiment" }, shareBar(parts, "Sentiment"),
    el("div", { className: "muted small", text: parts.filter((p) => p.count).map((p) => p.key + " " + p.count).join(" · ") || "—" }));
}

const conversationLink = (id) => el("a", { href: "/api/v1/conversations/" + encodeURIComponent(id), title: String(id),
  className: "conversation-link", text: String(id).slice(0, 8) });

function conversationsCell(group) {
  const ids = group.conversation_ids || [];
  const list = (some) => el("ul", { className: "links" }, ...some.map((id) => el("li", {}, conversationLink(id))));
  const more = ids.length > LINKS_SHOWN
    ? el("details", {}, el("summary", { text: (ids.length - LINKS_SHOWN) + " more" }), list(ids.slice(LINKS_SHOWN))) : null;
  const unlisted = (group.conversations || 0) - ids.length;
  return el("td", { className: "conversations" },
    el("span", { text: plural(group.conversations || 0, "conversation") }), list(ids.slice(0, LINKS_SHOWN)), more,
    unlisted > 0 ? el("span", { className: "muted small", text: "and " + unlisted + " older" }) : null);
}

function groupRow(group) {
  return el("tr", { "data-topic": group.topic, "data-count": String(group.count) },
    el("td", { className: "topic" }, el("span", { lang: group.language || "", text: group.topic }), " ",
      el("span", { className: "badge", text: group.language || "?" })),
    el("td", { className: "num count", text: number(group.count) }),
    el("td", { className: "kinds", text: kindsText(group.kinds) }),
    trendCell(group), sentimentCell(group.sentiment), conversationsCell(group));
}

function renderVoice(data) {
  const groups = data.groups || [];
  const change = (data.total || 0) - (data.previous_total || 0);
  $("voice-summary").textContent = plural(data.total || 0, "text") + " in the period (" + kindsText(data.kinds) + "), "
    + number(data.previous_total || 0) + " in the period before (" + (change >= 0 ? "+" : "−") + number(Math.abs(change)) + ")."
    + (data.truncated ? " Only the newest 2,000 texts of a kind were grouped." : "");
  const body = groups.length ? groups.map(groupRow)
    : [el("tr", { className: "empty" }, el("td", { colspan: 6, className: "muted", text: "No complaints, negative messages or low ratings in this period." }))];
  $("voice-table").querySelector("tbody").replaceChildren(...body);
}

async function loadVoice(params, mine) {
  $("voice-summary").textContent = "Grouping…";
  hide($("voice-error"));
  try {
    const data = await api("GET", withQuery("/api/v1/reports/voice", params));
    if (mine === generation) renderVoice(data);
    return data;
  } catch (err) {
    if (mine !== generation) return null;
    $("voice-table").querySelector("tbody").replaceChildren();
    $("voice-summary").textContent = "";
    if (!filters.fieldError(err)) show($("voice-error"), refusal(err));
    return null;
  }
}

async function load() {
  const mine = ++generation;
  delete document.body.dataset.loaded;
  const params = filters.current();
  $("voice-status").textContent = "Loading…";
  const [voice] = await Promise.all([loadVoice(params, mine), loadTopics(params, () => mine === generation, refusal)]);
  if (mine !== generation) return;
  const period = voice && voice.period;
  $("voice-status").textContent = period
    ? "Period " + new Date(period.from).toLocaleString() + " – " + new Date(period.to).toLocaleString()
      + ", compared with the period before it (" + new Date(voice.previous_period.from).toLocaleString() + " – "
      + new Date(voice.previous_period.to).toLocaleString() + ")."
    : "";
  document.body.dataset.loaded = String(mine); // the tests wait for this
}

const filters = filterForm(load);
filters.start();
