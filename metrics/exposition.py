"""Prometheus exposition: every family of docs/metrics.md (the contract's fixed set and
the figures of docs/figures.md) from the latest ``CitySnapshot``, rendered at scrape time
and served from its own thread.

Families are built at scrape time from frozen snapshots, never by ``labels().inc()`` per
event. They are written straight in the text format (``metrics.promtext``): a scrape of
100 halls x 30 windows (~140 000 series) takes a small fraction of a second, where
``prometheus_client``'s generic path took over a second (bench/figures.py). The HTTP
server runs in its own thread, so a scrape never stalls ingest or the console; the same
snapshot object is rendered once however often it is scraped. ``HallCollector`` offers
the same families to a ``prometheus_client`` registry (parsed from the same text: one
definition of every metric).

Imports: metrics.snapshot, metrics.storage, metrics.dashboard, metrics.promtext,
feeds.protocol (enumerations), numpy, prometheus_client.
"""

from __future__ import annotations

import base64
import hmac
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from prometheus_client.core import CollectorRegistry, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from feeds.protocol import ABANDON_REASONS, SERVICE_OUTCOMES, WINDOW_STATES
from metrics.dashboard import figure_families
from metrics.promtext import CONTENT_TYPE, Text, escape, number
from metrics.snapshot import (
    COMPLAINT_ANSWER_BUCKETS,
    SERVICE_BUCKETS,
    WAIT_BUCKETS,
    CitySnapshot,
)
from metrics.storage import StoreHealth

CARDS = ("none", "yellow", "red")


def _histogram(
    text: Text,
    name: str,
    prefixes: Sequence[str],
    bounds: tuple[float, ...],
    buckets: Any,
    sums: Any,
) -> None:
    """Histogram series for each prefix (one row of non-cumulative ``buckets`` each)."""
    les = [f',le="{b!r}"' for b in (float(x) for x in bounds)] + [',le="+Inf"']
    cumulative = np.cumsum(buckets, axis=1, dtype=np.int64).tolist() if len(prefixes) else []
    parts = text.parts
    for prefix, row, total in zip(prefixes, cumulative, np.asarray(sums).tolist(), strict=True):
        # Cumulative counts are ints: ``f"{c}.0"`` is ``repr(float(c))`` without the float.
        parts.extend(
            f"{name}_bucket{{{prefix}{le}}} {c}.0\n" for le, c in zip(les, row, strict=True)
        )
        parts.append(f"{name}_count{{{prefix}}} {row[-1]}.0\n")
        parts.append(f"{name}_sum{{{prefix}}} {number(total)}\n")


