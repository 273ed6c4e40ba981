"""The dashboard's two charts as plain numbers for inline SVG (no script, no library).

Pure functions: they take the data and a size and return coordinates; the templates draw
them with ``<polyline>`` and ``<rect>`` (presentation attributes, so the page's
Content-Security-Policy needs no inline styles) next to a table with the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

# Colour-blind-safe (Okabe-Ito) and with enough contrast on white.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    points: str  # "x,y x,y …" for <polyline points>
    last: int


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    lines: tuple[Line, ...]
    y_max: int
    start: datetime | None
    end: datetime | None


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime, int]]],
    end: datetime,
    width: int = 640,
    height: int = 200,
) -> LineChart:
    """Step lines of cumulative counts over time, one per series, on a shared scale,
    from the first point to ``end`` (now), where each line holds its last value."""
    moments = [t for points in series.values() for t, _ in points]
    if not moments:
        return LineChart(width, height, (), 0, None, None)
    start, end = min(moments), max(moments + [end])
    span = max((end - start).total_seconds(), 1.0)
    y_max = max(n for points in series.values() for _, n in points)
    pad = 8

    def x(t: datetime) -> float:
        return pad + (width - 2 * pad) * (t - start).total_seconds() / span

    def y(n: int) -> float:
        return height - pad - (height - 2 * pad) * n / max(y_max, 1)

    lines = []
    for index, (label, points) in enumerate(sorted(series.items())):
        coords = [(x(start), y(0))]
        previous = 0
        for t, n in points:
            coords += [(x(t), y(previous)), (x(t), y(n))]
            previous = n
        coords.append((x(end), y(previous)))
        text = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
        lines.append(Line(label, PALETTE[index % len(PALETTE)], text, previous))
    return LineChart(width, height, tuple(lines), y_max, start, end)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    colour: str
    label: str
    value: int


@dataclass(frozen=True)
class BarGroup:
    label: str
    x: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    groups: tuple[BarGroup, ...]
    keys: tuple[tuple[str, str], ...]  # (name, colour) for the legend
    y_max: int


def bar_chart(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    keys: Sequence[str],
    width: int = 640,
    height: int = 200,
) -> BarChart:
    """Grouped bars: for each row (a digest) one bar per key (sent, bounced, complained)."""
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    y_max = max([v.get(k, 0) for _, v in rows for k in keys] + [0])
    pad, label_room = 8, 20
    plot = height - pad - label_room
    slot = (width - 2 * pad) / max(len(rows), 1)
    bar_width = slot * 0.8 / max(len(keys), 1)
    groups = []
    for index, (label, values) in enumerate(rows):
        left = pad + slot * index + slot * 0.1
        bars = []
        for k_index, key in enumerate(keys):
            value = values.get(key, 0)
            h = plot * value / max(y_max, 1)
            bars.append(
                Bar(left + bar_width * k_index, pad + plot - h, h, colours[key], key, value)
            )
        groups.append(BarGroup(label, left, tuple(bars)))
    return BarChart(width, height, tuple(groups), tuple(colours.items()), y_max)
