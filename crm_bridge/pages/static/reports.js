// kefu Reports dashboard (an ES module): the four service standards against their targets, the other
// figures, volume, trend charts and breakdowns for the period and segment in the URL. The filters live in
// the query string (reload keeps them; back and forward replay them); every number links to the records
// behind it. Every value reaches the page as text (textContent / attributes), never as HTML.
import { $, el, hide, show } from "./lib/dom.js";
import { api } from "./lib/api.js";
import { drawLine, tickLabel } from "./reports_charts.js";
import { filterForm } from "./reports_filters.js";
import { csvHref, drillHref, duration, formatField, labelOf, number, percent, withQuery } from "./reports_shared.js";

const INTERVALS = ["day", "hour", "week"];

// The seeds' four standards, shown first: where the value is in the summary, how it reads, which way
// the target points, and the metric its drill-down lists.
const STANDARDS = [
  { key: "fcr", title: "First-contact resolution", value: (k) => k.rate, target: (k) => k.target,
    fmt: percent, better: "≥", metric: "fcr_rate" },
  // The standard is an average first response "online": the API judges it on business hours.
  { key: "first_response", title: "First response (mean, business hours)", value: (k) => k.mean_business_s,
    target: (k) => k.target_s, fmt: duration, better: "≤", metric: "first_response_business_mean",
    extra: (k) => "calendar: mean " + duration(k.mean_s) + " · median " + duration(k.median_s) + " · p90 " + duration(k.p90_s) },
  { key: "csat", title: "Satisfaction (score /100)", value: (k) => k.score_100, target: (k) => k.target,
    fmt: number, better: "≥", metric: "csat_score",
    extra: (k) => percent(k.percent_satisfied) + " satisfied · " + percent(k.response_rate) + " responded" },
  { key: "availability", title: "Availability", value: (k) => k.rate, target: (k) => k.target,
    fmt: percent, better: "≥", metric: "availability",
    extra: (k) => (k.by_part && typeof k.by_part === "object"
      ? Object.entries(k.by_part).map(([part, rate]) => part + " " + percent(rate)).join(" · ") : "") },
];
// Trend charts: the timeseries metric, its title, the y axis and how a point's value is scaled for it.
const CHARTS = [
  { id: "volume", metric: "conversations", title: "Conversations", yTitle: "Conversations", scale: (v) => v,
    color: "#2563eb" },
  { id: "first-response", metric: "first_response_business_mean", title: "First response (mean, business hours)", yTitle: "Minutes",
    scale: (v) => v / 60, color: "#7c3aed", target: (k) => k.first_response && k.first_response.target_s / 60 },
  { id: "fcr", metric: "fcr_rate", title: "First-contact resolution", yTitle: "Percent of resolved conversations",
    scale: (v) => v * 100, color: "#059669", target: (k) => k.fcr && k.fcr.target * 100, yMax: 100 },
  { id: "csat", metric: "csat_score", title: "Satisfaction", yTitle: "Score out of 100", scale: (v) => v,
    color: "#d97706", target: (k) => k.csat && k.csat.target, yMax: 100 },
];
// The metric (GET /api/v1/reports/drilldown?metric=) behind a summary field: "group.field" when listed,
// else the group's main metric (a count such as fcr.resolved drills into the records its rate is over).
const FIELD_METRIC = {
  "first_response.mean_s": "first_response_mean", "first_response.median_s": "first_response_median",
  "first_response.p90_s": "first_response_p90", "first_response.mean_business_s": "first_response_business_mean",
  "first_response.median_business_s": "first_response_business_median",
  "first_response.p90_business_s": "first_response_business_median",
  "resolution.median_s": "resolution_median", "resolution.mean_s": "resolution_mean",
  "resolution.first_median_s": "first_resolution_median", "resolution.first_mean_s": "first_resolution_median",
  "resolution.reopened": "reopen_rate", "resolution.reopen_rate": "reopen_rate",
  "resolution.currently_reopened": "reopen_rate",
  "bot.resolution_rate": "bot_resolution_rate", "bot.bot_resolved": "bot_resolution_rate",
  "bot.handoff_rate": "handoff_rate", "bot.handoffs": "handoff_rate", "bot.conversations": "conversations",
  "bot.unanswered_rate": "unanswered_rate", "bot.kb_decisions": "unanswered_rate", "bot.kb_none": "unanswered_rate",
  "bot.containment_rate": "containment_rate",
  "csat.score_100": "csat_score", "csat.percent_satisfied": "csat_percent_satisfied",
  "csat.response_rate": "csat_response_rate", "csat.surveys_offered": "csat_response_rate",
  "csat.surveys_answered": "csat_response_rate",
  "sla.first_response_met": "sla_first_response_met", "sla.resolution_met": "sla_resolution_met",
};
const GROUP_METRIC = { first_response: "first_response_mean", resolution: "resolution_median", fcr: "fcr_rate",
  bot: "bot_resolution_rate", csat: "csat_score", sla: "sla_first_response_met", availability: "availability" };
