// What the Reports dashboard and its drill-down share (ES module): the filters kept in the URL, number
// formats (a missing figure is "—"), and the link from a figure to the records behind it.

/** The period and segment filters, in the order the URL carries them (the API's parameter names). */
export const FILTERS = ["from", "to", "channel", "language", "agent_id", "tier", "tag"];

/** The filters present (non-empty) in a query string or URLSearchParams. */
export function filtersFrom(search) {
  const source = new URLSearchParams(search);
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = (source.get(name) || "").trim();
    if (value) params.set(name, value);
  }
  return params;
}

/** `base` with `params` as its query string (no "?" when there are none). */
export const withQuery = (base, params) => (String(params) ? base + "?" + params : base);

/** The drill-down page for `metric` under `filters`, plus `extra` filters (a breakdown row's segment). */
export function drillHref(metric, filters, extra) {
  const params = new URLSearchParams(filters);
  for (const [name, value] of Object.entries(extra || {})) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  params.set("metric", metric);
  return "/admin/reports/drilldown?" + params;
}

/** The CSV export of `metric` (or of the whole report when metric is empty) under the same filters. */
export function csvHref(filters, metric) {
  const params = new URLSearchParams(filters);
  if (metric) params.set("metric", metric);
  return withQuery("/api/v1/reports/export.csv", params);
}

const missing = (value) => value === null || value === undefined || Number.isNaN(value);

/** A duration in seconds as "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"; "—" when missing. */
export function duration(seconds) {
  if (missing(seconds)) return "—";
  const s = Math.round(Number(seconds));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
  if (s < 86400) return Math.floor(s / 3600) + " h" + (Math.floor((s % 3600) / 60) ? " " + Math.floor((s % 3600) / 60) + " min" : "");
  return Math.floor(s / 86400) + " d" + (Math.floor((s % 86400) / 3600) ? " " + Math.floor((s % 86400) / 3600) + " h" : "");
}

/** A rate 0..1 as "95.0 %"; "—" when missing. */
export const percent = (rate) => (missing(rate) ? "—" : (Number(rate) * 100).toFixed(1) + " %");

/** A score or plain figure with one decimal when it has one; "—" when missing. */
export function number(value) {
  if (missing(value)) return "—";
  const n = Number(value);
  return Number.isInteger(n) ? n.toLocaleString("en") : n.toFixed(1);
}

/** How a field's value reads, from its name: *_s durations, rates and shares as percentages. */
export function formatField(name, value) {
  if (typeof value !== "number" && !missing(value)) return String(value);
  if (name.endsWith("_s")) return duration(value);
  if (/(rate|_met|^met_|share|percent|^fcr$|availability|containment|coverage)/.test(name)) return percent(value);
  return number(value);
}

/** The unit a metric's figures have (the API's Metric.unit), from the answer when given, else its name. */
export function unitOf(metric, unit) {
  if (unit) return unit;
  if (/(rate|share|_met$|^availability$)/.test(metric)) return "ratio";
  if (/^(first_response|resolution|first_resolution)/.test(metric)) return "seconds";
  if (/(score|csat)/.test(metric)) return "score";
  return "count";
}

/** One record's own value for a metric: seconds as a duration, a 0/1 flag as yes/no, else the number. */
export function rowValue(metric, value, unit) {
  const kind = unitOf(metric, unit);
  if (missing(value)) return "—";
  if (kind === "seconds") return duration(value);
  if (kind === "ratio" && (value === 0 || value === 1 || value === true || value === false)) return value ? "yes" : "no";
  if (kind === "ratio") return percent(value);
  return number(value);
}

/** "first_response_met" → "First response met". */
export function labelOf(name) {
  const text = String(name).replace(/_s$/, "").replace(/_/g, " ").replace(/\bp90\b/, "p90").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The field a refused request names (our `details.field`, or FastAPI's `details[].loc`), or "". */
export function fieldOf(err) {
  const details = err && err.details;
  if (details && typeof details === "object" && !Array.isArray(details) && details.field) return details.field;
  if (Array.isArray(details) && details[0] && Array.isArray(details[0].loc)) {
    return String(details[0].loc[details[0].loc.length - 1]);
  }
  return "";
}
