// kefu Channels page (admins, an ES module): each IM channel, configured or not, the webhook URL to
// register (with a copy button), last inbound / outbound, counted bad webhooks, dead deliveries, the last
// error, and for an unconfigured channel the settings to set. Setting values never reach this page.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";

const tbody = document.querySelector("#channels-table tbody");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

async function copy(url, field) {
  try {
    await navigator.clipboard.writeText(url);
    show($("channels-copied"), "Copied " + url);
  } catch (_) {
    // No clipboard (plain http on another host): select the text for the admin to copy.
    field.select();
    show($("channels-copied"), "Select and copy the URL by hand (the browser refused the clipboard).");
  }
}

function howTo(channel) {
  const missing = channel.settings.filter((s) => !s.set && !s.optional).map((s) => s.name);
  const optional = channel.settings.filter((s) => s.optional).map((s) => s.name);
  return el("div", { className: "how-to muted" },
    "To configure: set ", el("code", { text: missing.join(", ") || "its settings" }),
    " in the environment (or .env) and restart kefu, then register the webhook URL on the platform.",
    optional.length ? el("span", { text: " Optional: " + optional.join(", ") + "." }) : null);
}

function settingsList(channel) {
  return el("ul", { className: "plain settings" },
    ...channel.settings.map((s) => el("li", { "data-setting": s.name },
      el("code", { text: s.name }), " ",
      el("span", { className: "badge " + (s.set ? "badge-published" : s.optional ? "" : "badge-archived"),
        text: s.set ? "set" : s.optional ? "default" : "missing" }))));
}

function row(c) {
  const status = c.configured
    ? el("span", { className: "badge badge-published", text: "configured" })
    : el("span", { className: "badge badge-archived", text: "not configured" });
  const url = el("input", { className: "webhook-url", readonly: true, value: c.webhook_url,
    "aria-label": "Webhook URL of " + c.label, size: String(Math.min(60, c.webhook_url.length)) });
  return el("tr", { "data-channel": c.name, className: c.configured ? "" : "unconfigured" },
    el("td", {}, el("strong", { text: c.label }), settingsList(c)),
    el("td", {}, status, c.configured ? null : howTo(c)),
    el("td", {}, url, " ",
      el("button", { type: "button", className: "copy-url", text: "Copy", onclick: () => copy(c.webhook_url, url) })),
    el("td", { className: "last-inbound", text: when(c.last_inbound_at) }),
    el("td", { className: "last-outbound", text: when(c.last_outbound_at) }),
    el("td", { className: "num verification-failures" + (c.verification_failures ? " bad" : ""),
      text: String(c.verification_failures) }),
    el("td", { className: "num malformed", text: c.malformed + " / " + c.ignored }),
    el("td", { className: "num queued", text: String(c.queued_deliveries) }),
    el("td", { className: "num dead-deliveries" + (c.dead_deliveries ? " bad" : ""), text: String(c.dead_deliveries) }),
    el("td", { className: "last-error" },
      c.last_error ? el("span", { className: "bad", text: c.last_error }) : "—",
      c.last_error_at ? el("div", { className: "muted", text: when(c.last_error_at) }) : null));
}

async function load() {
  try {
    const channels = itemsOf(await api("GET", "/api/v1/channels"));
    hide($("channels-error"));
    tbody.replaceChildren(...channels.map(row));
    $("channels-updated").textContent = channels.filter((c) => c.configured).length + " of " + channels.length
      + " configured · updated " + new Date().toLocaleTimeString();
  } catch (err) { show($("channels-error"), err.message); }
}

$("channels-refresh").addEventListener("click", load);
load();
setInterval(load, 15000);
