"""`kefu kb eval --plot`: how many queries get answered, and how many of those rightly, per answer threshold.

Drawn with matplotlib (imported only here, when a chart is asked for) on a bare Figure, not pyplot, so
no global figure state is involved. The same figure is written as PNG and as SVG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefu_core.charts import chart_style, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

HEADING = "Answered queries and their accuracy by answer threshold"
X_LABEL = "answer threshold (fused score the best entry must reach)"
Y_LABEL = "share of queries answered / accuracy of the answered"
ACCURACY_LABEL = "accuracy of answered queries"
RATE_LABEL = "share of queries answered"
MARKER_LABEL = "configured answer threshold"
ACCURACY, RATE, MARKER = "#1f77b4", "#ff7f0e", "#d62728"  # blue, orange, red: the colours of earlier charts
FOOTNOTE = (
    "A query is answered when its best score reaches the threshold and beats the runner-up by the "
    "language's margin;\nan out-of-scope query that gets answered counts as wrong."
)


def _series(sweep: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    # No answered queries means no accuracy: NaN breaks the line there rather than drawing a false 0.
    xs = [float(p["threshold"]) for p in sweep]
    ys = [math.nan if p.get(key) is None else float(p[key]) for p in sweep]
    return xs, ys


def _at(sweep: Sequence[Mapping[str, Any]], threshold: float) -> Mapping[str, Any] | None:
    """The sweep point at `threshold` (the sweep steps by 0.02, as the shipped thresholds do)."""
    near = [p for p in sweep if abs(float(p["threshold"]) - threshold) < 1e-6]
    return near[0] if near else None


def _group(thresholds: Mapping[str, float]) -> list[tuple[float, str]]:
    """(value, "en, zh") per distinct threshold: languages sharing a value share a marker."""
    by_value: dict[float, list[str]] = {}
    for language, value in thresholds.items():
        by_value.setdefault(round(float(value), 4), []).append(language)
    return [(value, ", ".join(sorted(names))) for value, names in sorted(by_value.items())]


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f} %"


def _mark(ax: Axes, sweep: Sequence[Mapping[str, Any]], thresholds: Mapping[str, float]) -> None:
    """A dashed line per configured threshold, with what the sweep says happens there."""
    for i, (value, names) in enumerate(_group(thresholds)):
        ax.axvline(value, color=MARKER, linestyle="--", linewidth=1.2, label=MARKER_LABEL if i == 0 else None)
        lines = [f"{names}: threshold {value:.2f}" if names else f"threshold {value:.2f}"]
        point = _at(sweep, value)
        if point is not None:
            answered = point.get("answered")
            count = f" ({answered} queries)" if answered is not None else ""
            lines.append(f"{_pct(point.get('answer_rate'))} answered{count}")
            lines.append(f"{_pct(point.get('answered_accuracy'))} of those right")
            for key, colour in (("answer_rate", RATE), ("answered_accuracy", ACCURACY)):
                if point.get(key) is not None:
                    ax.plot([value], [float(point[key])], "o", color=colour, markersize=7, zorder=4)
        # Left of its line, low down: the share answered only falls as the threshold rises, so that
        # corner is usually empty. Stacked so that two boxes do not overlap; right of it near x = 0.
        left = value >= 0.25
        ax.annotate(
            "\n".join(lines),
            xy=(value, 0.03 + 0.16 * i),
            xytext=(-6 if left else 6, 0),
            textcoords="offset points",
            ha="right" if left else "left",
            va="bottom",
            fontsize="small",
            color=MARKER,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": MARKER, "alpha": 0.9},
            zorder=5,
        )


def build_figure(
    sweep: Sequence[Mapping[str, Any]], thresholds: Mapping[str, float] | None = None, title: str = ""
) -> Figure:
    """The threshold chart as a matplotlib Figure (tests read its texts; write_plot saves it)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    with chart_style():
        figure = Figure(figsize=(8, 5.6), layout="constrained")
        ax = figure.subplots()
        for key, colour, label in (
            ("answered_accuracy", ACCURACY, ACCURACY_LABEL),
            ("answer_rate", RATE, RATE_LABEL),
        ):
            ax.plot(*_series(sweep, key), color=colour, linewidth=2, marker=".", markersize=5, label=label)
        _mark(ax, sweep, thresholds or {})
        ax.set_title(f"{HEADING}\n{title}" if title else HEADING)
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(Y_LABEL)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.04)
        ax.xaxis.set_major_locator(MultipleLocator(0.1))
        ax.yaxis.set_major_locator(MultipleLocator(0.1))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0, symbol=" %"))
        ax.grid(True, color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=3, frameon=False)
        figure.supxlabel(FOOTNOTE, fontsize="x-small", color="#555555")
    return figure


def write_plot(
    path: Path,
    sweep: Sequence[Mapping[str, Any]],
    thresholds: Mapping[str, float] | None = None,
    title: str = "",
) -> list[Path]:
    """Write `path` (PNG) and the same chart as SVG beside it (.svg); returns the files written.

    A `path` ending in .svg gets the SVG only.
    """
    figure = build_figure(sweep, thresholds, title)
    svg = path.with_suffix(".svg")
    targets = [(svg, "svg")] if path == svg else [(path, "png"), (svg, "svg")]
    return save(figure, targets)