def render(city: CitySnapshot) -> bytes:
    """The whole /metrics body for ``city``."""
    text = Text()
    halls = list(city.halls.items())
    # Pre-escaped label prefixes: every per-zone and per-window line reuses them.
    zone_labels = {
        name: [f'hall="{escape(name)}",zone="{escape(z)}"' for z in hall.counters.zones]
        for name, hall in halls
    }
    window_labels = {
        name: [f'hall="{escape(name)}",window="{escape(w)}"' for w in hall.counters.windows]
        for name, hall in halls
    }
    hall_labels = {name: f'hall="{escape(name)}"' for name, _ in halls}

    text.family(
        "hall_queue_waiting", "gauge", "Tickets issued (or transferred back) and not yet called."
    )
    for name, hall in halls:
        text.samples("hall_queue_waiting", zone_labels[name], (z.waiting for z in hall.zones))
    text.family("hall_tickets_issued_total", "counter", "Tickets issued.")
    for name, hall in halls:
        text.samples("hall_tickets_issued_total", zone_labels[name], hall.counters.issued.tolist())
    text.family("hall_services_total", "counter", "service_finished events.")
    outcome_labels = [f',outcome="{o}"' for o in SERVICE_OUTCOMES]
    for name, hall in halls:
        for prefix, row in zip(window_labels[name], hall.counters.services.tolist(), strict=True):
            text.samples("hall_services_total", (prefix + o for o in outcome_labels), row)
    text.family("hall_tickets_abandoned_total", "counter", "Tickets abandoned.")
    reason_labels = [f',reason="{r}"' for r in ABANDON_REASONS]
    for name, hall in halls:
        for prefix, row in zip(zone_labels[name], hall.counters.abandoned.tolist(), strict=True):
            text.samples("hall_tickets_abandoned_total", (prefix + r for r in reason_labels), row)
    text.family("hall_wait_seconds", "histogram", "Wait from issue to first call.")
    for name, hall in halls:
        c = hall.counters
        _histogram(text, "hall_wait_seconds", zone_labels[name], WAIT_BUCKETS, c.wait_buckets,
                   c.wait_sum)  # fmt: skip
    text.family("hall_service_seconds", "histogram", "Service time, start to finish.")
    for name, hall in halls:
        c = hall.counters
        _histogram(text, "hall_service_seconds", window_labels[name], SERVICE_BUCKETS,
                   c.service_buckets, c.service_sum)  # fmt: skip
    text.family("hall_window_state", "gauge", "1 for the window's current state.")
    state_labels = [f',state="{s}"' for s in WINDOW_STATES]
    for name, hall in halls:
        for prefix, current in zip(
            window_labels[name], hall.counters.window_state.tolist(), strict=True
        ):
            text.samples(
                "hall_window_state",
                (prefix + s for s in state_labels),
                (1.0 if i == current else 0.0 for i in range(len(WINDOW_STATES))),
            )
    text.family(
        "hall_window_services_last_hour",
        "gauge",
        "Services finished in the last hall-clock hour.",
    )
    for name, hall in halls:
        text.samples(
            "hall_window_services_last_hour",
            window_labels[name],
            (w.services_last_hour for w in hall.windows),
        )
    text.family("hall_ratings_total", "counter", "Ratings (好差评).")
    score_labels = [f',score="{s}"' for s in range(1, 6)]
    for name, hall in halls:
        for prefix, row in zip(window_labels[name], hall.counters.ratings.tolist(), strict=True):
            text.samples("hall_ratings_total", (prefix + s for s in score_labels), row)
    text.family("hall_complaints_open", "gauge", "Complaints not yet settled.")
    for name, hall in halls:
        text.sample("hall_complaints_open", hall_labels[name], hall.complaints_open)
    text.family(
        "hall_complaint_answer_seconds",
        "histogram",
        "Complaint to its first answer (现场处理答复), or to its settlement if unanswered.",
    )
    for name, hall in halls:
        c = hall.counters
        _histogram(text, "hall_complaint_answer_seconds", [hall_labels[name]],
                   COMPLAINT_ANSWER_BUCKETS, [c.complaint_answer_buckets],
                   [c.complaint_answer_sum])  # fmt: skip
    text.family("hall_cases_open", "gauge", "Open back-office cases by card.")
    for name, hall in halls:
        by_card = hall.cases_by_card()
        for card in CARDS:
            text.sample("hall_cases_open", f'{hall_labels[name]},card="{card}"', by_card[card])
    text.family(
        "hall_alerts_active",
        "gauge",
        "Firing alerts: cards (yellow, red) and warnings (notice, urgent) by kind.",
    )
    for (alert_hall, rule, severity), count in sorted(city.alerts_active.items()):
        # The cards' severities are the case cards' words (CARDS); every other is a warning.
        kind = "card" if severity in CARDS else "warning"
        label_text = (
            f'hall="{escape(alert_hall)}",rule="{escape(rule)}",severity="{escape(severity)}"'
            f',kind="{kind}"'
        )
        text.sample("hall_alerts_active", label_text, count)
    text.family(
        "hall_alerts_closed_unhandled_total",
        "counter",
        "Alerts closed unhandled: the hall was at its cap of open alerts (oldest notice first).",
    )
    for alert_hall, count in sorted(city.alerts_shed.items()):
        text.sample("hall_alerts_closed_unhandled_total", f'hall="{escape(alert_hall)}"', count)
    text.family("hall_clock_seconds", "gauge", "The hall clock: newest event time seen.")
    for name, hall in halls:
        text.sample("hall_clock_seconds", hall_labels[name], hall.now_ms / 1000.0)
    text.family(
        "hall_clock_late_events_total",
        "counter",
        "Events 5 min or more behind the hall clock: its feed's clock went back or jumped.",
    )
    for name, hall in halls:
        text.sample("hall_clock_late_events_total", hall_labels[name], hall.late_events)
    text.family(
        "hall_clock_leaps_total", "counter", "Times the hall clock moved on 1 h or more at once."
    )
    for name, hall in halls:
        text.sample("hall_clock_leaps_total", hall_labels[name], hall.clock_leaps)

    feeds = [(f'feed="{escape(f.name)}"', f) for f in city.feeds]
    text.family("hall_feed_connected", "gauge", "1 while the feed is connected.")
    for lt, f in feeds:
        text.sample("hall_feed_connected", lt, 1.0 if f.connected else 0.0)
    text.family("hall_feed_events_total", "counter", "Events applied.")
    for lt, f in feeds:
        text.sample("hall_feed_events_total", lt, f.events_total)
    text.family("hall_feed_rejected_total", "counter", "Events rejected, by reason.")
    for lt, f in feeds:
        for reason, n in f.rejected:
            text.sample("hall_feed_rejected_total", f'{lt},reason="{escape(reason)}"', n)
    text.family("hall_feed_last_seq", "gauge", "Newest seq received.")
    for lt, f in feeds:
        text.sample("hall_feed_last_seq", lt, f.last_seq)
    text.family("hall_feed_gaps_total", "counter", "Seqs known lost.")
    for lt, f in feeds:
        text.sample("hall_feed_gaps_total", lt, f.gaps_total)
    text.family("hall_feed_connects_total", "counter", "Sessions opened (reconnects + 1).")
    for lt, f in feeds:
        text.sample("hall_feed_connects_total", lt, f.connects)
    text.family("hall_feed_seq_restarts_total", "counter", "Times the feed's seqs restarted.")
    for lt, f in feeds:
        text.sample("hall_feed_seq_restarts_total", lt, f.seq_restarts)
    text.family(
        "hall_feed_lag_seconds",
        "gauge",
        "Delivery lag: this machine's wall time when the newest event was received minus "
        "its ts (hall clock). Negative for a hall clock running ahead; a replay of an old "
        "day shows a large value. Absent before any event.",
    )
    for lt, f in feeds:
        if (lag := f.delivery_lag_s) is not None:
            text.sample("hall_feed_lag_seconds", lt, lag)

    figure_families(text, city, zone_labels, window_labels)  # docs/figures.md
    if city.storage:
        _storage_families(text, city.storage)
    return bytes(text)


