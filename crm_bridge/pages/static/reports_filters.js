// The Reports pages' filter form (ES module): the period and segment live in the query string, so a
// reload keeps them and back/forward replay them; Apply pushes a new URL. A 422 naming a field is shown
// next to that field. The links between the Reports pages carry the same filters.
import { $, hide, show } from "./lib/dom.js";
import { FILTERS, fieldOf, filtersFrom, withQuery } from "./reports_shared.js";

/** Parameters the URL keeps besides the filters, with the value that is left out of it (the default). */
const EXTRA_DEFAULTS = { interval: "day" };

/**
 * Wire the page's #report-filters form: `load()` runs on start, on Apply (after the URL changed) and on
 * back/forward. Returns {current, fieldError}: the filters in the URL now (URLSearchParams, the API's
 * names) and a function showing a refused request next to its field (false when it names none).
 */
export function filterForm(load) {
  const form = $("report-filters");

  function fill() {
    const url = new URLSearchParams(window.location.search);
    for (const name of [...FILTERS, ...Object.keys(EXTRA_DEFAULTS)]) {
      const input = form.elements.namedItem(name);
      if (input) input.value = url.get(name) || EXTRA_DEFAULTS[name] || "";
    }
    for (const link of document.querySelectorAll("a[data-subpage]")) {
      link.setAttribute("href", withQuery(link.dataset.subpage, filtersFrom(url)));
    }
  }

  function formParams() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      const text = String(value).trim();
      if (text && text !== EXTRA_DEFAULTS[name]) params.set(name, text);
    }
    return params;
  }

  function clear() {
    for (const node of form.querySelectorAll(".field-error")) hide(node);
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  function run() {
    fill();
    clear();
    load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // Paging restarts with new filters: only the form's fields go into the new URL.
    const url = withQuery(window.location.pathname, formParams());
    if (url !== window.location.pathname + window.location.search) window.history.pushState(null, "", url);
    run();
  });
  window.addEventListener("popstate", run);
  fill();

  return {
    /** The filters in the URL now. */
    current: () => filtersFrom(window.location.search),
    /** Show a 422 next to the field it names; false (nothing shown) for any other error. */
    fieldError(err) {
      const field = fieldOf(err);
      const slot = field && $("error-" + field);
      if (!(err && err.status === 422 && slot)) return false;
      show(slot, err.message);
      const input = form.elements.namedItem(field);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      return true;
    },
    start: run,
  };
}
