"""Property tests: no event sequence crashes the engine or breaks its invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.protocol import (
    Heartbeat,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.state import CALLED, SERVING, WAITING, CityState
from tests.factories import T0

tickets = st.sampled_from(["A1", "A2", "A3", "B1", "B2"])
windows = st.sampled_from(["W1", "W2", "W3"])
zones = st.sampled_from(["biz", "estate"])
# Times jump around, including backwards and across midnight.
times = st.integers(min_value=-3_600_000, max_value=30 * 3_600_000).map(lambda d: T0 + d)


def events():
    common = {"seq": st.just(1), "ts": times, "hall": st.just("h")}
    return st.one_of(
        st.builds(TicketIssued, ticket=tickets, zone=zones,
                  priority=st.sampled_from(["normal", "priority"]), **common),
        st.builds(TicketCalled, ticket=tickets, window=windows, **common),
        st.builds(ServiceStarted, ticket=tickets, window=windows, **common),
        st.builds(ServiceFinished, ticket=tickets, window=windows,
                  outcome=st.sampled_from(["done", "to_backend", "incomplete", "rejected",
                                           "transferred"]), **common),
        st.builds(TicketAbandoned, ticket=tickets,
                  reason=st.sampled_from(["no_show", "left", "expired"]), **common),
        st.builds(WindowState, window=windows,
                  state=st.sampled_from(["open", "paused", "closed"]), **common),
        st.builds(Heartbeat, ts=times, hall=st.just("h")),
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(events(), max_size=12), max_size=8))
def test_invariants_hold_for_any_sequence(batches) -> None:
    city = CityState()
    for batch in batches:
        result = city.apply(batch)
        assert result.applied + len(result.rejections) == len(batch)
        if "h" not in city.halls:
            continue
        h = city.halls["h"]
        snap = city.snapshot("h")
        # Waiting per zone equals the tickets in WAITING state, each in its zone's queue.
        waiting = [t for t in h.tickets.values() if t.state == WAITING]
        assert sorted(t.id for t in waiting) == sorted(q.ticket for q in snap.queue)
        for z, zone in enumerate(snap.zones):
            assert zone.waiting == sum(1 for t in waiting if t.zone == z) >= 0
        # Every ticket of the day in exactly one state, and the counts agree.
        states = [t.state for t in h.tickets.values()]
        assert list(snap.tickets_by_state.values()) == [states.count(s) for s in range(5)]
        assert snap.issued_today == len(h.tickets) == sum(snap.tickets_by_state.values())
        assert snap.waiting == len(snap.queue)
        # A window shows a ticket only if that ticket is called or served at that window.
        for w, window in enumerate(snap.windows):
            if window.ticket is not None:
                t = h.tickets[window.ticket]
                assert t.state in (CALLED, SERVING)
                assert t.window == w
        # Today's issued tickets per zone agree with the day's tickets.
        assert [z.issued_today for z in snap.zones] == [
            sum(1 for t in h.tickets.values() if t.zone == z) for z in range(len(snap.zones))
        ]
        # Cumulative counters never go negative; histogram counts match their sums' sign.
        c = snap.counters
        assert (c.issued >= 0).all() and (c.services >= 0).all()
        assert (c.wait_sum >= 0).all() and (c.service_sum >= 0).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(events(), max_size=12), max_size=8))
def test_figures_stay_consistent_for_any_sequence(batches) -> None:
    """The docs/figures.md figures agree with the tickets, whatever the order of events."""
    city = CityState()
    for batch in batches:
        city.apply(batch)
        if "h" not in city.halls:
            continue
        h = city.halls["h"]
        snap = city.snapshot("h")
        tickets = list(h.tickets.values())
        for z, zone in enumerate(snap.zones):
            mine = [t for t in tickets if t.zone == z]
            assert zone.called_not_started == sum(t.state == CALLED for t in mine)
            assert zone.serving == sum(t.state == SERVING for t in mine)
            assert zone.day.count == sum(t.first_call >= 0 for t in mine)
            if zone.curve_waiting:  # the last bin ends now: its value is the queue now
                assert zone.curve_waiting[-1] == zone.waiting
                assert sum(zone.curve_arrivals) == zone.issued_today
            for stats in (zone.day, zone.hour):
                if stats.count:
                    assert stats.p50_s <= stats.p90_s <= stats.p99_s
                    assert 0.0 <= stats.service_level <= 1.0
            for rate in (zone.no_show_rate, zone.abandonment_rate):
                assert rate is None or 0.0 <= rate <= 1.0
            assert zone.expected_wait_s is None or zone.expected_wait_s >= 0
        for window in snap.windows:
            assert window.open_s >= 0 and window.serving_s >= 0 and window.idle_waiting_s >= 0
            assert window.walk_mean_s is None or window.walk_mean_s >= 0
            assert sum(window.outcomes.values()) == window.services_today
        assert snap.called_not_started == sum(z.called_not_started for z in snap.zones)
