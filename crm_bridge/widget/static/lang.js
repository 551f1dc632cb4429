// The one language rule, in JavaScript: a copy of kefu_core/language.py (detect_language,
// carries_language) that must follow it exactly; both are tested against tests/fixtures/language_cases.json.
// crm_bridge serves this file and widget.js as one script (/widget.js) inside one closure, so these
// functions are the widget's own and nothing leaks onto the host page.
"use strict";

// No `u` flag: the classes below are UTF-16 code units, which for these BMP ranges are the code points
// Python matches. \s is spelled out because JavaScript's \s is Unicode whitespace and Python's re.ASCII is not.
const LANG_HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g;
const LANG_LATIN = /[A-Za-z]+/g;
// What reads the same in every language: emails, ticket and order numbers, phone numbers, digits, "ok".
const LANG_NEUTRAL = /[\w.%+-]+@[\w.-]+\.[A-Za-z]{2,}|[Tt]-\d+|[+\d][\d \t\n\r\f\v()-]*|ok\b/g;
const LANG_WORD = /[A-Za-z]{2,}/;

/** "zh" when Chinese characters carry the message, else "en" (or `fallback` with no letters). */
function detectLanguage(text, fallback = "en") {
  const value = String(text ?? "");
  const han = (value.match(LANG_HAN) || []).length;
  const latinWords = (value.match(LANG_LATIN) || []).length;
  if (han === 0 && latinWords === 0) return fallback;
  // A Chinese sentence with an English word ("我的order到哪了") is Chinese; one Han character
  // weighs about as much as one English word.
  return han >= latinWords ? "zh" : "en";
}

/** Whether a message says anything about its language (an email, a phone number or "5" does not). */
function carriesLanguage(text) {
  const value = String(text ?? "");
  if (value.startsWith("/")) return false;   // a button payload: the customer clicked, they did not write
  if (value.search(LANG_HAN) !== -1) return true;
  return LANG_WORD.test(value.replace(LANG_NEUTRAL, " "));
}
