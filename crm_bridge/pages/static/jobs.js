// kefu Dead jobs page (admins, an ES module): jobs whose retries ran out, replayed one by one or all at
// once after a confirmation on the page; the list reloads afterwards.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";

const API = "/api/v1/jobs/dead";
const tbody = document.querySelector("#jobs-table tbody");
let jobs = [];

function confirmRow(job, cell) {
  // An inline confirmation (rather than window.confirm): it names the job and can be read by the tests.
  const done = () => cell.replaceChildren(replayButton(job));
  cell.replaceChildren(el("span", { className: "confirm", text: "Replay job " + job.id + "? " }),
    el("button", { type: "button", className: "primary confirm-replay", text: "Confirm",
      onclick: () => replay({ ids: [job.id] }, "Job " + job.id) }),
    " ", el("button", { type: "button", className: "cancel-replay", text: "Cancel", onclick: done }));
}

function replayButton(job) {
  return el("button", { type: "button", className: "replay", text: "Replay",
    "aria-label": "Replay job " + job.id, onclick: (event) => confirmRow(job, event.target.parentNode) });
}

function row(job) {
  return el("tr", { "data-job-id": String(job.id) },
    el("td", { className: "num", text: String(job.id) }),
    el("td", {}, el("code", { text: job.task })),
    el("td", { text: new Date(job.failed_at).toLocaleString() }),
    el("td", { className: "error", text: job.error }),
    el("td", { className: "num", text: job.attempts === null || job.attempts === undefined ? "—" : String(job.attempts) }),
    el("td", { className: "actions" }, replayButton(job)));
}

async function load() {
  try {
    const page = await api("GET", API + "?limit=200");
    jobs = itemsOf(page);
    hide($("jobs-error"));
    tbody.replaceChildren(...jobs.map(row));
    const total = page && page.total !== undefined ? page.total : jobs.length;
    $("jobs-summary").textContent = total === 0 ? "No dead jobs."
      : total + " dead job" + (total === 1 ? "" : "s") + (total > jobs.length ? " (the oldest " + jobs.length + " shown)" : "");
    $("replay-all").disabled = total === 0;
  } catch (err) { show($("jobs-error"), err.message); }
}

async function replay(body, what) {
  hide($("jobs-result"));
  hide($("jobs-error"));
  try {
    const answer = await api("POST", API + "/replay", body);
    const n = answer.replayed.length;
    show($("jobs-result"), (what ? what + " is" : n + " job" + (n === 1 ? " is" : "s are")) + " back on the queue.");
  } catch (err) { show($("jobs-error"), err.message); }
  await load();
}

function confirmAll() {
  const bar = $("replay-all-confirm");
  if (bar) return;
  const box = el("p", { id: "replay-all-confirm", className: "alert" },
    "Replay every dead job? ",
    el("button", { type: "button", className: "primary", id: "confirm-replay-all", text: "Replay all",
      onclick: () => { box.remove(); replay({ all_dead: true }, null); } }),
    " ", el("button", { type: "button", text: "Cancel", onclick: () => box.remove() }));
  $("jobs-table").before(box);
}

$("jobs-refresh").addEventListener("click", load);
$("replay-all").addEventListener("click", confirmAll);
load();
