"""Prometheus exposition: a custom collector over the latest ``CitySnapshot``.

Families are built at scrape time from frozen snapshots (client_python's custom collector
pattern), never by ``labels().inc()`` per event. The HTTP server runs in its own thread
(``start_http_server``), so a scrape never stalls ingest or the console.

Imports: metrics.snapshot, metrics.dashboard, feeds.protocol (enumerations),
prometheus_client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import start_http_server
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from feeds.protocol import ABANDON_REASONS, SERVICE_OUTCOMES, WINDOW_STATES
from metrics.dashboard import figure_families
from metrics.snapshot import SERVICE_BUCKETS, WAIT_BUCKETS, CitySnapshot

CARDS = ("none", "yellow", "red")


def _histogram(
    family: HistogramMetricFamily,
    labels: list[str],
    bounds: tuple[float, ...],
    buckets: Any,
    total: float,
) -> None:
    cumulative = buckets.cumsum()
    pairs = [(repr(float(b)), float(c)) for b, c in zip(bounds, cumulative[:-1], strict=True)]
    pairs.append(("+Inf", float(cumulative[-1])))
    family.add_metric(labels, pairs, float(total))


class HallCollector(Collector):
    """Yields the contract.md metric set from ``snapshot()`` at each scrape."""

    def __init__(self, snapshot: Callable[[], CitySnapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> list[Metric]:
        return []  # families vary with the halls seen; describe nothing, collect at scrape

    def collect(self) -> Iterator[Metric]:
        city = self._snapshot()
        waiting = GaugeMetricFamily(
            "hall_queue_waiting",
            "Tickets issued (or transferred back) and not yet called.",
            labels=["hall", "zone"],
        )
        issued = CounterMetricFamily(
            "hall_tickets_issued", "Tickets issued.", labels=["hall", "zone"]
        )
        services = CounterMetricFamily(
            "hall_services", "service_finished events.", labels=["hall", "window", "outcome"]
        )
        abandoned = CounterMetricFamily(
            "hall_tickets_abandoned", "Tickets abandoned.", labels=["hall", "zone", "reason"]
        )
        wait = HistogramMetricFamily(
            "hall_wait_seconds", "Wait from issue to first call.", labels=["hall", "zone"]
        )
        service = HistogramMetricFamily(
            "hall_service_seconds", "Service time, start to finish.", labels=["hall", "window"]
        )
        wstate = GaugeMetricFamily(
            "hall_window_state",
            "1 for the window's current state.",
            labels=["hall", "window", "state"],
        )
        last_hour = GaugeMetricFamily(
            "hall_window_services_last_hour",
            "Services finished in the last hall-clock hour.",
            labels=["hall", "window"],
        )
        ratings = CounterMetricFamily(
            "hall_ratings", "Ratings (好差评).", labels=["hall", "window", "score"]
        )
        complaints = GaugeMetricFamily(
            "hall_complaints_open", "Complaints not yet settled.", labels=["hall"]
        )
        cases = GaugeMetricFamily(
            "hall_cases_open", "Open back-office cases by card.", labels=["hall", "card"]
        )
        alerts = GaugeMetricFamily(
            "hall_alerts_active", "Firing alerts.", labels=["hall", "rule", "severity"]
        )
        clock = GaugeMetricFamily(
            "hall_clock_seconds", "The hall clock: newest event time seen.", labels=["hall"]
        )
        for name, hall in city.halls.items():
            c = hall.counters
            for z, zone in enumerate(c.zones):
                waiting.add_metric([name, zone], hall.zones[z].waiting)
                issued.add_metric([name, zone], float(c.issued[z]))
                for r, why in enumerate(ABANDON_REASONS):
                    abandoned.add_metric([name, zone, why], float(c.abandoned[z, r]))
                _histogram(wait, [name, zone], WAIT_BUCKETS, c.wait_buckets[z], c.wait_sum[z])
            for w, window in enumerate(c.windows):
                for o, outcome in enumerate(SERVICE_OUTCOMES):
                    services.add_metric([name, window, outcome], float(c.services[w, o]))
                _histogram(
                    service,
                    [name, window],
                    SERVICE_BUCKETS,
                    c.service_buckets[w],
                    c.service_sum[w],
                )
                current = c.window_state[w]
                for s, state in enumerate(WINDOW_STATES):
                    wstate.add_metric([name, window, state], 1.0 if s == current else 0.0)
                last_hour.add_metric([name, window], hall.windows[w].services_last_hour)
                for score in range(5):
                    ratings.add_metric([name, window, str(score + 1)], float(c.ratings[w, score]))
            complaints.add_metric([name], hall.complaints_open)
            by_card = hall.cases_by_card()
            for card in CARDS:
                cases.add_metric([name, card], by_card[card])
            clock.add_metric([name], hall.now_ms / 1000.0)
        for (alert_hall, rule, severity), count in sorted(city.alerts_active.items()):
            alerts.add_metric([alert_hall, rule, severity], count)

        connected = GaugeMetricFamily(
            "hall_feed_connected", "1 while the feed is connected.", labels=["feed"]
        )
        events = CounterMetricFamily("hall_feed_events", "Events applied.", labels=["feed"])
        rejected = CounterMetricFamily(
            "hall_feed_rejected", "Events rejected, by reason.", labels=["feed", "reason"]
        )
        last_seq = GaugeMetricFamily("hall_feed_last_seq", "Newest seq received.", labels=["feed"])
        gaps = CounterMetricFamily("hall_feed_gaps", "Seqs known lost.", labels=["feed"])
        for feed in city.feeds:
            connected.add_metric([feed.name], 1.0 if feed.connected else 0.0)
            events.add_metric([feed.name], feed.events_total)
            for reason, n in feed.rejected:
                rejected.add_metric([feed.name, reason], n)
            last_seq.add_metric([feed.name], feed.last_seq)
            gaps.add_metric([feed.name], feed.gaps_total)
        yield from (waiting, issued, services, abandoned, wait, service, wstate, last_hour)
        yield from (ratings, complaints, cases, alerts, clock)
        yield from (connected, events, rejected, last_seq, gaps)
        yield from figure_families(city)  # docs/figures.md, beyond contract.md's set


def serve_metrics(
    snapshot: Callable[[], CitySnapshot], host: str, port: int
) -> tuple[CollectorRegistry, int, Callable[[], None]]:
    """Start /metrics in its own thread. Returns the registry, the bound port, a stopper."""
    registry = CollectorRegistry()
    registry.register(HallCollector(snapshot))
    server, thread = start_http_server(port, addr=host, registry=registry)
    bound = server.server_address[1]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return registry, int(bound), stop
