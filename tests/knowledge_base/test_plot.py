"""`kefu kb eval --plot`: the threshold chart carries its texts and is written as a non-blank PNG + SVG."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from knowledge_base.plot import (
    ACCURACY_LABEL,
    HEADING,
    MARKER_LABEL,
    RATE_LABEL,
    X_LABEL,
    Y_LABEL,
    build_figure,
    write_plot,
)

# Answer rate falls with the threshold; past 0.9 nothing is answered, so there is no accuracy.
SWEEP = [
    {
        "threshold": round(t * 0.02, 2),
        "answer_rate": round(1 - t / 50, 4),
        "answered_accuracy": None if t > 45 else round(0.6 + t / 125, 4),
        "answered": 50 - t,
    }
    for t in range(51)
]


def figure_texts(figure: object) -> str:
    """Every text drawn on the figure (annotations, suptitle, ...), joined."""
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in figure.findobj(Text))  # type: ignore[attr-defined]


def test_the_figure_has_a_title_axis_labels_and_a_legend() -> None:
    figure = build_figure(SWEEP, {"en": 0.5, "zh": 0.4}, title="q.jsonl vs kb.jsonl")
    ax = figure.axes[0]
    assert ax.get_title() == f"{HEADING}\nq.jsonl vs kb.jsonl"
    assert ax.get_xlabel() == X_LABEL and "threshold" in X_LABEL
    assert ax.get_ylabel() == Y_LABEL and "answered" in Y_LABEL and "accuracy" in Y_LABEL
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [ACCURACY_LABEL, RATE_LABEL, MARKER_LABEL]
    assert ax.get_xlim() == (0, 1) and ax.get_ylim()[0] == 0


def test_each_configured_threshold_is_marked_with_its_numbers() -> None:
    texts = figure_texts(build_figure(SWEEP, {"en": 0.5, "zh": 0.4}))
    # At 0.40 (step 20): 60 % answered (30 queries), accuracy 0.6 + 20/125 = 76 %.
    assert "zh: threshold 0.40\n60 % answered (30 queries)\n76 % of those right" in texts
    assert "en: threshold 0.50\n50 % answered (25 queries)\n80 % of those right" in texts
    # Two languages on one value share one marker.
    shared = figure_texts(build_figure(SWEEP, {"en": 0.5, "zh": 0.5}))
    assert "en, zh: threshold 0.50" in shared and shared.count("threshold 0.50") == 1


def test_points_without_accuracy_break_the_line_instead_of_dropping_to_zero() -> None:
    ax = build_figure(SWEEP, {}).axes[0]
    accuracy = next(line for line in ax.get_lines() if line.get_label() == ACCURACY_LABEL)
    ys = np.asarray(accuracy.get_ydata(), dtype=float)
    assert np.isnan(ys[-1]) and not (ys == 0).any()
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) == 2  # no threshold given


def assert_readable_png(path: Path, min_width: int = 600) -> None:
    """A real PNG of a sensible size, with something drawn on it (not one flat colour)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min_width <= image.width <= 3000 and 300 <= image.height <= 2000
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20  # black text and coloured curves on white
    assert (pixels < 100).mean() > 0.005  # enough dark pixels for text and lines


def test_write_plot_writes_a_png_and_the_same_chart_as_svg(tmp_path: Path) -> None:
    png = tmp_path / "charts" / "sweep.png"
    assert write_plot(png, SWEEP, {"en": 0.5}, title="demo") == [png, png.with_suffix(".svg")]
    assert_readable_png(png)
    svg = ElementTree.parse(png.with_suffix(".svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert HEADING in " ".join(svg.itertext()) and ACCURACY_LABEL in " ".join(svg.itertext())


def test_svg_only_when_asked_for_svg(tmp_path: Path) -> None:
    svg = tmp_path / "chart.svg"
    assert write_plot(svg, [{"threshold": 0.5, "answer_rate": 0.5, "answered_accuracy": None}]) == [svg]
    assert ElementTree.parse(svg).getroot().tag.endswith("svg") and not (tmp_path / "chart.png").exists()


def test_an_empty_sweep_still_draws(tmp_path: Path) -> None:
    png = tmp_path / "empty.png"
    write_plot(png, [], {"en": 0.5})
    assert_readable_png(png)


def test_chinese_text_without_a_cjk_font_logs_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import warnings

    from kefu_core import charts

    monkeypatch.setattr(charts, "font_family", lambda: (charts.LATIN_FONT,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a per-glyph warning escaping save() fails the test
        write_plot(tmp_path / "zh.png", SWEEP, {"zh": 0.4}, title="常见问题 vs 测试集")
    assert [r.getMessage() for r in caplog.records if "fonts-noto-cjk" in r.getMessage()] != []
    assert len(caplog.records) == 1


def test_chinese_text_draws_quietly_where_a_cjk_font_is_installed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import warnings

    from kefu_core.charts import has_cjk_font

    if not has_cjk_font():
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_plot(tmp_path / "zh.png", SWEEP, {"zh": 0.4}, title="常见问题 vs 测试集")
    assert caplog.records == []
    assert_readable_png(tmp_path / "zh.png")
