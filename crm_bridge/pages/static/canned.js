// kefu canned replies page (admins, an ES module): add, edit, delete, filter by language.
import { $, el, hide, show } from "./lib/dom.js";
import { api, itemsOf } from "./lib/api.js";

const URL_ = "/api/v1/agent/canned-replies";
const tbody = document.querySelector("#canned-table tbody");
const failed = (err) => show($("canned-error"), err.message);

function resetForm() {
  $("canned-id").value = "";
  $("canned-title").value = "";
  $("canned-text").value = "";
  $("canned-form-title").textContent = "New canned reply";
  $("canned-cancel").classList.add("hidden");
}

function edit(c) {
  $("canned-id").value = String(c.id);
  $("canned-title").value = c.title;
  $("canned-text").value = c.text;
  $("canned-language").value = c.language;
  $("canned-form-title").textContent = "Edit canned reply";
  $("canned-cancel").classList.remove("hidden");
}

async function remove(c) {
  if (!window.confirm("Delete the canned reply \u201c" + c.title + "\u201d?")) return;
  try { await api("DELETE", URL_ + "/" + c.id); load(); } catch (err) { failed(err); }
}

async function load() {
  const language = $("canned-filter").value;
  let items;
  try {
    items = itemsOf(await api("GET", URL_ + (language ? "?language=" + language : "")));
  } catch (err) { failed(err); return; }
  tbody.replaceChildren(...items.map((c) => el("tr", { "data-canned-id": String(c.id) },
    el("td", { text: c.title }), el("td", { text: c.language }), el("td", { className: "question", text: c.text }),
    el("td", {},
      el("button", { type: "button", className: "edit", text: "Edit", onclick: () => edit(c) }), " ",
      el("button", { type: "button", className: "delete", text: "Delete", onclick: () => remove(c) })))));
  $("canned-empty").classList.toggle("hidden", items.length > 0);
}

$("canned-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  hide($("canned-error"));
  const body = { title: $("canned-title").value, text: $("canned-text").value, language: $("canned-language").value };
  const id = $("canned-id").value;
  try {
    if (id) {
      try { await api("PATCH", URL_ + "/" + id, body); } catch (err) {
        if (err.status !== 405) throw err;
        await api("PUT", URL_ + "/" + id, body);
      }
    } else {
      await api("POST", URL_, body);
    }
    resetForm();
    load();
  } catch (err) { failed(err); }
});
$("canned-cancel").addEventListener("click", resetForm);
$("canned-filter").addEventListener("change", load);
load();
