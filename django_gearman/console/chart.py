"""A server-rendered SVG bar chart of finished jobs per minute (no JavaScript, no library).

Each minute is one bar: successful jobs at the bottom, failed ones stacked on top. Every text in
the markup is escaped; the numbers are computed here, so the chart is safe to inline in a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 180
LEFT = 40  # room for the y axis labels
BOTTOM = 22  # room for the x axis labels
TOP = 10
SUCCESS_COLOUR = "#5b9a3c"
FAILURE_COLOUR = "#ba2121"
AXIS_COLOUR = "#999"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # e.g. "14:05", shown under some bars
    successful: int
    failed: int

    @property
    def total(self) -> int:
        return self.successful + self.failed


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... that is at least ``value`` (a readable axis)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def render_bars(bars: Sequence[Bar], *, title: str) -> SafeString:
    """The chart as an inline ``<svg>`` element with a title and a text description."""
    ceiling = _nice_ceiling(max((bar.total for bar in bars), default=0) or 1)
    plot_width = WIDTH - LEFT - 4
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(bars), 1)
    label_every = max(1, len(bars) // 6)
    successful = sum(bar.successful for bar in bars)
    failed = sum(bar.failed for bar in bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gearman-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{successful} successful and {failed} failed jobs</desc>",
        f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - 4}" y2="{TOP + plot_height}" '
        f'stroke="{AXIS_COLOUR}"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end" font-size="11" '
        f'fill="#666">{ceiling}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_height}" text-anchor="end" font-size="11" '
        f'fill="#666">0</text>',
    ]
    for index, bar in enumerate(bars):
        x = LEFT + index * slot + slot * 0.15
        width = max(slot * 0.7, 1.0)
        ok_height = plot_height * bar.successful / ceiling
        failed_height = plot_height * bar.failed / ceiling
        base = TOP + plot_height
        tip = f"{escape(bar.label)}: {bar.successful} successful, {bar.failed} failed"
        parts.append(f"<g><title>{tip}</title>")
        if bar.successful:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - ok_height:.1f}" width="{width:.1f}" '
                f'height="{ok_height:.1f}" fill="{SUCCESS_COLOUR}"/>'
            )
        if bar.failed:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - ok_height - failed_height:.1f}" '
                f'width="{width:.1f}" height="{failed_height:.1f}" fill="{FAILURE_COLOUR}"/>'
            )
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                f'font-size="11" fill="#666">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    # Every text above is escaped or a number computed here.
    return mark_safe("".join(parts))
