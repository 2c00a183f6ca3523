"""Small, dependency-free SVG charts for the self-contained HTML report."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = {"flagged": "#c0392b", "clear": "#27ae60", "insufficient_data": "#95a5a6", "not_applicable": "#d5d8dc"}


def _svg(width: int, height: int, body: str, title: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def stacked_bars(rows: Sequence[tuple[str, dict[str, int]]], title: str, width: int = 720) -> str:
    """One horizontal bar per label, split by status (flagged, clear, insufficient_data, not_applicable)."""
    if not rows:
        return f"<p>No data for {escape(title)}.</p>"
    bar, gap, label_width = 18, 6, 70
    height = len(rows) * (bar + gap) + 40
    largest = max(sum(counts.values()) for _, counts in rows) or 1
    scale = (width - label_width - 20) / largest
    parts = []
    for index, (label, counts) in enumerate(rows):
        y = 10 + index * (bar + gap)
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>')
        x = float(label_width)
        for status, colour in PALETTE.items():
            count = counts.get(status, 0)
            if count:
                w = count * scale
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                    f"<title>{escape(label)} {status}: {count}</title></rect>"
                )
                x += w
    legend_y = height - 12
    for position, (status, colour) in enumerate(PALETTE.items()):
        x = label_width + position * 150
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{legend_y}" font-size="11">{status.replace("_", " ")}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def bars(rows: Sequence[tuple[str, float]], title: str, width: int = 720, percent: bool = True) -> str:
    """Horizontal bars (e.g. the riskiest buyers by score)."""
    if not rows:
        return f"<p>No data for {escape(title)}.</p>"
    bar, gap, label_width = 16, 5, 260
    height = len(rows) * (bar + gap) + 10
    largest = max(value for _, value in rows) or 1
    scale = (width - label_width - 70) / largest
    parts = []
    for index, (label, value) in enumerate(rows):
        y = 5 + index * (bar + gap)
        shown = f"{value:.0%}" if percent else f"{value:,.0f}"
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="11">{escape(label[:40])}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(value * scale, 1):.1f}" height="{bar}" '
            f'fill="#c0392b"><title>{escape(label)}: {shown}</title></rect>'
            f'<text x="{label_width + value * scale + 4:.1f}" y="{y + 12}" font-size="11">{shown}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def histogram(values: Sequence[float], title: str, bins: int = 10, width: int = 720, height: int = 220) -> str:
    """Distribution of values in [0, 1] (risk scores)."""
    if not values:
        return f"<p>No data for {escape(title)}.</p>"
    counts = [0] * bins
    for value in values:
        counts[min(int(value * bins), bins - 1)] += 1
    top = max(counts) or 1
    plot_height = height - 40
    column = (width - 40) / bins
    parts = []
    for index, count in enumerate(counts):
        h = count / top * plot_height
        x = 30 + index * column
        parts.append(
            f'<rect x="{x:.1f}" y="{10 + plot_height - h:.1f}" width="{column - 4:.1f}" height="{h:.1f}" '
            f'fill="#2e86c1"><title>{index / bins:.0%}–{(index + 1) / bins:.0%}: {count}</title></rect>'
            f'<text x="{x:.1f}" y="{height - 12}" font-size="10">{index / bins:.0%}</text>'
        )
    return _svg(width, height, "".join(parts), title)


def line(points: Sequence[tuple[str, float]], title: str, width: int = 720, height: int = 220) -> str:
    """A line over ordered labels (e.g. flagged processes per month)."""
    if len(points) < 2:
        return f"<p>Not enough periods for {escape(title)}.</p>"
    top = max(value for _, value in points) or 1
    plot_height = height - 40
    step = (width - 60) / (len(points) - 1)
    coordinates = [
        (40 + index * step, 10 + plot_height - value / top * plot_height) for index, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts = [f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>']
    every = max(1, len(points) // 8)
    for index, ((label, value), (x, y)) in enumerate(zip(points, coordinates, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c0392b"><title>{escape(label)}: {value:,.0f}'
            "</title></circle>"
        )
        if index % every == 0:
            parts.append(f'<text x="{x - 18:.1f}" y="{height - 12}" font-size="10">{escape(label)}</text>')
    parts.append(f'<text x="0" y="16" font-size="10">{top:,.0f}</text>')
    return _svg(width, height, "".join(parts), title)


LINK_COLOURS = {
    "co_bid": "#7f8c8d",
    "shared_telephone": "#c0392b",
    "shared_email": "#c0392b",
    "shared_address": "#e67e22",
    "similar_name": "#8e44ad",
}


def network(
    nodes: Sequence[tuple[str, str, int]],
    links: Sequence[tuple[str, str, str, float]],
    title: str,
    width: int = 720,
    height: int = 420,
) -> str:
    """A group of suppliers on a circle: nodes (id, label, wins) sized by wins, links (source, target, kind, weight)
    coloured by kind, co-bidding links as thick as how often the two met."""
    if not nodes:
        return f"<p>No data for {escape(title)}.</p>"
    import math

    cx, cy, radius = width / 2, (height - 30) / 2 + 5, min(width / 2 - 150, (height - 30) / 2 - 30)
    position = {}
    for index, (node, _, _) in enumerate(nodes):
        angle = 2 * math.pi * index / len(nodes) - math.pi / 2
        position[node] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    heaviest = max((weight for _, _, kind, weight in links if kind == "co_bid"), default=1.0) or 1.0
    parts = []
    for source, target, kind, weight in links:
        if source not in position or target not in position:
            continue
        (x1, y1), (x2, y2) = position[source], position[target]
        thickness = 1 + 5 * weight / heaviest if kind == "co_bid" else 2
        dash = ' stroke-dasharray="5 3"' if kind in ("shared_address", "similar_name") else ""
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{LINK_COLOURS.get(kind, "#999")}" '
            f'stroke-width="{thickness:.1f}" stroke-opacity="0.7"{dash}>'
            f"<title>{escape(source)} – {escape(target)}: {kind.replace('_', ' ')} ({weight:g})</title></line>"
        )
    most = max((wins for _, _, wins in nodes), default=1) or 1
    for node, label, wins in nodes:
        x, y = position[node]
        size = 6 + 12 * wins / most
        anchor = "start" if x >= cx else "end"
        dx = size + 4 if x >= cx else -(size + 4)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="#2c3e50"><title>{escape(node)}: {wins} wins'
            f'</title></circle><text x="{x + dx:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="{anchor}">'
            f"{escape(label)} ({wins})</text>"
        )
    legend_y = height - 10
    for index, (kind, colour) in enumerate(
        (
            ("co-bidding", LINK_COLOURS["co_bid"]),
            ("telephone/e-mail", "#c0392b"),
            ("address", "#e67e22"),
            ("similar name", "#8e44ad"),
        )
    ):
        x = 10 + index * 150
        parts.append(
            f'<line x1="{x}" y1="{legend_y - 4}" x2="{x + 20}" y2="{legend_y - 4}" stroke="{colour}" '
            f'stroke-width="3"/><text x="{x + 24}" y="{legend_y}" font-size="11">{kind}</text>'
        )
    return _svg(width, height, "".join(parts), title).replace('class="chart"', 'class="chart network"', 1)
