// kefu knowledge-base admin pages (an ES module, loaded on every admin page). Talks to the JSON API with
// the session cookie; every piece of data goes into the page through textContent / attributes, never innerHTML.
import { $, el, hide, show } from "./lib/dom.js";
import { api, csrfToken, errorFrom, loginRedirect } from "./lib/api.js";

const API = "/api/v1/kb";

const entryLink = (id) => el("a", { href: "/admin/kb/" + encodeURIComponent(id) }, id);
const statusBadge = (status) => el("span", { className: "badge badge-" + status }, status);

// ---- entries list -------------------------------------------------------------------------------
function initList() {
  const form = $("filters");
  const tbody = document.querySelector("#faq-table tbody");
  const limit = 50;
  let offset = 0;
  const filters = ["q", "language", "status", "category"];
  const params = new URLSearchParams(window.location.search);
  for (const name of filters) if (params.get(name)) form.elements[name].value = params.get(name);

  async function load() {
    const shown = new URLSearchParams();
    for (const name of filters) if (form.elements[name].value.trim()) shown.set(name, form.elements[name].value.trim());
    window.history.replaceState(null, "", window.location.pathname + (shown.size ? "?" + shown : ""));
    const query = new URLSearchParams(shown);
    query.set("limit", limit);
    query.set("offset", offset);
    hide($("list-error"));
    try {
      const page = await api("GET", API + "/faqs?" + query.toString());
      tbody.replaceChildren(
        ...page.items.map((faq) =>
          el("tr", { "data-faq-id": faq.id },
            el("td", {}, entryLink(faq.id)),
            el("td", { className: "question" }, faq.question),
            el("td", {}, faq.language),
            el("td", {}, faq.category || "—"),
            el("td", {}, statusBadge(faq.status)),
            el("td", { className: "num" }, faq.variants.length),
            el("td", { className: "num" }, faq.version)))
      );
      const last = Math.min(offset + page.items.length, page.total);
      $("list-summary").textContent = page.total
        ? "Showing " + (offset + 1) + "–" + last + " of " + page.total + " entries"
        : "No entries match.";
      $("prev-page").disabled = offset === 0;
      $("next-page").disabled = last >= page.total;
    } catch (err) {
      show($("list-error"), err.message);
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  for (const name of ["language", "status"]) form.elements[name].addEventListener("change", () => form.requestSubmit());
  $("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
  $("next-page").addEventListener("click", () => { offset += limit; load(); });
  load();
}

// ---- edit / new entry ---------------------------------------------------------------------------
function initEdit() {
  const form = $("faq-form");
  const faqId = form.dataset.faqId;
  const fields = (name) => form.elements[name];

  function fill(faq) {
    for (const name of ["question", "answer", "language", "status"]) fields(name).value = faq[name];
    fields("variants").value = faq.variants.join("\n");
    fields("category").value = faq.category || "";
    fields("tags").value = faq.tags.join(", ");
    $("version-label").textContent = "version " + faq.version + " · " + faq.status;
  }

  function body() {
    const lines = (text, sep) => text.split(sep).map((s) => s.trim()).filter(Boolean);
    const data = {
      question: fields("question").value,
      variants: lines(fields("variants").value, /\r?\n/),
      answer: fields("answer").value,
      language: fields("language").value,
      category: fields("category").value.trim() || null,
      tags: lines(fields("tags").value, ","),
      status: fields("status").value,
    };
    if (!faqId && fields("id").value.trim()) data.id = fields("id").value.trim();
    return data;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide($("edit-error"));
    hide($("edit-ok"));
    try {
      if (faqId) {
        const faq = await api("PATCH", API + "/faqs/" + encodeURIComponent(faqId), body());
        fill(faq);
        show($("edit-ok"), "Saved: version " + faq.version + " (" + faq.status + ").");
      } else {
        const faq = await api("POST", API + "/faqs", body());
        window.location.assign("/admin/kb/" + encodeURIComponent(faq.id) + "?created=1");
      }
    } catch (err) {
      show($("edit-error"), err.message);
    }
  });

  if (faqId) {
    if (new URLSearchParams(window.location.search).get("created")) show($("edit-ok"), "Entry created.");
    api("GET", API + "/faqs/" + encodeURIComponent(faqId)).then(fill, (err) => show($("edit-error"), err.message));
  }
}

// ---- try a question -----------------------------------------------------------------------------
function initTry() {
  const form = $("try-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide($("try-error"));
    const query = new URLSearchParams({ q: form.elements.q.value, k: form.elements.k.value });
    if (form.elements.lang.value) query.set("lang", form.elements.lang.value);
    try {
      const result = await api("GET", API + "/search?" + query.toString());
      const badge = $("try-decision");
      badge.textContent = result.decision;
      badge.className = "badge decision-" + result.decision;
      $("try-took").textContent = "(" + result.took_ms + " ms)";
      document.querySelector("#try-table tbody").replaceChildren(
        ...result.results.map((hit, i) =>
          el("tr", { "data-faq-id": hit.faq_id },
            el("td", { className: "num" }, i + 1),
            el("td", {}, entryLink(hit.faq_id)),
            el("td", { className: "question" }, hit.question),
            el("td", { className: "num score" }, hit.score.toFixed(3)),
            el("td", {}, hit.category || "—")))
      );
      $("try-result").classList.remove("hidden");
    } catch (err) {
      show($("try-error"), err.message);
    }
  });
}

// ---- import (with upload progress) --------------------------------------------------------------
function initImport() {
  const form = $("import-form");
  const progress = $("import-progress");
  const errorRows = document.querySelector("#import-error-table tbody");

  function showErrors(message, details) {
    $("import-error-message").textContent = message;
    errorRows.replaceChildren(
      ...(Array.isArray(details) ? details : [])
        .filter((d) => d && d.row !== undefined)
        .map((d) => el("tr", {}, el("td", { className: "num" }, d.row),
          el("td", {}, el("ul", {}, ...(d.errors || []).map((e) => el("li", {}, e))))))
    );
    $("import-errors").classList.remove("hidden");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    hide($("import-report"));
    $("import-errors").classList.add("hidden");
    const data = new FormData();
    data.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", API + "/import");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    progress.value = 0;
    progress.classList.remove("hidden");
    $("import-button").disabled = true;
    $("import-status").textContent = "Uploading " + file.name + "…";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.upload.addEventListener("load", () => {
      progress.value = 100;
      $("import-status").textContent = "Uploaded; checking and importing…";
    });
    xhr.addEventListener("load", () => {
      $("import-button").disabled = false;
      if (xhr.status === 401) return loginRedirect();
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: reported by status below */ }
      $("import-status").textContent = file.name;
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        show($("import-report"), "Imported " + body.total + " entries: " + body.created + " created, " +
          body.updated + " updated.");
      } else {
        const err = errorFrom(xhr.status, body);
        showErrors(err.message, err.details);
      }
    });
    xhr.addEventListener("error", () => { $("import-button").disabled = false; showErrors("the upload failed", []); });
    xhr.send(data);
  });
}

