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
    """One horizontal bar: from the axis (``x0``) ``width`` long, its value after it."""

    y: float
    width: float
    colour: str
    label: str
    value: int
    value_x: float


@dataclass(frozen=True)
class BarGroup:
    """One digest: its full label (list and period) above its bars."""

    label: str
    label_y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    value: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    x0: float
    axis_y: float
    bar_height: float
    font_size: int
    groups: tuple[BarGroup, ...]
    ticks: tuple[Tick, ...]
    keys: tuple[tuple[str, str], ...]  # (name, colour) for the legend
    y_max: int


# Drawn at about its own size from a phone (390 px: 0.8 scale) to a desktop (the CSS caps
# it at its width), so 16 px labels read as 13 to 16 px and 14 px values as 11 to 14
# (issue 28: 10 characters of the label at 6 px, the list name only in a tooltip, 5 px
# high at 390 px).
BAR_CHART_WIDTH = 420
LABEL_SIZE = 16


def bar_chart(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    keys: Sequence[str],
    width: int = BAR_CHART_WIDTH,
) -> BarChart:
    """Horizontal bars, one group per row (a digest) in the order given (the table's),
    each labelled in full above its bars, one bar per key (sent, bounced, complained)
    with its value printed after it, on a shared scale drawn as an axis with ticks."""
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    y_max = max([v.get(k, 0) for _, v in rows for k in keys] + [0])
    pad, value_room, bar_h, gap = 8.0, 110.0, 12.0, 4.0
    plot = width - 2 * pad - value_room
    group_h = LABEL_SIZE + 6 + len(keys) * (bar_h + gap) + 8

    def length(value: int) -> float:
        return plot * value / max(y_max, 1)

    groups = []
    for index, (label, values) in enumerate(rows):
        top = pad + index * group_h
        bars = []
        for k_index, key in enumerate(keys):
            value = values.get(key, 0)
            y = top + LABEL_SIZE + 6 + k_index * (bar_h + gap)
            bars.append(Bar(y, length(value), colours[key], key, value, pad + length(value) + 4))
        groups.append(BarGroup(label, top + LABEL_SIZE, tuple(bars)))
    axis_y = pad + len(rows) * group_h
    marks = sorted({0, y_max // 2, y_max}) if y_max else [0]
    ticks = tuple(Tick(pad + length(v), v) for v in marks)
    height = int(axis_y + LABEL_SIZE + 12)
    return BarChart(
        width,
        height,
        pad,
        axis_y,
        bar_h,
        LABEL_SIZE,
        tuple(groups),
        ticks,
        tuple(colours.items()),
        y_max,
    )
