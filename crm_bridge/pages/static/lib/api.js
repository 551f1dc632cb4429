// The JSON API with the session cookie, shared by the admin pages and the agent console (ES module).

/** A refused request: the server's message, the HTTP status and the error's details (if any). */
export class ApiError extends Error {
  constructor(message, status, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
  }
}

/** To the login page, back here afterwards (the session has ended). */
export function loginRedirect() {
  window.location.assign("/admin/login?next=" + encodeURIComponent(window.location.pathname));
}

/** The ApiError for a failed response: `{"error": {"message", "details"}}` when the server sent one. */
export function errorFrom(status, data) {
  const err = data && data.error;
  const message = err && err.message ? err.message : "request failed (HTTP " + status + ")";
  return new ApiError(message, status, err ? err.details : undefined);
}

/** The session's CSRF token: the page's <meta name="csrf-token">, else the kefu_csrf cookie. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const found = document.cookie.split("; ").find((c) => c.startsWith("kefu_csrf="));
  return found ? decodeURIComponent(found.slice("kefu_csrf=".length)) : "";
}

/** Methods that change something carry the CSRF token (the server refuses them without it). */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Call the API: `body` (if given) goes as JSON, `headers` are added (e.g. Idempotency-Key).
 * Resolves to the JSON answer, or null for 204 or a body that is not JSON; rejects with an ApiError
 * (after sending the browser to the login page on 401).
 */
export async function api(method, url, body, headers) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (!SAFE_METHODS.has(method.toUpperCase())) options.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  if (response.status === 401) {
    loginRedirect();
    throw new ApiError("your session has ended", 401);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, data);
  return data;
}

/** The items of a list answer: a bare array or a page `{items: [...]}`. */
export const itemsOf = (data) => (Array.isArray(data) ? data : (data && data.items) || []);
