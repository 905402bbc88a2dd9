"""Prometheus families for the figures of docs/figures.md, beyond the contract's fixed set
(every family, its labels and their values: docs/metrics.md).

Gauges written from frozen snapshots at scrape time; labels only from bounded sets
(hall, zone, window and staff are capped per hall by the state's registries; ``period``
and ``quantile`` are fixed lists). A figure that is undefined (None: no wait ended yet,
no service time known) is left out rather than exported as 0.

Imports: metrics.snapshot, metrics.promtext.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from metrics.promtext import Text, escape
from metrics.snapshot import CitySnapshot

QUANTILES: Final = (("0.5", "p50_s"), ("0.9", "p90_s"), ("0.99", "p99_s"))
PERIODS: Final = (("day", "day"), ("1h", "hour"))
"""``period`` label → the ``ZoneSnapshot`` attribute holding those waits."""

Getter = Callable[[Any], "float | None"]


def _gauge(text: Text, name: str, doc: str, rows: Sequence[tuple[str, float | None]]) -> None:
    """One gauge family; rows whose value is None are left out."""
    text.family(name, "gauge", doc)
    kept = [(lt, v) for lt, v in rows if v is not None]
    text.samples(name, (lt for lt, _ in kept), (v for _, v in kept))


def figure_families(
    text: Text,
    city: CitySnapshot,
    zone_labels: Mapping[str, Sequence[str]],
    window_labels: Mapping[str, Sequence[str]],
) -> None:
    """Write the zone, window and staff figures of every hall in ``city``.

    Args:
        text: The exposition being written.
        city: The snapshot.
        zone_labels: Hall → pre-escaped ``hall="..",zone=".."`` per zone, in zone order.
        window_labels: Hall → the same per window.
    """
    halls = list(city.halls.items())
    zones = [(lt, z) for name, hall in halls for lt, z in zip(zone_labels[name], hall.zones,
                                                                 strict=True)]  # fmt: skip
    windows = [(lt, w, hall.now_ms) for name, hall in halls
               for lt, w in zip(window_labels[name], hall.windows, strict=True)]  # fmt: skip
    staff = [(f'hall="{escape(name)}",staff="{escape(s.name)}"', s)
             for name, hall in halls for s in hall.staff]  # fmt: skip

    def per_zone(name: str, doc: str, get: Getter) -> None:
        _gauge(text, name, doc, [(lt, get(z)) for lt, z in zones])

    per_zone("hall_zone_called_not_started", "Called, service not started.",
             lambda z: z.called_not_started)  # fmt: skip
    per_zone("hall_zone_priority_waiting", "Waiting in the priority lane.",
             lambda z: z.priority_waiting)  # fmt: skip
    per_zone("hall_zone_longest_wait_seconds", "Wait of the oldest waiting.",
             lambda z: z.longest_wait_s)  # fmt: skip
    _gauge(text, "hall_zone_arrivals", "Tickets issued in the last 15 minutes / hour.",
           [(f'{lt},period="15m"', z.arrivals_15m) for lt, z in zones]
           + [(f'{lt},period="1h"', z.arrivals_60m) for lt, z in zones])  # fmt: skip

    def by_period(attr: str) -> list[tuple[str, float | None]]:
        return [(f'{lt},period="{p}"', getattr(getattr(z, field), attr))
                for p, field in PERIODS for lt, z in zones]  # fmt: skip

    rows: list[tuple[str, float | None]] = []
    for q, attr in QUANTILES:
        rows += [(f'{lt},quantile="{q}"', v) for lt, v in by_period(attr)]
    _gauge(text, "hall_zone_wait_quantile_seconds", "Wait percentiles, day or last hour.", rows)
    _gauge(text, "hall_zone_wait_mean_seconds", "Mean wait, day or last hour.",
           by_period("mean_s"))  # fmt: skip
    _gauge(text, "hall_zone_service_level_ratio", "Share of waits within the zone's limit.",
           by_period("service_level"))  # fmt: skip
    per_zone("hall_zone_no_show_ratio", "No-shows / waits ended today.",
             lambda z: z.no_show_rate)  # fmt: skip
    per_zone("hall_zone_abandonment_ratio", "Left + expired / waits ended today.",
             lambda z: z.abandonment_rate)  # fmt: skip
    per_zone("hall_zone_expected_wait_seconds", "Forecast wait of a ticket issued now.",
             lambda z: z.expected_wait_s)  # fmt: skip
    per_zone("hall_zone_windows_needed", "Erlang C windows for the target.",
             lambda z: z.windows_needed)  # fmt: skip
    per_zone("hall_zone_windows_open", "Open windows serving the zone.",
             lambda z: z.windows_open)  # fmt: skip
    per_zone("hall_zone_arrival_rate_per_hour", "Arrival rate behind windows needed.",
             lambda z: z.arrivals_per_hour)  # fmt: skip

    def per_window(name: str, doc: str, get: Getter) -> None:
        _gauge(text, name, doc, [(lt, get(w)) for lt, w, _ in windows])

    _gauge(text, "hall_window_state_seconds", "Time in the current state.",
           [(lt, max(0, now - w.state_since_ms) / 1000.0) for lt, w, now in windows])  # fmt: skip
    per_window("hall_window_open_seconds_today", "Time open today.", lambda w: w.open_s)
    per_window("hall_window_serving_seconds_today", "Service time today.",
               lambda w: w.serving_s)  # fmt: skip
    per_window("hall_window_utilization_ratio", "Serving time / open time today.",
               lambda w: w.utilization)  # fmt: skip
    per_window("hall_window_idle_waiting_seconds_today",
               "Open, no ticket, while its zones had people waiting, today.",
               lambda w: w.idle_waiting_s)  # fmt: skip
    per_window("hall_window_walk_mean_seconds", "Mean call-to-start time today.",
               lambda w: w.walk_mean_s)  # fmt: skip
    per_window("hall_window_rating_mean", "Mean rating today (1-5).", lambda w: w.rating_mean)
    per_window("hall_window_bad_ratings_today", "Ratings of 1 or 2 today.",
               lambda w: w.bad_ratings_today)  # fmt: skip

    def per_staff(name: str, doc: str, get: Getter) -> None:
        _gauge(text, name, doc, [(lt, get(s)) for lt, s in staff])

    per_staff("hall_staff_services_today", "Services finished today.",
              lambda s: s.services_today)  # fmt: skip
    per_staff("hall_staff_service_mean_seconds", "Mean service time today.",
              lambda s: s.mean_service_s)  # fmt: skip
    per_staff("hall_staff_rating_mean", "Mean rating today (1-5).", lambda s: s.rating_mean)
    per_staff("hall_staff_bad_ratings_today", "Ratings of 1 or 2 today.",
              lambda s: s.bad_ratings_today)  # fmt: skip
    per_staff("hall_staff_utilization_ratio", "Serving time / open time today.",
              lambda s: s.utilization)  # fmt: skip
    per_staff("hall_staff_idle_waiting_seconds_today",
              "At an open window, no ticket, while its zones had people waiting, today.",
              lambda s: s.idle_waiting_s)  # fmt: skip
