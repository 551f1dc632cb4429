"""What the evaluation charts share: fonts that can show Chinese, and saving a figure quietly.

matplotlib is imported inside the functions: only the commands that draw a chart pay for it. Figures
are bare `Figure` objects (no pyplot state); the rc settings and the warning filter below are
process-wide for the moment a chart is built or saved, so draw from one thread at a time (the CLI does).
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

# Names as matplotlib reads them from the font files; a .ttc collection is known by its first face,
# so Debian's fonts-noto-cjk shows up as "Noto Sans CJK JP" (it holds the simplified glyphs as well).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
CJK_FILES = ("notosanscjk", "sourcehansans", "wqy-zenhei", "wqy-microhei")
LATIN_FONT = "DejaVu Sans"  # ships with matplotlib, so always there
DPI = 120
_MISSING_GLYPH = re.compile(r"Glyph \d+ .* missing from font")


@functools.cache
def font_family() -> tuple[str, ...]:
    """DejaVu Sans, then the installed CJK fonts: matplotlib falls back through them glyph by glyph."""
    from matplotlib import font_manager

    def known() -> list[str]:
        names = {font.name for font in font_manager.fontManager.ttflist}
        return [name for name in CJK_FONTS if name in names]

    found = known()
    if not found:
        # matplotlib caches its font list on first use: a CJK font installed since then is not in it.
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in CJK_FILES):
                font_manager.fontManager.addfont(path)
        found = known()
    # DejaVu first keeps Latin text the same with or without a CJK font; matplotlib takes the glyphs
    # DejaVu lacks from the next font. Only installed fonts are named: a missing one logs per text.
    return (LATIN_FONT, *found)


def has_cjk_font() -> bool:
    """Whether Chinese text in a chart will render (a CJK font is installed)."""
    return len(font_family()) > 1


@contextmanager
def chart_style() -> Iterator[None]:
    """matplotlib settings for the charts while a figure is built or saved (texts take them on creation)."""
    import matplotlib

    with matplotlib.rc_context(
        {
            "font.family": list(font_family()),
            "svg.fonttype": "none",  # SVG text stays text: smaller, searchable, drawn by the viewer's fonts
            "svg.hashsalt": "kefu",  # stable element ids, so the same chart gives the same file
            "axes.titlesize": "medium",
        }
    ):
        yield


def save(figure: Figure, paths: Sequence[tuple[Path, str]]) -> list[Path]:
    """Write `figure` to each (path, format) pair, creating folders; returns the paths.

    Without a CJK font every Chinese character would warn on its own; one log line says so instead.
    """
    missing = False
    with chart_style(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path, fmt in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            metadata = {"Date": None} if fmt == "svg" else {}
            figure.savefig(path, format=fmt, dpi=DPI, metadata=metadata)
    for warning in caught:
        if _MISSING_GLYPH.search(str(warning.message)):
            missing = True
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if missing:
        log.warning(
            "the chart has characters no installed font has (Chinese?); "
            "install a CJK font, e.g. Debian's fonts-noto-cjk, to see them"
        )
    return [path for path, _ in paths]
