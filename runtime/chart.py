"""The day chart of one hall, hand-written SVG (no plotting dependency).

Two panels on one hall-local time axis: people waiting per zone through the day (the
zones' 5-minute ``curve_waiting`` of the end-of-day snapshot), and the mean wait of the
last hour per zone (``ZoneSnapshot.hour.mean_s``, sampled by the report every 15 minutes
of hall time) against each zone's waiting limit (dashed). One ``polyline`` per zone per
panel, with ``class`` ``queue`` / ``wait`` and ``data-zone``, so tests and styles can
find them.

Imports: metrics.snapshot, runtime.report (Sample), feeds.hallclock, the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from feeds.hallclock import local_datetime
from metrics.snapshot import CURVE_BIN_MS, HallSnapshot
from runtime.report import Sample

WIDTH: Final = 900
LEFT: Final = 60
RIGHT: Final = 170
PANELS: Final = ((50, 250), (320, 520))
"""(top, bottom) of the queue panel and the wait panel."""
HEIGHT: Final = 560
COLORS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top``."""
    for step in (1, 2, 5, 10, 20, 30, 50, 60, 100, 200, 500, 1000):
        if top <= step * 4:
            return float(step * 4)
    return float(top)


def day_chart(snap: HallSnapshot, samples: Sequence[Sample]) -> str:
    """The SVG document of ``snap``'s day (its zones' queue curves and waits)."""
    start = snap.curve_start_ms
    bins = max((len(z.curve_waiting) for z in snap.zones), default=0)
    end = max(start + bins * CURVE_BIN_MS, snap.now_ms, start + CURVE_BIN_MS)
    span = end - start

    def x(ms: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (ms - start) / span

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(f'{snap.hall} {snap.day}: queue and waits per zone')}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15">{escape(snap.hall)} {escape(snap.day)}</text>',
    ]
    top_wait = max((max(z.curve_waiting, default=0) for z in snap.zones), default=0)
    waits = [v for s in samples for v in s.hour_mean_wait_s.values() if v is not None]
    limits = [z.wait_limit_s for z in snap.zones]
    top_min = max([*waits, *limits, 60.0]) / 60
    titles = ("people waiting (end of each 5 min)", "mean wait of the last hour, min")
    for (y0, y1), title, ymax in zip(
        PANELS, titles, (_nice(top_wait), _nice(top_min)), strict=True
    ):
        out.append(f'<text x="{LEFT}" y="{y0 - 8}">{escape(title)}</text>')
        out.append(f'<rect x="{LEFT}" y="{y0}" width="{WIDTH - LEFT - RIGHT}" '
                   f'height="{y1 - y0}" fill="none" stroke="#999"/>')  # fmt: skip
        for k in range(5):
            value = ymax * k / 4
            y = y1 - (y1 - y0) * k / 4
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
        hour = (start // 3_600_000 + 1) * 3_600_000
        while hour < end:
            xx = x(hour)
            out.append(f'<line x1="{xx:.1f}" y1="{y0}" x2="{xx:.1f}" y2="{y1}" stroke="#eee"/>')
            label = local_datetime(hour).strftime("%H:%M")
            out.append(f'<text x="{xx:.1f}" y="{y1 + 14}" text-anchor="middle">{label}</text>')
            hour += 3_600_000
    (q0, q1), (w0, w1) = PANELS
    qmax, wmax = _nice(top_wait), _nice(top_min)
    for i, zone in enumerate(snap.zones):
        color = COLORS[i % len(COLORS)]
        pts = " ".join(
            f"{x(start + (k + 1) * CURVE_BIN_MS):.1f},{q1 - (q1 - q0) * n / qmax:.1f}"
            for k, n in enumerate(zone.curve_waiting)
        )
        out.append(f'<polyline class="queue" data-zone={quoteattr(zone.name)} fill="none" '
                   f'stroke="{color}" stroke-width="1.5" points="{pts}"/>')  # fmt: skip
        wpts = " ".join(
            f"{x(s.now_ms):.1f},{w1 - (w1 - w0) * (v / 60) / wmax:.1f}"
            for s in samples
            if (v := s.hour_mean_wait_s.get(zone.name)) is not None
        )
        out.append(f'<polyline class="wait" data-zone={quoteattr(zone.name)} fill="none" '
                   f'stroke="{color}" stroke-width="1.5" points="{wpts}"/>')  # fmt: skip
        ly = w1 - (w1 - w0) * (zone.wait_limit_s / 60) / wmax
        out.append(f'<line class="limit" x1="{LEFT}" y1="{ly:.1f}" x2="{WIDTH - RIGHT}" '
                   f'y2="{ly:.1f}" stroke="{color}" stroke-dasharray="4 4"/>')  # fmt: skip
        ty = q0 + 16 * i
        out.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{ty}" width="10" height="10" fill="{color}"/>'
        )
        out.append(f'<text x="{WIDTH - RIGHT + 28}" y="{ty + 9}">{escape(zone.name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