const metricOf = (group, field) => FIELD_METRIC[group + "." + field] || GROUP_METRIC[group] || "conversations";
const GROUPS = { fcr: "First-contact resolution", csat: "Satisfaction", sla: "SLA", bot: "Bot", first_response: "First response" };
const BREAKDOWNS = ["channel", "language", "agent", "tier"];
// A breakdown row narrows the drill-down to its segment through this filter.
const SEGMENT_FILTER = { channel: "channel", language: "language", agent: "agent_id", tier: "tier" };

let current = new URLSearchParams(); // the filters of the report on screen
let timezone = ""; // KEFU_TIMEZONE, as the summary reports it
let generation = 0; // a slower answer to an older request must not overwrite a newer report

const filters = filterForm(() => load(intervalOf()));

function intervalOf() {
  const interval = new URLSearchParams(window.location.search).get("interval");
  return INTERVALS.includes(interval) ? interval : "day";
}

function showError(err) {
  if (!filters.fieldError(err)) show($("reports-error"), err.message);
  $("reports-status").textContent = "The report could not be loaded.";
}

const figureLink = (text, metric, extra) => (text === "—"
  ? el("span", { className: "muted", text })
  : el("a", { href: drillHref(metric, current, extra), "data-metric": metric, className: "figure", text }));

function status(met) {
  if (met === true) return el("span", { className: "badge status-met", text: "Met" });
  if (met === false) return el("span", { className: "badge status-missed", text: "Missed" });
  return el("span", { className: "badge status-none", text: "No data" });
}

function standardCard(spec, kpis) {
  const kpi = kpis[spec.key] || {};
  const target = spec.target(kpi);
  const met = kpi.met === undefined ? null : kpi.met;
  return el("article", { className: "card kpi " + (met === true ? "met" : met === false ? "missed" : "none"),
    id: "kpi-" + spec.key, "data-met": String(met) },
  el("h3", { text: spec.title }),
  el("p", { className: "kpi-value" }, figureLink(spec.fmt(spec.value(kpi)), spec.metric)),
  el("p", { className: "kpi-target" }, "Target " + spec.better + " " + (target === null || target === undefined ? "none" : spec.fmt(target)) + " ", status(met)),
  spec.extra ? el("p", { className: "muted kpi-extra", text: spec.extra(kpi) }) : null);
}

// The field of each KPI group its target applies to (the API's `met` judges that field).
const TARGET_FIELD = { first_response: "mean_business_s", resolution: "median_s", fcr: "rate", csat: "score_100",
  bot: "resolution_rate", availability: "rate" };

function targetOf(group, name, kpi) {
  if (TARGET_FIELD[group] === name) return { target: kpi.target_s ?? kpi.target, met: kpi.met };
  if (group === "sla" && name.endsWith("_met") && kpi[name.slice(0, -4)]) {
    const part = kpi[name.slice(0, -4)];
    return { target: part.target, met: part.target_met };
  }
  if (group === "csat" && name === "percent_satisfied") {
    const target = kpi.percent_satisfied_target;
    const value = kpi.percent_satisfied;
    return { target, met: target === null || target === undefined || value === null || value === undefined ? null : value >= target };
  }
  return null;
}

