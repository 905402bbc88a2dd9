"""The report's charts, hand-written SVG (no plotting dependency).

- ``day_chart``: one hall's day, two panels on one hall-local time axis: people waiting
  per zone through the day (the zones' 5-minute ``curve_waiting`` of the end-of-day
  snapshot), and the mean wait of the last hour per zone (``ZoneSnapshot.hour.mean_s``,
  sampled by the report every 15 minutes of hall time) against each zone's waiting limit
  (dashed). One ``polyline`` per zone per panel, ``class`` ``queue`` / ``wait``.
- ``period_chart``: a month or a quarter, one line per hall: served per day, and the
  day's mean wait. ``class`` ``served`` / ``wait``.

Every line carries ``data-zone`` or ``data-hall``, so tests and styles can find it.

Imports: metrics.snapshot, reports.gather (Sample, DayData), feeds.hallclock, stdlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from feeds.hallclock import local_datetime
from metrics.snapshot import CURVE_BIN_MS, HallSnapshot
from reports.gather import DayData, Sample, period_days

WIDTH: Final = 900
LEFT: Final = 60
RIGHT: Final = 170
PANELS: Final = ((50, 250), (320, 520))
"""(top, bottom) of the upper and the lower panel."""
HEIGHT: Final = 560
COLORS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def _nice(top: float) -> float:
    """A round axis maximum at or above ``top``."""
    for step in (1, 2, 5, 10, 20, 30, 50, 60, 100, 200, 500, 1000):
        if top <= step * 4:
            return float(step * 4)
    return float(top)


def _head(title: str, heading: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15">{escape(heading)}</text>',
    ]


def _frame(out: list[str], panel: tuple[int, int], title: str, ymax: float,
           ticks: Sequence[tuple[float, str]]) -> None:  # fmt: skip
    """A panel: its title, box, y labels (0..ymax) and x ticks (x, label)."""
    y0, y1 = panel
    out.append(f'<text x="{LEFT}" y="{y0 - 8}">{escape(title)}</text>')
    out.append(f'<rect x="{LEFT}" y="{y0}" width="{WIDTH - LEFT - RIGHT}" '
               f'height="{y1 - y0}" fill="none" stroke="#999"/>')  # fmt: skip
    for k in range(5):
        y = y1 - (y1 - y0) * k / 4
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{ymax * k / 4:g}</text>'
        )
    for xx, label in ticks:
        out.append(f'<line x1="{xx:.1f}" y1="{y0}" x2="{xx:.1f}" y2="{y1}" stroke="#eee"/>')
        out.append(f'<text x="{xx:.1f}" y="{y1 + 14}" text-anchor="middle">{escape(label)}</text>')


def _line(out: list[str], kind: str, attr: str, name: str, color: str, pts: str) -> None:
    out.append(f'<polyline class="{kind}" data-{attr}={quoteattr(name)} fill="none" '
               f'stroke="{color}" stroke-width="1.5" points="{pts}"/>')  # fmt: skip


def _legend(out: list[str], i: int, name: str, color: str) -> None:
    ty = PANELS[0][0] + 16 * i
    out.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{ty}" width="10" height="10" fill="{color}"/>')
    out.append(f'<text x="{WIDTH - RIGHT + 28}" y="{ty + 9}">{escape(name)}</text>')


def day_chart(snap: HallSnapshot, samples: Sequence[Sample]) -> str:
    """The SVG document of ``snap``'s day (its zones' queue curves and waits)."""
    start = snap.curve_start_ms
    bins = max((len(z.curve_waiting) for z in snap.zones), default=0)
    end = max(start + bins * CURVE_BIN_MS, snap.now_ms, start + CURVE_BIN_MS)

    def x(ms: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (ms - start) / (end - start)

    out = _head(f"{snap.hall} {snap.day}: queue and waits per zone", f"{snap.hall} {snap.day}")
    hours = range((start // 3_600_000 + 1) * 3_600_000, end, 3_600_000)
    ticks = [(x(h), local_datetime(h).strftime("%H:%M")) for h in hours]
    waits = [v for s in samples for v in s.hour_mean_wait_s.values() if v is not None]
    qmax = _nice(max((max(z.curve_waiting, default=0) for z in snap.zones), default=0))
    wmax = _nice(max([*waits, *(z.wait_limit_s for z in snap.zones), 60.0]) / 60)
    (q0, q1), (w0, w1) = PANELS
    _frame(out, PANELS[0], "people waiting (end of each 5 min)", qmax, ticks)
    _frame(out, PANELS[1], "mean wait of the last hour, min", wmax, ticks)
    for i, zone in enumerate(snap.zones):
        color = COLORS[i % len(COLORS)]
        pts = " ".join(
            f"{x(start + (k + 1) * CURVE_BIN_MS):.1f},{q1 - (q1 - q0) * n / qmax:.1f}"
            for k, n in enumerate(zone.curve_waiting)
        )
        _line(out, "queue", "zone", zone.name, color, pts)
        wpts = " ".join(
            f"{x(s.now_ms):.1f},{w1 - (w1 - w0) * (v / 60) / wmax:.1f}"
            for s in samples
            if (v := s.hour_mean_wait_s.get(zone.name)) is not None
        )
        _line(out, "wait", "zone", zone.name, color, wpts)
        ly = w1 - (w1 - w0) * (zone.wait_limit_s / 60) / wmax
        out.append(f'<line class="limit" x1="{LEFT}" y1="{ly:.1f}" x2="{WIDTH - RIGHT}" '
                   f'y2="{ly:.1f}" stroke="{color}" stroke-dasharray="4 4"/>')  # fmt: skip
        _legend(out, i, zone.name, color)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def period_chart(days: Sequence[DayData], period: str) -> str:
    """The SVG document of a month ``YYYY-MM`` or a quarter ``YYYY-Qn``: per hall, served
    per day and the day's mean wait (``HallSnapshot.served_today``, ``day_waits.mean_s``),
    one point per recorded day."""
    every = period_days(period)
    first = every[0]
    span = len(every) + 1  # the first day .. the last, with margins

    def x(ordinal: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (ordinal - first.toordinal() + 1) / span

    halls = sorted({h for d in days for h in d.snapshots})
    served = [s.served_today for d in days for s in d.snapshots.values()]
    waits = [s.day_waits.mean_s or 0.0 for d in days for s in d.snapshots.values()]
    smax, wmax = _nice(max(served, default=0)), _nice(max([*waits, 60.0]) / 60)
    if len(every) > 31:  # a quarter: the 1st and the 15th of each month
        ticks = [(x(d.toordinal()), d.strftime("%m-%d")) for d in every if d.day in (1, 15)]
    else:
        marks = (1, 5, 10, 15, 20, 25, 30)
        ticks = [(x(d.toordinal()), str(d.day)) for d in every if d.day in marks]
    out = _head(f"{period}: served and mean wait per hall", period)
    _frame(out, PANELS[0], "served per day", smax, ticks)
    _frame(out, PANELS[1], "mean wait of the day, min", wmax, ticks)
    (s0, s1), (w0, w1) = PANELS
    for i, hall in enumerate(halls):
        color = COLORS[i % len(COLORS)]
        got = [(d.day.toordinal(), d.snapshots[hall]) for d in days if hall in d.snapshots]
        pts = " ".join(f"{x(o):.1f},{s1 - (s1 - s0) * n.served_today / smax:.1f}" for o, n in got)
        _line(out, "served", "hall", hall, color, pts)
        for o, snap in got:  # a point per recorded day (the line skips the days between)
            y = s1 - (s1 - s0) * snap.served_today / smax
            out.append(f'<circle cx="{x(o):.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>')
        wpts = " ".join(
            f"{x(o):.1f},{w1 - (w1 - w0) * (s.day_waits.mean_s / 60) / wmax:.1f}"
            for o, s in got
            if s.day_waits.mean_s is not None
        )
        _line(out, "wait", "hall", hall, color, wpts)
        _legend(out, i, hall, color)
    out.append("</svg>")
    return "\n".join(out) + "\n"
