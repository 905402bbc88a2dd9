"""The /metrics endpoint over real HTTP: every contract.md metric, correct values."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from feeds.source import FeedStatus
from metrics.exposition import serve_metrics
from metrics.snapshot import CitySnapshot
from metrics.state import CityState
from tests.factories import H, morning

CONTRACT = [
    "hall_queue_waiting",
    "hall_tickets_issued_total",
    "hall_services_total",
    "hall_tickets_abandoned_total",
    "hall_wait_seconds",
    "hall_service_seconds",
    "hall_window_state",
    "hall_window_services_last_hour",
    "hall_ratings_total",
    "hall_complaints_open",
    "hall_cases_open",
    "hall_alerts_active",
    "hall_feed_connected",
    "hall_feed_events_total",
    "hall_feed_rejected_total",
    "hall_feed_last_seq",
    "hall_feed_gaps_total",
]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_endpoint_serves_the_contract() -> None:
    city = CityState()
    city.apply(morning())
    status = FeedStatus(name="lz-feed", connected=True, last_seq=21, events_total=21, gaps_total=2)
    status.rejected["bad_value"] = 3
    snap = CitySnapshot(
        halls=city.snapshots(),
        feeds=(status.snapshot(),),
        alerts_active={(H, "wait_overtime", "notice"): 2, (H, "case_deadline", "red"): 1},
    )
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:
        m = scrape(port)
    finally:
        stop()
    names = {name for name, _ in m}
    for metric in CONTRACT:
        assert any(n == metric or n.startswith(metric + "_") for n in names), metric

    def v(name: str, **labels: str) -> float:
        return m[(name, tuple(sorted(labels.items())))]

    assert v("hall_queue_waiting", hall=H, zone="biz") == 1
    assert v("hall_tickets_issued_total", hall=H, zone="biz") == 3
    assert v("hall_services_total", hall=H, window="W02", outcome="transferred") == 1
    assert v("hall_tickets_abandoned_total", hall=H, zone="estate", reason="no_show") == 1
    assert v("hall_wait_seconds_count", hall=H, zone="biz") == 2
    assert v("hall_wait_seconds_sum", hall=H, zone="biz") == 600
    assert v("hall_wait_seconds_bucket", hall=H, zone="biz", le="300.0") == 1
    assert v("hall_wait_seconds_bucket", hall=H, zone="biz", le="+Inf") == 2
    assert v("hall_service_seconds_sum", hall=H, window="W01") == 600
    assert v("hall_window_state", hall=H, window="W02", state="paused") == 1
    assert v("hall_window_state", hall=H, window="W02", state="open") == 0
    assert v("hall_window_services_last_hour", hall=H, window="W01") == 1
    assert v("hall_ratings_total", hall=H, window="W01", score="1") == 1
    assert v("hall_complaints_open", hall=H) == 0
    assert v("hall_cases_open", hall=H, card="red") == 0
    assert v("hall_alerts_active", hall=H, rule="wait_overtime", severity="notice",
             kind="warning") == 2  # fmt: skip
    assert v("hall_alerts_active", hall=H, rule="case_deadline", severity="red", kind="card") == 1
    assert v("hall_feed_connected", feed="lz-feed") == 1
    assert v("hall_feed_events_total", feed="lz-feed") == 21
    assert v("hall_feed_rejected_total", feed="lz-feed", reason="bad_value") == 3
    assert v("hall_feed_last_seq", feed="lz-feed") == 21
    assert v("hall_feed_gaps_total", feed="lz-feed") == 2


def test_labels_stay_bounded_whatever_the_feed_sends() -> None:
    from feeds.protocol import WindowState
    from metrics.state import MAX_WINDOWS, OVERFLOW

    city = CityState()
    city.apply(
        [
            WindowState(seq=i + 1, ts=1, hall="h", window=f"W{i}", state="open")
            for i in range(MAX_WINDOWS + 50)
        ]
    )
    names = city.snapshot("h").counters.windows
    assert len(names) == MAX_WINDOWS and names[-1] == OVERFLOW


def test_halls_stay_bounded_whatever_the_feed_sends() -> None:
    """A feed inventing hall ids gets MAX_HALLS halls; the rest are counted, not kept, and
    the halls already known go on as before."""
    from feeds.protocol import TicketIssued
    from metrics.state import MAX_HALLS

    city = CityState()
    extra = 25
    events = [
        TicketIssued(seq=i + 1, ts=1763946000000 + i, hall=f"h{i}", ticket="A001", zone="z")
        for i in range(MAX_HALLS + extra)
    ]
    result = city.apply([*events, TicketIssued(seq=10**6, ts=1763946999999, hall="h0",
                                               ticket="A002", zone="z")])  # fmt: skip
    assert len(city.halls) == MAX_HALLS
    assert [r.reason for r in result.rejections] == ["hall_limit"] * extra
    assert result.rejections[0].seq == MAX_HALLS + 1
    assert city.snapshot("h0").issued_today == 2
