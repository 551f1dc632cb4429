// Small inline charts for the Reports tables (ES module): a weekly sparkline and a stacked share bar, as
// SVG built element by element (attributes only: no style attribute, which the pages' CSP refuses).
const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) if (child) node.append(child);
  return node;
}

const titled = (text) => { const t = svgEl("title"); t.textContent = text; return t; };

/** Bars of `points` ([{label, count}]) in a 100×24 box, scaled to the largest; its title lists them. */
export function sparkline(points, name) {
  const max = Math.max(1, ...points.map((p) => p.count));
  const width = 100 / Math.max(1, points.length);
  const bars = points.map((p, i) => {
    const h = p.count ? Math.max(2, (p.count / max) * 22) : 0;
    return svgEl("rect", { x: (i * width + 1).toFixed(2), y: (24 - h).toFixed(2), width: Math.max(1, width - 2).toFixed(2),
      height: h.toFixed(2), class: "spark-bar" }, titled(p.label + ": " + p.count));
  });
  const text = name + ": " + points.map((p) => p.label + " " + p.count).join(", ");
  return svgEl("svg", { class: "sparkline", viewBox: "0 0 100 24", width: 100, height: 24, role: "img", "aria-label": text },
    titled(text), svgEl("line", { x1: 0, y1: 23.5, x2: 100, y2: 23.5, class: "spark-base" }), ...bars);
}

/** One bar 100 wide split by `parts` ([{key, count}], each drawn with the class "share-<key>"). */
export function shareBar(parts, name) {
  const total = parts.reduce((sum, p) => sum + p.count, 0);
  let x = 0;
  const pieces = total ? parts.filter((p) => p.count).map((p) => {
    const w = (p.count / total) * 100;
    const rect = svgEl("rect", { x: x.toFixed(2), y: 0, width: w.toFixed(2), height: 10, class: "share-" + p.key },
      titled(p.key + ": " + p.count));
    x += w;
    return rect;
  }) : [svgEl("rect", { x: 0, y: 0, width: 100, height: 10, class: "share-none" })];
  const text = name + ": " + parts.map((p) => p.key + " " + p.count).join(", ");
  return svgEl("svg", { class: "sharebar", viewBox: "0 0 100 10", width: 100, height: 10, preserveAspectRatio: "none",
    role: "img", "aria-label": text }, titled(text), ...pieces);
}
