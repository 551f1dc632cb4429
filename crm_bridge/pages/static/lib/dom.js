// DOM helpers shared by the admin pages and the agent console (ES module). Every piece of data reaches
// the page through textContent or attributes, never innerHTML.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * el("td", {className: "x", text: "…", onclick: fn, "data-id": 3}, "text", otherNode): a new element.
 * Props: `className`; `text` (its textContent); `on<event>` with a function (a listener); `true` is a
 * boolean attribute, `false`/null/undefined leave the attribute out; anything else is an attribute.
 * Children: nodes, or anything else as text; null, undefined and false are skipped.
 */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Put `text` in `node` and show it. */
export function show(node, text) {
  node.textContent = text;
  node.classList.remove("hidden");
}

/** Empty `node` and hide it. */
export function hide(node) {
  node.textContent = "";
  node.classList.add("hidden");
}