// ---- unanswered inbox ---------------------------------------------------------------------------
function initUnanswered() {
  const container = $("groups");
  const language = $("unanswered-language");
  api("GET", API + "/faqs?limit=500").then((page) => $("faq-ids").replaceChildren(
    ...page.items.map((f) => el("option", { value: f.id, label: f.question }))), () => {});

  async function resolve(group, button, work) {
    hide($("unanswered-error"));
    hide($("unanswered-ok"));
    button.disabled = true;
    try {
      show($("unanswered-ok"), await work(group.items));
      await load();
    } catch (err) {
      show($("unanswered-error"), err.message);
      button.disabled = false;
    }
  }

  async function addVariants(items, faqId) {
    for (const item of items) {
      await api("POST", API + "/unanswered/" + item.id + "/add-variant", { faq_id: faqId });
    }
    return "Added " + items.length + " question(s) as variants of " + faqId + ".";
  }

  function groupCard(group, index) {
    const top = group.items.find((i) => i.top_faq_id) || {};
    const faqInput = el("input", { name: "faq_id", required: true, placeholder: "entry id", value: top.top_faq_id || "",
      className: "faq-id-input", "aria-label": "Entry id", list: "faq-ids" });
    const addButton = el("button", { type: "submit", className: "primary" }, "Add as variant");
    const addForm = el("form", { className: "inline add-variant" }, el("span", {}, "Add as variant of "), faqInput, addButton);
    addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      resolve(group, addButton, (items) => addVariants(items, faqInput.value.trim()));
    });
    const answer = el("textarea", { name: "answer", rows: 2, required: true, placeholder: "Answer", maxLength: 10000 });
    const category = el("input", { name: "category", placeholder: "category", maxLength: 64 });
    const status = el("select", { name: "status" }, el("option", { value: "draft" }, "draft"),
      el("option", { value: "published" }, "published"));
    const newButton = el("button", { type: "submit" }, "Create entry");
    const newForm = el("form", { className: "inline new-entry" }, answer, category, status, newButton);
    newForm.addEventListener("submit", (event) => {
      event.preventDefault();
      resolve(group, newButton, async (items) => {
        const entry = await api("POST", API + "/unanswered/" + items[0].id + "/new-entry",
          { answer: answer.value, category: category.value.trim() || null, status: status.value });
        if (items.length > 1) await addVariants(items.slice(1), entry.id);
        return "Created entry " + entry.id + " (" + entry.status + ") from the question.";
      });
    });
    return el("article", { className: "card group", "data-group": index },
      el("div", { className: "heading" },
        el("h2", { className: "representative" }, group.representative),
        el("span", { className: "count badge" }, group.count + " asked"),
        el("span", { className: "badge" }, group.language)),
      el("ul", { className: "items" }, ...group.items.map((item) =>
        el("li", {}, el("span", { className: "item-text" }, item.text),
          el("span", { className: "muted" }, item.top_faq_id
            ? " · closest " + item.top_faq_id + " (" + (item.top_score ?? 0).toFixed(3) + ")" : "")))),
      addForm,
      el("details", {}, el("summary", {}, "Start a new entry from this question"), newForm));
  }

  async function load() {
    const query = language.value ? "?language=" + encodeURIComponent(language.value) : "";
    try {
      const groups = await api("GET", API + "/unanswered" + query);
      const total = groups.reduce((n, g) => n + g.count, 0);
      $("unanswered-summary").textContent = groups.length
        ? groups.length + " group(s), " + total + " question(s)"
        : "Nothing unanswered.";
      container.replaceChildren(...groups.map(groupCard));
    } catch (err) {
      show($("unanswered-error"), err.message);
    }
  }

  language.addEventListener("change", load);
  load();
}

const PAGES = { "kb-list": initList, "kb-edit": initEdit, "kb-try": initTry, "kb-import": initImport,
  "kb-unanswered": initUnanswered };
// A module runs once the document is parsed: the page is there.
(PAGES[document.body.dataset.page] || (() => {}))();
