"""A tiny server-side SVG chart renderer: bar and line charts, no JavaScript, no CDN.

Every label goes through ``format_html``/``escape``, so text from intents, keys or reports can
never break out of the SVG. The numbers are always shown in a table beside the chart too (the
templates do that), so the chart is a picture of the table, not the only source of a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 44
COLOURS = ("#3b6ea5", "#d9822b", "#4c9a2a", "#a53b6e", "#6e3ba5")

Number = int | float | Decimal


def _fmt(value: float) -> str:
    """A compact axis label: integers without decimals, others with up to 2."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}"


def _n(value: float) -> str:
    """An SVG coordinate (format_html escapes its arguments, so numbers arrive as text)."""
    return f"{value:.1f}"


def _plot_box() -> tuple[float, float]:
    return WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM


def _axis(max_value: float, title: str) -> list[str]:
    """Axes, three horizontal grid lines labelled with their value, and the accessible title."""
    plot_w, plot_h = _plot_box()
    parts = [format_html("<title>{}</title>", title)]
    for i in range(4):
        value = max_value * i / 3
        y = PAD_TOP + plot_h - plot_h * i / 3
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/>'
                '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
                PAD_LEFT,
                _n(y),
                PAD_LEFT + plot_w,
                _n(y),
                PAD_LEFT - 4,
                _n(y + 3),
                _fmt(value),
            )
        )
    return parts


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> list[str]:
    """At most ~8 labels along the x axis, so long series stay legible."""
    step = max(1, (len(labels) + 7) // 8)
    y = HEIGHT - PAD_BOTTOM + 14
    return [
        format_html(
            '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
            _n(centres[i]),
            y,
            str(labels[i]),
        )
        for i in range(0, len(labels), step)
    ]


def _svg(parts: list[str], title: str) -> SafeString:
    body = "".join(str(p) for p in parts)
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" '
        'viewBox="0 0 {} {}" width="{}" height="{}">{}</svg>',
        title,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        mark_safe(body),  # noqa: S308 - every part above was built with format_html
    )


def _empty(title: str) -> SafeString:
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" '
        'viewBox="0 0 {} 40" width="{}" height="40"><text x="8" y="24" font-size="12">'
        "{}: no data</text></svg>",
        title,
        WIDTH,
        WIDTH,
        title,
    )


def bar_chart(labels: Sequence[str], values: Sequence[Number], *, title: str) -> SafeString:
    """Vertical bars, one per label; each bar carries its exact value in a tooltip."""
    if not labels:
        return _empty(title)
    numbers = [float(v or 0) for v in values]
    max_value = max(max(numbers), 1e-9)
    plot_w, plot_h = _plot_box()
    slot = plot_w / len(numbers)
    bar_w = min(max(1.0, slot * 0.8), 48.0)
    parts = _axis(max_value, title)
    centres = []
    for i, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        h = plot_h * max(value, 0.0) / max_value
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        centres.append(x + bar_w / 2)
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                _n(x),
                _n(PAD_TOP + plot_h - h),
                _n(bar_w),
                _n(h),
                COLOURS[0],
                str(label),
                _fmt(value),
            )
        )
    parts.extend(_x_labels([str(label) for label in labels], centres))
    return _svg(parts, title)


def line_chart(
    labels: Sequence[str], series: dict[str, Sequence[Number | None]], *, title: str
) -> SafeString:
    """One polyline per series (``None`` values are skipped), with a legend."""
    if not labels or not series:
        return _empty(title)
    all_values = [float(v) for values in series.values() for v in values if v is not None]
    if not all_values:
        return _empty(title)
    max_value = max(max(all_values), 1e-9)
    plot_w, plot_h = _plot_box()
    n = len(labels)
    centres = [PAD_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    parts = _axis(max_value, title)
    for s, (name, values) in enumerate(series.items()):
        colour = COLOURS[s % len(COLOURS)]
        points = [
            (centres[i], PAD_TOP + plot_h - plot_h * max(float(v), 0.0) / max_value, v)
            for i, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            parts.append(
                format_html(
                    '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>',
                    colour,
                    " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points),
                )
            )
        for x, y, v in points:
            parts.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {}</title></circle>',
                    _n(x),
                    _n(y),
                    colour,
                    name,
                    _fmt(float(v)),
                )
            )
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="{}" font-size="11">{}</text>',
                PAD_LEFT + 130 * s,
                HEIGHT - 14,
                colour,
                PAD_LEFT + 130 * s + 14,
                HEIGHT - 5,
                name,
            )
        )
    parts.extend(_x_labels([str(label) for label in labels], centres))
    return _svg(parts, title)