function moreRows(kpis) {
  // Every scalar figure of every KPI group (targets and statuses go in their own columns).
  const rows = [];
  for (const [group, kpi] of Object.entries(kpis)) {
    if (!kpi || typeof kpi !== "object") continue;
    for (const [name, value] of Object.entries(kpi)) {
      if (name.includes("met") && typeof value === "boolean") continue;
      if (name === "met" || name.includes("target") || (value !== null && typeof value === "object")) continue;
      const goal = targetOf(group, name, kpi);
      const hasTarget = goal && goal.target !== null && goal.target !== undefined;
      rows.push(el("tr", { "data-kpi": group + "." + name },
        el("th", { scope: "row", text: (GROUPS[group] || labelOf(group)) + " · " + labelOf(name) }),
        el("td", { className: "num" }, figureLink(formatField(name, value), metricOf(group, name))),
        el("td", { className: "num", text: hasTarget ? formatField(name, goal.target) : "" }),
        el("td", {}, hasTarget ? status(goal.met) : "")));
    }
  }
  return rows;
}

function volumeTable(title, entries, metric, filter) {
  return el("table", { className: "grid compact" },
    el("caption", { text: title }),
    el("tbody", {}, ...entries.map(([key, value]) => el("tr", {},
      el("th", { scope: "row", text: filter ? String(key) : labelOf(key) }),  // a channel or language as stored
      el("td", { className: "num" }, figureLink(formatField(String(key), value), metric, filter ? { [filter]: key } : null))))));
}

// Volume: totals, by channel and language (each a link narrowed to it), the sentiment mix, and the
// conversations by hour of day as a bar chart.
function renderVolume(volume, mine) {
  const v = volume || {};
  const list = el("dl", { className: "volume-figures" },
    el("dt", { text: "Conversations" }), el("dd", {}, figureLink(number(v.conversations), "conversations")),
    el("dt", { text: "Customer messages" }), el("dd", {}, figureLink(number(v.inbound_messages), "inbound_messages")));
  const tables = [];
  if (v.by_channel) tables.push(volumeTable("By channel", Object.entries(v.by_channel), "conversations", "channel"));
  if (v.by_language) tables.push(volumeTable("By language", Object.entries(v.by_language), "conversations", "language"));
  if (v.sentiment) tables.push(volumeTable("Customer messages by sentiment", Object.entries(v.sentiment), "negative_sentiment_share"));
  const hours = el("figure", { className: "chart hours" }, el("div", { className: "chart-canvas" },
    el("canvas", { id: "chart-hours", role: "img", "aria-label": "Conversations by hour of day" })));
  $("volume").replaceChildren(list, el("div", { className: "volume-tables" }, ...tables), hours);
  const byHour = Array.isArray(v.by_hour) ? v.by_hour : [];
  if (mine === generation && byHour.length) {
    drawLine(hours.querySelector("canvas"), { type: "bar", title: "Conversations by hour of day", xTitle: "Hour of day (" + timezone + ")",
      yTitle: "Conversations", labels: byHour.map((_, h) => String(h).padStart(2, "0")),
      series: [{ label: "Conversations started", data: byHour, color: "#0891b2" }] });
  }
}

// Breakdown columns: where the figure is in a row, its heading, its format and the metric it drills into.
const BREAKDOWN_COLUMNS = [
  ["conversations", null, "Conversations", number, "conversations"],
  ["first_response", "mean_business_s", "First response (mean, business h)", duration, "first_response_business_mean"],
  ["first_response", "median_s", "First response (median)", duration, "first_response_median"],
  ["resolution", "median_s", "Resolution (median)", duration, "resolution_median"],
  ["fcr", "rate", "First-contact resolution", percent, "fcr_rate"],
  ["bot", "resolution_rate", "Bot resolution", percent, "bot_resolution_rate"],
  ["bot", "handoff_rate", "Handoff", percent, "handoff_rate"],
  ["csat", "score_100", "Satisfaction /100", number, "csat_score"],
  ["csat", "percent_satisfied", "Satisfied", percent, "csat_percent_satisfied"],
];