def _storage_families(text: Text, stores: Sequence[StoreHealth]) -> None:
    """Whether each store of the data dir can be written, and its failed writes
    (``runtime.storage``): last, so the families before keep their order."""
    text.family(
        "hall_storage_errors_total",
        "counter",
        "Failed writes to a store of the data dir (a retry that fails counts again), by reason.",
    )
    for s in stores:
        for reason, n in s.errors:
            text.sample("hall_storage_errors_total", f'store="{s.store}",reason="{reason}"', n)
    text.family(
        "hall_storage_ok",
        "gauge",
        "1 while the store is written as things happen; 0 while what it should hold is kept "
        "in memory (storage_failed alert), to be written when it can be again.",
    )
    for s in stores:
        text.sample("hall_storage_ok", f'store="{s.store}"', 1.0 if s.ok else 0.0)


class HallCollector(Collector):
    """The same families for a ``prometheus_client`` registry (parsed from ``render``)."""

    def __init__(
        self,
        snapshot: Callable[[], CitySnapshot],
        renders: Callable[[CitySnapshot], bytes] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._render = renders or render

    def describe(self) -> list[Metric]:
        return []  # families vary with the halls seen; describe nothing, collect at scrape

    def collect(self) -> Iterator[Metric]:
        yield from text_string_to_metric_families(self._render(self._snapshot()).decode())


class _Renderer:
    """Renders the current snapshot, once per snapshot object (thread-safe)."""

    def __init__(
        self,
        snapshot: Callable[[], CitySnapshot],
        renders: Callable[[CitySnapshot], bytes] = render,
    ) -> None:
        self._snapshot = snapshot
        self._render = renders
        self._lock = threading.Lock()
        self._last: tuple[CitySnapshot, bytes] | None = None

    def body(self) -> bytes:
        city = self._snapshot()
        with self._lock:
            if self._last is not None and self._last[0] is city:
                return self._last[1]
            body = self._render(city)
            self._last = (city, body)
            return body


def serve_metrics(
    snapshot: Callable[[], CitySnapshot],
    host: str,
    port: int,
    *,
    basic_auth: tuple[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    renders: Callable[[CitySnapshot], bytes] = render,
) -> tuple[CollectorRegistry, int, Callable[[], None]]:
    """Start /metrics in its own thread. Returns a registry holding the same families (for
    in-process readers), the bound port and a stopper.

    Args:
        snapshot: Returns the latest ``CitySnapshot``.
        host: Interface to bind (``run.py`` defaults to 127.0.0.1).
        port: TCP port; 0 picks a free one.
        basic_auth: (user, password) a scrape must present (HTTP basic auth), or None.
        ssl_context: Serve HTTPS with this server context, or None for plain HTTP.
        renders: The body of a snapshot: ``render``, or ``render`` and more families (a
            province shard adds its partitions'); called once per snapshot object.
    """
    registry = CollectorRegistry()
    registry.register(HallCollector(snapshot, renders))
    renderer = _Renderer(snapshot, renders)
    expected = b"Basic " + base64.b64encode(":".join(basic_auth).encode()) if basic_auth else None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            given = (self.headers.get("Authorization") or "").encode()
            if expected is not None and not hmac.compare_digest(given, expected):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="hallwatch"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body = renderer.body()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no log line per scrape

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    if ssl_context is not None:  # the handshake runs in the request's thread, not here
        server.socket = ssl_context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    bound = server.server_address[1]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return registry, int(bound), stop
