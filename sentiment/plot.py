"""`kefu sentiment eval`'s chart: a confusion matrix per development set, side by side.

Drawn with matplotlib (imported only here, when the chart is drawn) on a bare Figure, not pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefu_core.charts import chart_style, save

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

HEADING = (
    "Sentiment: confusion matrices on the development sets\n"
    "rows: true label · each cell: count and share of its row"
)
X_LABEL = "predicted label"
Y_LABEL = "true label"
COLOUR_LABEL = "share of the true label's messages"
CMAP = "Blues"
# What the set names in the results stand for (sentiment.evaluate names them).
SET_TITLES = {"tweeteval": "TweetEval, English", "chnsenticorp": "ChnSentiCorp hotel reviews, Chinese"}


def _title(name: str, result: Mapping[str, Any]) -> str:
    about = f"{SET_TITLES[name]}, " if name in SET_TITLES else ""
    return (
        f"{name}: {about}n = {result['n']}\naccuracy {result['accuracy']:.3f} · "
        f"macro-recall {result['macro_recall']:.3f} · macro-F1 {result['macro_f1']:.3f}"
    )


def _panel(ax: Axes, name: str, result: Mapping[str, Any]) -> AxesImage:
    """One set's matrix: shaded by row share, each cell with its count and share."""
    import numpy as np

    classes = list(result["classes"])
    counts = np.asarray(result["confusion"], dtype=float).reshape(len(classes), len(classes))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # rows: truth
    image = ax.imshow(shares, cmap=CMAP, vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j, i, f"{int(counts[i, j])}\n{100 * shares[i, j]:.1f} %",
                ha="center", va="center", fontsize="medium",
                color="white" if shares[i, j] > 0.5 else "black",
            )  # fmt: skip
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.set_title(_title(name, result))
    ax.tick_params(length=0)
    return image


def build_figure(results: Mapping[str, Mapping[str, Any]]) -> Figure:
    """The confusion matrices as a matplotlib Figure, one panel per set (tests read its texts)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    sizes = [len(r["classes"]) for r in results.values()] or [1]
    with chart_style():
        # Square panels of one height side by side, and room for the colour bar.
        figure = Figure(figsize=(4.6 * len(sizes) + 1.4, 5.2), layout="constrained")
        axes = figure.subplots(1, len(sizes), squeeze=False)[0]
        images = [_panel(ax, name, r) for ax, (name, r) in zip(axes, results.items(), strict=False)]
        if images:
            bar = figure.colorbar(
                images[-1], ax=list(axes), shrink=0.8, format=PercentFormatter(xmax=1, symbol=" %")
            )
            bar.set_label(COLOUR_LABEL)
        figure.suptitle(HEADING)
    return figure


def plot_confusion(results: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """Write the confusion matrices to `path` (PNG, or SVG for a .svg name); returns `path`."""
    fmt = "svg" if path.suffix.lower() == ".svg" else "png"
    save(build_figure(results), [(path, fmt)])
    return path
