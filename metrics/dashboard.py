"""Prometheus families for the figures of docs/figures.md, beyond contract.md's set.

Gauges built from frozen snapshots at scrape time; labels only from bounded sets (hall,
zone, window and staff are capped per hall by the state's registries; ``period`` and
``quantile`` are fixed lists). A figure that is undefined (None: no wait ended yet, no
service time known) is left out rather than exported as 0.

Imports: metrics.snapshot, prometheus_client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client.core import GaugeMetricFamily, Metric

from metrics.snapshot import CitySnapshot, WaitStats

QUANTILES: Final = (("0.5", "p50_s"), ("0.9", "p90_s"), ("0.99", "p99_s"))


def _gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _add(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, float(value))


def figure_families(city: CitySnapshot) -> Iterator[Metric]:
    """The zone, window and staff figures of every hall in ``city``."""
    z = "hall", "zone"
    called = _gauge("hall_zone_called_not_started", "Called, service not started.", *z)
    priority = _gauge("hall_zone_priority_waiting", "Waiting in the priority lane.", *z)
    longest = _gauge("hall_zone_longest_wait_seconds", "Wait of the oldest waiting.", *z)
    arrivals = _gauge("hall_zone_arrivals", "Tickets issued in the last period.",
                      *z, "period")  # fmt: skip
    wait_q = _gauge("hall_zone_wait_quantile_seconds", "Wait percentiles, day or last hour.",
                    *z, "period", "quantile")  # fmt: skip
    wait_mean = _gauge("hall_zone_wait_mean_seconds", "Mean wait, day or last hour.",
                       *z, "period")  # fmt: skip
    level = _gauge("hall_zone_service_level_ratio", "Share of waits within the zone's limit.",
                   *z, "period")  # fmt: skip
    no_show = _gauge("hall_zone_no_show_ratio", "No-shows / waits ended today.", *z)
    abandon = _gauge("hall_zone_abandonment_ratio", "Left + expired / waits ended today.", *z)
    expected = _gauge("hall_zone_expected_wait_seconds", "Forecast wait of a ticket now.", *z)
    needed = _gauge("hall_zone_windows_needed", "Erlang C windows for the target.", *z)
    opened = _gauge("hall_zone_windows_open", "Open windows serving the zone.", *z)
    rate = _gauge("hall_zone_arrival_rate_per_hour", "Arrival rate behind windows needed.", *z)
    w = "hall", "window"
    in_state = _gauge("hall_window_state_seconds", "Time in the current state.", *w)
    open_s = _gauge("hall_window_open_seconds_today", "Time open today.", *w)
    serving = _gauge("hall_window_serving_seconds_today", "Service time today.", *w)
    util = _gauge("hall_window_utilization_ratio", "Serving time / open time today.", *w)
    idle = _gauge("hall_window_idle_waiting_seconds_today",
                  "Open, no ticket, while its zones had people waiting, today.", *w)  # fmt: skip
    walk = _gauge("hall_window_walk_mean_seconds", "Mean call-to-start time today.", *w)
    w_rating = _gauge("hall_window_rating_mean", "Mean rating today (1-5).", *w)
    w_bad = _gauge("hall_window_bad_ratings_today", "Ratings of 1 or 2 today.", *w)
    s = "hall", "staff"
    s_services = _gauge("hall_staff_services_today", "Services finished today.", *s)
    s_mean = _gauge("hall_staff_service_mean_seconds", "Mean service time today.", *s)
    s_rating = _gauge("hall_staff_rating_mean", "Mean rating today (1-5).", *s)
    s_bad = _gauge("hall_staff_bad_ratings_today", "Ratings of 1 or 2 today.", *s)

    def waits(labels: list[str], period: str, stats: WaitStats) -> None:
        for q, attr in QUANTILES:
            _add(wait_q, [*labels, period, q], getattr(stats, attr))
        _add(wait_mean, [*labels, period], stats.mean_s)
        _add(level, [*labels, period], stats.service_level)

    for name, hall in city.halls.items():
        now = hall.now_ms
        for zone in hall.zones:
            lz = [name, zone.name]
            called.add_metric(lz, zone.called_not_started)
            priority.add_metric(lz, zone.priority_waiting)
            longest.add_metric(lz, zone.longest_wait_s)
            arrivals.add_metric([*lz, "15m"], zone.arrivals_15m)
            arrivals.add_metric([*lz, "1h"], zone.arrivals_60m)
            waits(lz, "day", zone.day)
            waits(lz, "1h", zone.hour)
            _add(no_show, lz, zone.no_show_rate)
            _add(abandon, lz, zone.abandonment_rate)
            _add(expected, lz, zone.expected_wait_s)
            _add(needed, lz, zone.windows_needed)
            opened.add_metric(lz, zone.windows_open)
            _add(rate, lz, zone.arrivals_per_hour)
        for win in hall.windows:
            lw = [name, win.name]
            in_state.add_metric(lw, max(0, now - win.state_since_ms) / 1000.0)
            open_s.add_metric(lw, win.open_s)
            serving.add_metric(lw, win.serving_s)
            _add(util, lw, win.utilization)
            idle.add_metric(lw, win.idle_waiting_s)
            _add(walk, lw, win.walk_mean_s)
            _add(w_rating, lw, win.rating_mean)
            w_bad.add_metric(lw, win.bad_ratings_today)
        for staff in hall.staff:
            ls = [name, staff.name]
            s_services.add_metric(ls, staff.services_today)
            _add(s_mean, ls, staff.mean_service_s)
            _add(s_rating, ls, staff.rating_mean)
            s_bad.add_metric(ls, staff.bad_ratings_today)
    yield from (called, priority, longest, arrivals, wait_q, wait_mean, level, no_show)
    yield from (abandon, expected, needed, opened, rate)
    yield from (in_state, open_s, serving, util, idle, walk, w_rating, w_bad)
    yield from (s_services, s_mean, s_rating, s_bad)
