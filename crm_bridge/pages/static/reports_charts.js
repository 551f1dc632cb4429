// Trend charts for the Reports dashboard (ES module) with Chart.js 4, vendored as static/lib/chart.umd.js
// (MIT, docs/decisions/0017-report-charts.md). The UMD build sets globalThis.Chart when imported; it needs
// no eval and no inline style, so it runs under the pages' Content-Security-Policy.
import "./lib/chart.umd.js";

const Chart = globalThis.Chart;
const drawn = new Map(); // canvas id -> Chart, destroyed before the canvas is drawn again

/** X-axis label for a point's time at this interval (hour: date and hour; day: date; week: its Monday). */
export function tickLabel(t, interval) {
  const text = String(t);
  if (interval === "hour") return text.slice(5, 16).replace("T", " ");
  return text.slice(0, 10);
}

/**
 * Draw a line (or, with `type: "bar"`, a bar) chart on `canvas`: `spec` = {type, title, xTitle, yTitle,
 * labels, series: [{label, data, color, dashed}], yMin, yMax}. Every chart has its title, both axis titles and a legend. No animation: the
 * figures are there at once (and a screenshot shows them).
 */
export function drawLine(canvas, spec) {
  const old = drawn.get(canvas.id);
  if (old) old.destroy();
  const chart = new Chart(canvas, {
    type: spec.type || "line",
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s) => ({
        label: s.label,
        data: s.data,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: s.dashed ? 2 : 3,
        borderDash: s.dashed ? [6, 4] : [],
        pointRadius: s.dashed ? 0 : 3,
        spanGaps: false, // a period with no figure (null) is a gap, not a zero
        tension: 0,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        title: { display: true, text: spec.title, font: { size: 14, weight: "bold" } },
        legend: { display: true, position: "bottom" },
      },
      scales: {
        x: { title: { display: true, text: spec.xTitle }, ticks: { maxRotation: 0, autoSkip: true } },
        y: {
          title: { display: true, text: spec.yTitle },
          beginAtZero: true,
          suggestedMin: spec.yMin,
          suggestedMax: spec.yMax,
        },
      },
    },
  });
  drawn.set(canvas.id, chart);
  return chart;
}
