"""The figures of docs/figures.md on /metrics, over real HTTP, for the scripted day."""

from __future__ import annotations

import pytest

from metrics.exposition import serve_metrics
from metrics.snapshot import CitySnapshot
from metrics.state import CityState, Settings
from tests.factories import H, figures_day
from tests.metrics.test_exposition import CONTRACT, scrape


@pytest.fixture(scope="module")
def metrics():
    city = CityState(Settings(zone_wait_limits={"estate": 420.0}))
    city.apply(figures_day())
    snap = CitySnapshot(halls=city.snapshots(), feeds=())
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:
        return scrape(port)
    finally:
        stop()


def val(m, name, **labels):
    return m[(name, tuple(sorted({"hall": H, **labels}.items())))]


def test_zone_figures_exported(metrics) -> None:
    biz = {"zone": "biz"}
    assert val(metrics, "hall_zone_wait_quantile_seconds", **biz, period="day",
               quantile="0.9") == pytest.approx(348.0)  # fmt: skip
    assert val(metrics, "hall_zone_wait_mean_seconds", **biz, period="day") == 300.0
    assert val(metrics, "hall_zone_service_level_ratio", zone="estate", period="day") == 0.0
    assert val(metrics, "hall_zone_arrivals", **biz, period="15m") == 1
    assert val(metrics, "hall_zone_arrivals", **biz, period="1h") == 2
    assert val(metrics, "hall_zone_abandonment_ratio", **biz) == pytest.approx(1 / 3)
    assert val(metrics, "hall_zone_windows_needed", **biz) == 1
    assert val(metrics, "hall_zone_windows_open", **biz) == 1
    assert val(metrics, "hall_zone_longest_wait_seconds", **biz) == 2940.0
    # Undefined figures are absent, not 0: no biz wait ended in the last hour.
    assert (
        "hall_zone_wait_mean_seconds",
        tuple(sorted({"hall": H, **biz, "period": "1h"}.items())),
    ) not in metrics
    # No forecast yet (2 calls of biz ended, 1 of estate: fewer than MIN_CYCLES): absent.
    assert not any(k[0] == "hall_zone_expected_wait_seconds" for k in metrics)


def test_window_and_staff_figures_exported(metrics) -> None:
    assert val(metrics, "hall_window_utilization_ratio", window="W01") == pytest.approx(60 / 69)
    assert val(metrics, "hall_window_idle_waiting_seconds_today", window="W02") == 120.0
    assert val(metrics, "hall_window_walk_mean_seconds", window="W01") == 90.0
    assert val(metrics, "hall_window_bad_ratings_today", window="W01") == 1
    assert val(metrics, "hall_window_state_seconds", window="W02") == 55 * 60.0  # paused at 14
    assert val(metrics, "hall_staff_rating_mean", staff="s1") == 3.5
    assert val(metrics, "hall_staff_services_today", staff="s2") == 1
    assert val(metrics, "hall_staff_utilization_ratio", staff="s1") == pytest.approx(60 / 69)
    assert val(metrics, "hall_staff_idle_waiting_seconds_today", staff="s2") == 120.0


def test_contract_names_unchanged(metrics) -> None:
    names = {name for name, _ in metrics}
    bases = {n.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum") for n in names}
    for name in CONTRACT:
        if name not in ("hall_alerts_active",) and not name.startswith("hall_feed"):
            assert name in bases, name
    # Labels stay bounded: no ticket ids anywhere.
    assert not any("B00" in v for _, labels in metrics for _, v in labels)


def test_odd_label_values_are_escaped_and_the_registry_agrees() -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from feeds.protocol import TicketIssued
    from metrics.exposition import render, serve_metrics
    from tests.factories import ms

    odd = 'a"b\\c\nd'
    city = CityState()
    city.apply([TicketIssued(seq=1, ts=ms(1), hall=H, ticket="X1", zone=odd)])
    snap = CitySnapshot(halls=city.snapshots(), feeds=())
    registry, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:
        m = scrape(port)
        again = scrape(port)  # the same snapshot object: served from the render cache
    finally:
        stop()
    assert m == again
    assert val(m, "hall_queue_waiting", zone=odd) == 1
    parsed = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for text in (render(snap).decode(), generate_latest(registry).decode())
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert parsed == {(k[0], k[1], v) for k, v in m.items()}


def test_numbers_never_print_id_like_digit_runs() -> None:
    import re

    from metrics.promtext import number

    assert number(1) == "1.0" and number(float("inf")) == "+Inf" and number(float("nan")) == "NaN"
    for v in (1 / 76, 1 / 7654, 123456.7890123456, 99999999999999.0):
        assert float(number(v)) == pytest.approx(v, rel=1e-11)
        assert not re.search(r"[0-9]{16}", number(v)), number(v)
