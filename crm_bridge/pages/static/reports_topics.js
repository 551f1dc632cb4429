// kefu Reports: what customers ask most (an ES module used by reports_voice.js). Intent frequencies from
// Rasa's tracker store (or why they are not available), the FAQ entries the knowledge base answered with
// most, and the groups of questions the bot could not answer (GET /api/v1/reports/topics). Text only.
import { $, el, hide, show } from "./lib/dom.js";
import { api } from "./lib/api.js";
import { number, percent, withQuery } from "./reports_shared.js";

const body = (id) => $(id).querySelector(".topics-body");
const empty = (text) => el("p", { className: "muted empty", text });

function table(head, rows) {
  return el("table", { className: "grid compact" },
    el("thead", {}, el("tr", {}, ...head.map(([text, cls]) => el("th", { className: cls || "", text })))),
    el("tbody", {}, ...rows));
}

function renderIntents(intents) {
  const box = body("intents");
  if (!intents || intents.available === false) {
    box.replaceChildren(el("p", { className: "muted unavailable", text: "Not available: " + ((intents && intents.reason) || "no answer") }));
    return;
  }
  const items = intents.items || [];
  if (!items.length) { box.replaceChildren(empty("No customer messages with an intent in this period.")); return; }
  box.replaceChildren(el("p", { className: "muted", text: number(intents.total) + " customer messages with an intent." }),
    table([["Intent"], ["Messages", "num"]], items.map((i) => el("tr", { "data-intent": i.intent },
      el("td", {}, el("code", { text: i.intent })), el("td", { className: "num", text: number(i.count) })))));
}

function renderFaq(faq) {
  const box = body("faq");
  const d = (faq && faq.decisions) || {};
  if (!faq || !faq.total) { box.replaceChildren(empty("No knowledge-base searches for customers in this period.")); return; }
  const summary = el("p", { className: "muted", text: number(faq.total) + " searches: " + number(d.answer || 0) + " answered, "
    + number(d.clarify || 0) + " clarified, " + number(d.none || 0) + " not answered (" + percent(faq.unanswered_rate) + " unanswered)." });
  const entries = faq.entries || [];
  const rows = entries.map((e) => el("tr", { "data-faq": e.faq_id },
    el("td", {}, e.question === null || e.question === undefined
      ? el("span", { className: "muted", text: "(deleted entry " + e.faq_id + ")" })
      : el("a", { href: "/admin/kb/" + encodeURIComponent(e.faq_id), text: e.question })),
    el("td", { className: "num", text: number(e.answers) }), el("td", { className: "num", text: number(e.clarifications) })));
  box.replaceChildren(summary, entries.length
    ? table([["FAQ entry"], ["Answered", "num"], ["Offered to clarify", "num"]], rows)
    : empty("No entry answered: every search was left unanswered."));
}

function renderUnanswered(unanswered) {
  const box = body("unanswered");
  const groups = (unanswered && unanswered.groups) || [];
  if (!groups.length) { box.replaceChildren(empty("The bot answered everything it was asked in this period.")); return; }
  const summary = el("p", { className: "muted" },
    number(unanswered.total) + " questions, " + number(unanswered.open) + " still open" + (unanswered.truncated ? " (the newest 2,000 grouped)" : "") + ". ",
    el("a", { href: "/admin/kb/unanswered", text: "Open the unanswered inbox" }));
  box.replaceChildren(summary, table([["Question"], ["Asked", "num"], ["Open", "num"]], groups.map((g) =>
    el("tr", { "data-topic": g.topic },
      el("td", {}, el("span", { lang: g.language || "", text: g.topic }), " ", el("span", { className: "badge", text: g.language || "?" })),
      el("td", { className: "num", text: number(g.count) }), el("td", { className: "num", text: number(g.open) })))));
}

/** Load and show the topics report for `params`; `fresh()` says whether the answer is still wanted. */
export async function loadTopics(params, fresh, refusal) {
  hide($("topics-error"));
  for (const id of ["intents", "faq", "unanswered"]) body(id).replaceChildren(empty("Loading…"));
  let data;
  try { data = await api("GET", withQuery("/api/v1/reports/topics", params)); } catch (err) {
    if (!fresh()) return;
    for (const id of ["intents", "faq", "unanswered"]) body(id).replaceChildren();
    // A bad filter is shown next to its field by the voice report (the same 422); anything else here.
    if (err.status !== 422) show($("topics-error"), refusal(err));
    return;
  }
  if (!fresh()) return;
  renderIntents(data.intents);
  renderFaq(data.faq);
  renderUnanswered(data.unanswered);
}
