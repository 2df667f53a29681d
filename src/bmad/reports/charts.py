"""Inline SVG charts for the HTML report: drawn here, no library, no script, no font fetched."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from bmad.core.datatypes import datatype
from bmad.reports.metrics import format_duration, format_number
from bmad.reports.text import html_text

STATUS_COLOURS = {
    "passed": "#17803d",
    "pass": "#17803d",
    "failed": "#c0262d",
    "fail": "#c0262d",
    "warn": "#b7791f",
    "running": "#2f6fd6",
    "aborted": "#7a8394",
    "interrupted": "#7a8394",
    "skip": "#7a8394",
    "rollback": "#8e44ad",
    "waited": "#5b8bd9",
}
SERIES_COLOURS = ("#2f6fd6", "#e07b00", "#c0262d", "#17803d", "#8e44ad", "#444")


def _esc(text: object) -> str:
    return html_text(text)


@datatype(frozen=True)
class Bar:
    label: str
    start: datetime
    end: datetime
    status: str
    note: str = ""
    # Parts of the row actually drawn (a row of spans: each wait its own rectangle); none: the whole bar.
    segments: tuple[tuple[datetime, datetime], ...] = ()


def timeline_svg(bars: Sequence[Bar], *, width: int = 960, title: str = "Phase timeline") -> str:
    """A Gantt chart: one row per bar, time on x relative to the first start."""
    if not bars:
        return ""
    row, left, right, top = 26, 230, 40, 30
    height = top + row * len(bars) + 56
    t0 = min(b.start for b in bars)
    t1 = max(b.end for b in bars)
    span = max((t1 - t0).total_seconds(), 1e-3)
    plot = width - left - right

    def x(at: datetime) -> float:
        return left + plot * (at - t0).total_seconds() / span

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(title)}" style="max-width:100%;height:auto">',
        f'<text x="{left}" y="18" font-size="13" font-weight="600">{_esc(title)}</text>',
    ]
    for i in range(6):
        gx = left + plot * i / 5
        seconds = span * i / 5
        anchor = "end" if i == 5 else "middle"  # the last tick label ends at the plot's edge: never clipped
        out.append(f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{height - 48}" stroke="#e3e7ee"/>')
        out.append(
            f'<text x="{gx:.1f}" y="{height - 32}" font-size="11" text-anchor="{anchor}" fill="#555">'
            f"+{_esc(format_duration(seconds))}</text>"
        )
    out.append(
        f'<text x="{left + plot / 2:.1f}" y="{height - 10}" font-size="12" text-anchor="middle">'
        "time since the first start</text>"
    )
    for index, bar in enumerate(bars):
        y = top + index * row
        x0, x1 = x(bar.start), x(bar.end)
        w = max(x1 - x0, 2.0)
        colour = STATUS_COLOURS.get(bar.status, "#7a8394")
        seconds = sum((end - start).total_seconds() for start, end in bar.segments or ((bar.start, bar.end),))
        label = f"{format_duration(seconds)} {bar.status}" + (f" · {bar.note}" if bar.note else "")
        name = bar.label if len(bar.label) <= 34 else bar.label[:33] + "…"
        out.append(f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end">{_esc(name)}</text>')
        for start, end in bar.segments or ((bar.start, bar.end),):
            sx0 = x(start)
            out.append(
                f'<rect x="{sx0:.1f}" y="{y + 5}" width="{max(x(end) - sx0, 2.0 if not bar.segments else 1.0):.1f}" '
                f'height="18" rx="{1 if bar.segments else 3}" fill="{colour}">'
                f"<title>{_esc(bar.label)}: {_esc(label)}</title></rect>"
            )
        tx = x0 + w + 6
        anchor = "start"
        if tx > width - 160:
            tx, anchor = x0 - 6, "end"
        out.append(
            f'<text x="{tx:.1f}" y="{y + 18}" font-size="11" fill="#333" text-anchor="{anchor}">{_esc(label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exponent = math.floor(math.log10(value))
    base = float(10.0**exponent)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * base:
            return step * base
    return 10 * base


@datatype(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (x, y)
    axis: str = "left"  # "left" or "right"
    dashed: bool = False


@datatype(frozen=True)
class _Frame:
    """Where a line chart's plot area sits and how values map onto it."""

    xs: list[float]
    left: int
    top: int
    plot_w: int
    plot_h: int
    lmax: float
    rmax: float

    def px(self, value: float) -> float:
        if len(self.xs) == 1:
            return self.left + self.plot_w / 2
        return self.left + self.plot_w * self.xs.index(value) / (len(self.xs) - 1)

    def py(self, value: float, axis: str) -> float:
        top_value = self.lmax if axis == "left" else self.rmax
        return self.top + self.plot_h * (1 - (value / top_value if top_value else 0))