function renderBreakdown(by, data) {
  const box = $("breakdown-" + by);
  const rows = (data && (data.items || data.rows)) || [];
  if (!rows.length) { box.replaceChildren(el("p", { className: "muted", text: "Nothing in this period." })); return; }
  const head = el("tr", {}, el("th", { text: labelOf(by) }), ...BREAKDOWN_COLUMNS.map(([, , title]) => el("th", { text: title })));
  const body = rows.map((row) => {
    const segment = { [SEGMENT_FILTER[by]]: row.key };
    return el("tr", { "data-key": String(row.key) }, el("th", { scope: "row", text: String(row.label ?? row.key) }),
      ...BREAKDOWN_COLUMNS.map(([group, field, , fmt, metric]) => {
        const value = field ? (row[group] || {})[field] : row[group];
        return el("td", { className: "num", "data-column": metric }, figureLink(fmt(value), metric, segment));
      }));
  });
  box.replaceChildren(el("table", { className: "grid compact" }, el("thead", {}, head), el("tbody", {}, ...body)));
}

async function drawChart(spec, interval, kpis, mine) {
  const box = $("chart-box-" + spec.id);
  const params = new URLSearchParams(current);
  params.set("metric", spec.metric);
  params.set("interval", interval);
  let data;
  try { data = await api("GET", "/api/v1/reports/timeseries?" + params); } catch (err) {
    if (mine !== generation) return;
    box.querySelector(".chart-note").textContent = "No trend: " + err.message;
    return;
  }
  if (mine !== generation) return;
  const points = (data && data.points) || [];
  const labels = points.map((p) => tickLabel(p.t, interval));
  const series = [{ label: spec.title, color: spec.color,
    data: points.map((p) => (p.value === null || p.value === undefined ? null : spec.scale(p.value))) }];
  const target = spec.target ? spec.target(kpis) : null;
  if (target !== null && target !== undefined && !Number.isNaN(target)) {
    series.push({ label: "Target", color: "#dc2626", dashed: true, data: points.map(() => target) });
  }
  const empty = points.every((p) => p.value === null || p.value === undefined);
  box.querySelector(".chart-note").textContent = empty ? "No figures in this period." : "";
  drawLine(box.querySelector("canvas"), {
    title: spec.title, xTitle: { hour: "Hour", day: "Day", week: "Week (from Monday)" }[interval],
    yTitle: spec.yTitle, labels, series, yMax: spec.yMax,
  });
}

function chartBoxes() {
  $("charts").replaceChildren(...CHARTS.map((spec) => el("figure", { className: "card chart", id: "chart-box-" + spec.id, "data-metric": spec.metric },
    el("div", { className: "chart-canvas" },
      el("canvas", { id: "chart-" + spec.id, role: "img", "aria-label": spec.title + " over the period" })),
    el("figcaption", { className: "muted chart-note" }))));
}

async function load(interval) {
  const mine = ++generation;
  delete document.body.dataset.loaded;
  current = filters.current();
  hide($("reports-error"));
  $("reports-status").textContent = "Loading…";
  $("kpi-standards").setAttribute("aria-busy", "true");
  $("reports-csv").setAttribute("href", csvHref(current, "conversations"));
  let summary;
  try { summary = await api("GET", withQuery("/api/v1/reports/summary", current)); } catch (err) {
    if (mine === generation) { showError(err); $("kpi-standards").setAttribute("aria-busy", "false"); }
    return;
  }
  if (mine !== generation) return;
  const kpis = summary.kpis || {};
  $("kpi-standards").replaceChildren(...STANDARDS.map((spec) => standardCard(spec, kpis)));
  $("kpi-standards").setAttribute("aria-busy", "false");
  $("kpi-more").querySelector("tbody").replaceChildren(...moreRows(kpis));
  const period = summary.period || {};
  timezone = period.timezone || "";
  renderVolume(summary.volume, mine);
  const span = period.from && period.to ? new Date(period.from).toLocaleString() + " – " + new Date(period.to).toLocaleString() : "";
  $("reports-status").textContent = "Period " + span + (period.timezone ? " (" + period.timezone + ")" : "") + ".";
  await Promise.all([
    ...CHARTS.map((spec) => drawChart(spec, interval, kpis, mine)),
    ...BREAKDOWNS.map(async (by) => {
      const params = new URLSearchParams(current);
      params.set("by", by);
      try { const data = await api("GET", "/api/v1/reports/breakdown?" + params); if (mine === generation) renderBreakdown(by, data); } catch (err) {
        if (mine === generation) $("breakdown-" + by).replaceChildren(el("p", { className: "alert error", text: err.message }));
      }
    }),
  ]);
  if (mine === generation) document.body.dataset.loaded = String(mine); // the tests wait for this
}

chartBoxes();
filters.start();
