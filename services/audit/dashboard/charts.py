"""Charts of the dashboard, drawn on the server as inline SVG (no script, no CDN).

A chart is a list of :class:`BarGroup` rows, each holding one bar per series (a single
indicator, or plan against actual). Colours come from the stylesheet through the classes
``bar tone-<tone>``, so the SVG carries no style attributes the page's CSP would block.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Drawn at about the size a panel shows it, so the text stays readable once scaled.
WIDTH = 520
LABEL_WIDTH = 200
VALUE_WIDTH = 120
BAR_HEIGHT = 20
BAR_GAP = 4
GROUP_GAP = 12
LEGEND_HEIGHT = 28
LABEL_CHARACTERS = 24
_chart_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: ``value`` on the chart's scale (None: no data), ``text`` written beside it."""

    value: float | None
    text: str
    tone: str = "neutral"
    series: str = ""


@dataclass(frozen=True)
class BarGroup:
    """A row of the chart: its label and one bar per series."""

    label: str
    bars: Sequence[Bar]
    href: str | None = None


def _short(label: str) -> str:
    if len(label) <= LABEL_CHARACTERS:
        return label
    return label[: LABEL_CHARACTERS - 1] + "…"


def _legend(series: Sequence[tuple[str, str]]) -> list[str]:
    parts, x = [], LABEL_WIDTH
    for name, tone in series:
        parts.append(
            f'<rect class="bar tone-{escape(tone)}" x="{x}" y="6" width="14" height="14"/>'
            f'<text class="legend" x="{x + 20}" y="18">{escape(name)}</text>'
        )
        x += 34 + 8 * len(name)
    return parts


def _bar(bar: Bar, y: int, scale: float, group_label: str) -> str:
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    tip = escape(f"{group_label} {bar.series}: {bar.text}".replace("  ", " "))
    if bar.value is None:
        return (
            f'<rect class="bar bar-empty" x="{LABEL_WIDTH}" y="{y}" width="{span}" '
            f'height="{BAR_HEIGHT}"><title>{tip}</title></rect>'
            f'<text class="value" x="{LABEL_WIDTH + 6}" y="{y + BAR_HEIGHT - 6}">'
            f"{escape(bar.text)}</text>"
        )
    length = max(0.0, min(1.0, bar.value / scale if scale > 0 else 0.0)) * span
    width = max(length, 1.5) if bar.value > 0 else 0
    return (
        f'<rect class="bar tone-{escape(bar.tone)}" x="{LABEL_WIDTH}" y="{y}" '
        f'width="{width:.1f}" height="{BAR_HEIGHT}"><title>{tip}</title></rect>'
        f'<text class="value" x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR_HEIGHT - 6}">'
        f"{escape(bar.text)}</text>"
    )


def bar_chart(
    groups: Sequence[BarGroup],
    *,
    title: str,
    maximum: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
) -> Markup:
    """A horizontal bar chart; ``maximum`` is the full-width value (default: largest bar)."""
    values = [b.value for g in groups for b in g.bars if b.value is not None]
    scale = maximum if maximum is not None else max(values, default=0.0)
    chart_id = f"chart-{next(_chart_ids)}"
    top = LEGEND_HEIGHT if legend else 4
    parts: list[str] = _legend(legend)
    y = top
    for group in groups:
        height = len(group.bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
        label = escape(_short(group.label))
        text = (
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + height / 2 + 5:.1f}" '
            f'text-anchor="end"><title>{escape(group.label)}</title>{label}</text>'
        )
        if group.href:
            text = f'<a href="{escape(group.href)}">{text}</a>'
        parts.append(text)
        for index, bar in enumerate(group.bars):
            parts.append(_bar(bar, y + index * (BAR_HEIGHT + BAR_GAP), scale, group.label))
        y += height + GROUP_GAP
    height = max(y - GROUP_GAP + 4, top + BAR_HEIGHT)
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}">{escape(title)}</title>'
        f'<line class="axis" x1="{LABEL_WIDTH}" y1="{top - 2}" x2="{LABEL_WIDTH}" '
        f'y2="{height}"/>{"".join(parts)}</svg>'
    )
    return Markup(svg)  # noqa: S704 - every text and attribute above is escaped