def line_chart_svg(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    left_label: str,
    right_label: str | None = None,
    right_max: float | None = None,
    left_max: float | None = None,
    width: int = 960,
    height: int = 360,
) -> str:
    """Lines over shared x values (plotted evenly by rank, labelled with the x values); ``left_max``
    and ``right_max`` fix the top of an axis (else rounded up from the values)."""
    xs = sorted({x for s in series for x, _ in s.points})
    if not xs:
        return ""
    left, right, top, bottom = 70, 70 if right_label else 20, 40, 60
    left_values = [y for s in series if s.axis == "left" for _, y in s.points]
    right_values = [y for s in series if s.axis == "right" for _, y in s.points]
    frame = _Frame(
        xs=xs,
        left=left,
        top=top,
        plot_w=width - left - right,
        plot_h=height - top - bottom,
        lmax=left_max if left_max is not None else _nice_max(max(left_values, default=1.0) * 1.05),
        rmax=right_max if right_max is not None else _nice_max(max(right_values, default=1.0) * 1.05),
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(title)}" style="max-width:100%;height:auto">',
        f'<text x="{left}" y="20" font-size="13" font-weight="600">{_esc(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{frame.plot_w}" height="{frame.plot_h}" fill="none" stroke="#c9cfd9"/>',
        *_grid(frame, bool(right_label)),
        *_axis_labels(frame, x_label, left_label, right_label, width, height),
        *_lines_and_legend(frame, series, height),
        "</svg>",
    ]
    return "\n".join(out)


def _grid(frame: _Frame, right_axis: bool) -> list[str]:
    left, top, plot_w, plot_h = frame.left, frame.top, frame.plot_w, frame.plot_h
    out: list[str] = []
    for i in range(6):
        gy = top + plot_h * i / 5
        out.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{left + plot_w}" y2="{gy:.1f}" stroke="#eef1f5"/>')
        out.append(
            f'<text x="{left - 6}" y="{gy + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
            f"{_esc(format_number(frame.lmax * (1 - i / 5), 1))}</text>"
        )
        if right_axis:
            out.append(
                f'<text x="{left + plot_w + 6}" y="{gy + 4:.1f}" font-size="11" fill="#555">'
                f"{_esc(format_number(frame.rmax * (1 - i / 5), 1))}</text>"
            )
    return out


def _axis_labels(
    frame: _Frame, x_label: str, left_label: str, right_label: str | None, width: int, height: int
) -> list[str]:
    top, plot_w, plot_h = frame.top, frame.plot_w, frame.plot_h
    out = [
        f'<text x="{frame.px(value):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" fill="#555">'
        f"{_esc(format_number(value, 1))}</text>"
        for value in frame.xs
    ]
    out.append(
        f'<text x="{frame.left + plot_w / 2:.1f}" y="{height - 24}" font-size="12" text-anchor="middle">'
        f"{_esc(x_label)}</text>"
    )
    out.append(
        f'<text x="16" y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2:.1f})">{_esc(left_label)}</text>'
    )
    if right_label:
        rx = width - 12
        out.append(
            f'<text x="{rx}" y="{top + plot_h / 2:.1f}" font-size="12" text-anchor="middle" '
            f'transform="rotate(90 {rx} {top + plot_h / 2:.1f})">{_esc(right_label)}</text>'
        )
    return out


def _lines_and_legend(frame: _Frame, series: Sequence[Series], height: int) -> list[str]:
    out: list[str] = []
    legend_x = frame.left
    for index, item in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        dash = ' stroke-dasharray="6 4"' if item.dashed else ""
        points = sorted(item.points)
        if points:
            path = " ".join(f"{frame.px(x):.1f},{frame.py(y, item.axis):.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for x, y in points:
                out.append(
                    f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(y, item.axis):.1f}" r="3" fill="{colour}">'
                    f"<title>{_esc(item.name)} at {_esc(format_number(x, 1))}: {_esc(format_number(y, 2))}</title>"
                    "</circle>"
                )
        ly = height - 8
        out.append(
            f'<line x1="{legend_x}" y1="{ly - 4}" x2="{legend_x + 18}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{legend_x + 22}" y="{ly}" font-size="11">{_esc(item.name)}</text>')
        legend_x += 30 + 7 * len(item.name)
    return out


@datatype(frozen=True)
class Score:
    """A readiness category: its score (0-100, None when nothing applied) and its failed and skipped items."""

    name: str
    score: float | None
    failed: int = 0
    skipped: int = 0

    @property
    def colour(self) -> str:
        if self.failed:
            return STATUS_COLOURS["fail"]
        if self.skipped:
            return STATUS_COLOURS["warn"]
        return STATUS_COLOURS["pass"] if self.score is not None else STATUS_COLOURS["skip"]


