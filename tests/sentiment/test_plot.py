"""`kefu sentiment eval`'s confusion matrices: a labelled panel per set, counts and row shares in cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sentiment.plot import COLOUR_LABEL, HEADING, X_LABEL, Y_LABEL, build_figure, plot_confusion

RESULTS = {
    "tweeteval": {
        "accuracy": 0.6, "macro_recall": 0.6512, "macro_f1": 0.6211, "n": 10,
        "classes": ["negative", "neutral", "positive"],
        "confusion": [[2, 1, 0], [1, 2, 1], [0, 0, 3]],
    },
    "chnsenticorp": {
        "accuracy": 0.75, "macro_recall": 0.75, "macro_f1": 0.7333, "n": 4,
        "classes": ["negative", "positive"],
        "confusion": [[1, 1], [0, 2]],
    },
}  # fmt: skip


def test_one_labelled_panel_per_set_with_class_names_on_the_ticks() -> None:
    figure = build_figure(RESULTS)
    panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    tweets, hotels = panels
    assert tweets.get_title().startswith("tweeteval: TweetEval, English, n = 10\naccuracy 0.600")
    assert "macro-recall 0.651" in tweets.get_title() and "macro-F1 0.621" in tweets.get_title()
    assert hotels.get_title().startswith("chnsenticorp: ChnSentiCorp")
    for ax, classes in ((tweets, RESULTS["tweeteval"]["classes"]), (hotels, ["negative", "positive"])):
        assert ax.get_xlabel() == X_LABEL == "predicted label" and ax.get_ylabel() == Y_LABEL == "true label"
        assert [t.get_text() for t in ax.get_xticklabels()] == classes
        assert [t.get_text() for t in ax.get_yticklabels()] == classes
    assert figure.get_suptitle() == HEADING


def test_every_cell_shows_its_count_and_row_share() -> None:
    tweets, hotels = build_figure(RESULTS).axes[:2]
    cells = {t.get_text() for t in tweets.texts}
    assert len(tweets.texts) == 9 and len(hotels.texts) == 4
    assert {"2\n66.7 %", "1\n33.3 %", "0\n0.0 %", "1\n25.0 %", "3\n100.0 %"} <= cells
    assert {t.get_text() for t in hotels.texts} == {"1\n50.0 %", "0\n0.0 %", "2\n100.0 %"}


def test_the_colour_bar_explains_the_shading() -> None:
    figure = build_figure(RESULTS)
    bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1 and bars[0].get_ylabel() == COLOUR_LABEL


def test_plot_confusion_writes_a_readable_png(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "cm.png"
    assert plot_confusion(RESULTS, path) == path
    with Image.open(path) as image:
        assert image.format == "PNG" and 900 <= image.width <= 3000 and 400 <= image.height <= 2000
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20 and (pixels < 100).mean() > 0.01  # dark cells and text on white


def test_a_single_set_gets_a_single_panel(tmp_path: Path) -> None:
    only = {"chnsenticorp": RESULTS["chnsenticorp"]}
    figure = build_figure(only)
    assert len([ax for ax in figure.axes if ax.get_label() != "<colorbar>"]) == 1
    path = plot_confusion(only, tmp_path / "zh.png")
    with Image.open(path) as image:
        assert image.width >= 500
