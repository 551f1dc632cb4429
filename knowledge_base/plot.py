"""Accuracy against the answer threshold, drawn without a plotting library.

Neither matplotlib nor Pillow is a dependency of kefu, and a whole plotting stack for one chart is
not worth it. So the chart is written twice: an SVG with axes labels and a legend (text is free in
SVG), and a small PNG drawn on an RGB raster and encoded with zlib + struct. The PNG has no text,
because that would need a font; its colours and layout match the SVG.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Colour = tuple[int, int, int]
WIDTH, HEIGHT, PAD = 640, 400, 50
ACCURACY: Colour = (31, 119, 180)  # blue: accuracy of the answered queries
RATE: Colour = (255, 127, 14)  # orange: share of queries answered
MARKER: Colour = (214, 39, 40)  # red: the configured answer threshold
GRID: Colour = (225, 225, 225)
AXIS: Colour = (60, 60, 60)


class Raster:
    """An RGB image with the few drawing operations the chart needs."""

    def __init__(self, width: int, height: int, background: Colour = (255, 255, 255)) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * width * height)

    def dot(self, x: int, y: int, colour: Colour, size: int = 1) -> None:
        """A filled square of side `2*size-1` centred on (x, y), clipped to the image."""
        for yy in range(y - size + 1, y + size):
            for xx in range(x - size + 1, x + size):
                if 0 <= xx < self.width and 0 <= yy < self.height:
                    i = 3 * (yy * self.width + xx)
                    self.pixels[i : i + 3] = bytes(colour)

    def line(self, x0: int, y0: int, x1: int, y1: int, colour: Colour, size: int = 1) -> None:
        """A straight line (Bresenham), `size` pixels thick."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.dot(x0, y0, colour, size)
            if x0 == x1 and y0 == y1:
                return
            twice = 2 * err
            if twice >= dy:
                err, x0 = err + dy, x0 + sx
            if twice <= dx:
                err, y0 = err + dx, y0 + sy

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB, no filtering)."""
        stride = 3 * self.width
        # Every scanline starts with its filter type; 0 = none.
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def _series(sweep: Sequence[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    # Points with no answered queries have no accuracy; they are left out rather than drawn at 0.
    return [(float(p["threshold"]), float(p[key])) for p in sweep if p.get(key) is not None]


def _xy(x: float, y: float) -> tuple[int, int]:
    """Chart coordinates (both 0..1) to pixels."""
    return round(PAD + x * (WIDTH - 2 * PAD)), round(HEIGHT - PAD - y * (HEIGHT - 2 * PAD))


def render_png(sweep: Sequence[dict[str, Any]], markers: Sequence[float] = ()) -> bytes:
    """The chart as PNG bytes: grid, axes, the two curves and the configured threshold(s)."""
    img = Raster(WIDTH, HEIGHT)
    for tick in range(11):
        x, y = _xy(tick / 10, tick / 10)
        img.line(x, _xy(0, 0)[1], x, _xy(0, 1)[1], GRID)
        img.line(_xy(0, 0)[0], y, _xy(1, 0)[0], y, GRID)
    for value in markers:
        x = _xy(value, 0)[0]
        img.line(x, _xy(0, 0)[1], x, _xy(0, 1)[1], MARKER)
    for key, colour in (("answer_rate", RATE), ("answered_accuracy", ACCURACY)):
        points = [_xy(x, y) for x, y in _series(sweep, key)]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            img.line(x0, y0, x1, y1, colour, size=2)
        for x, y in points:
            img.dot(x, y, colour, size=3)
    img.line(*_xy(0, 0), *_xy(1, 0), AXIS)
    img.line(*_xy(0, 0), *_xy(0, 1), AXIS)
    return img.png()


def render_svg(sweep: Sequence[dict[str, Any]], markers: Sequence[float] = (), title: str = "") -> str:
    """The same chart as SVG, with tick labels, axis titles and a legend."""

    def hexc(c: Colour) -> str:
        return "#{:02x}{:02x}{:02x}".format(*c)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    for tick in range(11):
        (x, y), v = _xy(tick / 10, tick / 10), tick / 10
        parts.append(f'<line x1="{x}" y1="{PAD}" x2="{x}" y2="{HEIGHT - PAD}" stroke="{hexc(GRID)}"/>')
        parts.append(f'<line x1="{PAD}" y1="{y}" x2="{WIDTH - PAD}" y2="{y}" stroke="{hexc(GRID)}"/>')
        parts.append(f'<text x="{x}" y="{HEIGHT - PAD + 14}" text-anchor="middle">{v:.1f}</text>')
        parts.append(f'<text x="{PAD - 6}" y="{y + 4}" text-anchor="end">{v:.1f}</text>')
    for value in markers:
        x = _xy(value, 0)[0]
        parts.append(
            f'<line x1="{x}" y1="{PAD}" x2="{x}" y2="{HEIGHT - PAD}" stroke="{hexc(MARKER)}" '
            f'stroke-dasharray="4 3"/>'
        )
    legend_y = 18
    for key, colour, label in (
        ("answered_accuracy", ACCURACY, "accuracy of answered queries"),
        ("answer_rate", RATE, "share of queries answered"),
    ):
        coords = " ".join(f"{x},{y}" for x, y in (_xy(a, b) for a, b in _series(sweep, key)))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{hexc(colour)}" stroke-width="2"/>')
        parts.append(
            f'<rect x="{WIDTH - 230}" y="{legend_y - 9}" width="12" height="4" fill="{hexc(colour)}"/>'
        )
        parts.append(f'<text x="{WIDTH - 212}" y="{legend_y - 4}">{label}</text>')
        legend_y += 14
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">answer threshold</text>')
    if title:
        parts.append(f'<text x="{PAD}" y="20" font-size="13">{_escape(title)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_plot(
    path: Path, sweep: Sequence[dict[str, Any]], markers: Sequence[float] = (), title: str = ""
) -> Path:
    """Write `path` (PNG) and the labelled SVG beside it (same name, .svg); returns the SVG path.

    A `path` ending in .svg gets the SVG only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = path.with_suffix(".svg")
    if path != svg:
        path.write_bytes(render_png(sweep, markers))
    svg.write_text(render_svg(sweep, markers, title), encoding="utf-8")
    return svg