def score_bars_svg(scores: Sequence[Score], *, width: int = 960, title: str = "Score per category") -> str:
    """Bars of 0-100 scores, red where an item failed, amber where one was skipped (unknown), green otherwise."""
    if not scores:
        return ""
    row, left, right, top = 28, 230, 250, 34
    height = top + row * len(scores) + 24
    plot = width - left - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(title)}" style="max-width:100%;height:auto">',
        f'<text x="{left}" y="18" font-size="13" font-weight="600">{_esc(title)}</text>',
    ]
    for index, item in enumerate(scores):
        y = top + index * row
        value = item.score or 0.0
        counts = f"{item.failed} failed, {item.skipped} skipped"
        label = f"{format_number(item.score, 1) if item.score is not None else 'n/a'} · {counts}"
        out.append(f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">{_esc(item.name)}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{plot}" height="16" fill="#eef1f5"/>')
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{max(plot * value / 100, 1.5):.1f}" height="16" '
            f'fill="{item.colour}"><title>{_esc(item.name)}: {_esc(label)}</title></rect>'
        )
        out.append(f'<text x="{left + plot + 6}" y="{y + 15}" font-size="11">{_esc(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


@datatype(frozen=True)
class Pair:
    name: str
    baseline: float | None
    observed: float | None
    ok: bool | None
    difference: str = ""  # observed - baseline, in the metric's unit: shown where no ratio exists (baseline 0)


_PAIR_COLOURS = {True: "#17803d", False: "#c0262d", None: "#2f6fd6"}


def comparison_svg(pairs: Sequence[Pair], *, width: int = 960, title: str = "Post-deploy vs baseline") -> str:
    """Horizontal bars of observed / baseline per metric, with the 1.0 (= baseline) line.

    A metric whose baseline is 0 or missing has no ratio: its row shows the absolute difference
    instead (a bar from the baseline line to the edge when it rose), so a failed metric is never left out.
    """
    usable = [p for p in pairs if p.observed is not None]
    if not usable:
        return ""
    row, left, right, top = 28, 220, 150, 34
    height = top + row * len(usable) + 30
    ratios = [_ratio(p) for p in usable]
    top_ratio = _nice_max(max([*(r for r in ratios if r is not None), 1.0]) * 1.1)
    plot = width - left - right

    def x(ratio: float) -> float:
        return left + plot * max(0.0, min(ratio, top_ratio)) / top_ratio

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(title)}" style="max-width:100%;height:auto">',
        f'<text x="{left}" y="18" font-size="13" font-weight="600">{_esc(title)} (ratio, 1 = baseline)</text>',
    ]
    for index, (pair, ratio) in enumerate(zip(usable, ratios, strict=True)):
        y = top + index * row
        colour = _PAIR_COLOURS[pair.ok]
        out.append(f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">{_esc(pair.name)}</text>')
        if ratio is None:
            out.extend(_absolute_row(pair, y, x(1.0), left + plot, colour))
            continue
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{max(x(ratio) - left, 1.5):.1f}" height="16" fill="{colour}">'
            f"<title>{_esc(pair.name)}: {_esc(format_number(ratio, 3))}× baseline</title></rect>"
        )
        out.append(f'<text x="{x(ratio) + 6:.1f}" y="{y + 15}" font-size="11">{_esc(format_number(ratio, 2))}×</text>')
    one = x(1.0)
    out.append(
        f'<line x1="{one:.1f}" y1="{top - 4}" x2="{one:.1f}" y2="{height - 22}" stroke="#333" stroke-dasharray="4 3"/>'
    )
    out.append(f'<text x="{one:.1f}" y="{height - 8}" font-size="11" text-anchor="middle">baseline</text>')
    out.append("</svg>")
    return "\n".join(out)


def _ratio(pair: Pair) -> float | None:
    if pair.baseline in (None, 0) or pair.observed is None:
        return None
    return float(pair.observed) / float(pair.baseline)


def _absolute_row(pair: Pair, y: int, one: float, end: float, colour: str) -> list[str]:
    """A metric without a ratio: a bar from the baseline line to the edge when it rose, and the difference."""
    baseline = "no baseline" if pair.baseline is None else "baseline 0"
    rose = pair.observed is not None and pair.observed > (pair.baseline or 0)
    text = pair.difference or f"{format_number(pair.observed or 0.0, 3)} ({baseline})"
    bar_end = end if rose else one + 1.5
    return [
        f'<rect x="{one:.1f}" y="{y + 3}" width="{bar_end - one:.1f}" height="16" fill="{colour}">'
        f"<title>{_esc(pair.name)}: {_esc(text)}</title></rect>",
        f'<text x="{bar_end + 6:.1f}" y="{y + 15}" font-size="11">{_esc(text)}</text>',
    ]
