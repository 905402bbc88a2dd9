"""The state engine against hand-computed figures for a scripted morning."""

from __future__ import annotations

import numpy as np

from feeds.protocol import (
    CaseAccepted,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Heartbeat,
    ServiceFinished,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
)
from metrics.state import CityState
from tests.factories import H, Script, morning, ms


def test_scripted_morning_figures() -> None:
    city = CityState()
    result = city.apply(morning())
    assert result.rejections == []
    s = city.snapshot(H)
    assert s.now_ms == ms(20)
    assert s.day == "2025-11-24"
    # Waiting: B003 only (B002 is being served again, E001 gone).
    assert s.waiting == 1
    assert [q.ticket for q in s.queue] == ["B003"]
    assert s.tickets_by_state == {
        "waiting": 1,
        "called": 0,
        "serving": 1,
        "done": 1,
        "abandoned": 1,
    }
    # First-call waits: B001 4 min, B002 6 min, E001 7 min.
    assert s.mean_wait_s == (240 + 360 + 420) / 3
    assert s.p90_wait_s == np.percentile([240, 360, 420], 90)
    # The oldest waiting ticket: B003, issued at minute 4, now minute 20.
    assert s.longest_wait_s == 16 * 60
    # Served today: B001 done; B002's transfer is not a service completed for the person.
    assert s.served_today == 1
    assert s.windows_open == 1 and s.windows_total == 2
    biz, estate = s.zones
    assert (biz.name, biz.waiting, biz.issued_today, biz.served_today) == ("biz", 1, 3, 1)
    assert biz.mean_wait_s == 300 and biz.longest_wait_s == 960
    assert (estate.waiting, estate.abandoned_today, estate.mean_wait_s) == (0, 1, 420)
    w1, w2 = s.windows
    assert (w1.state, w1.staff, w1.ticket, w1.serving) == ("open", "s1", "B002", True)
    assert w1.ticket_since_ms == ms(19)
    assert w1.services_today == 1 and w1.mean_service_s == 600
    assert (w2.state, w2.state_since_ms, w2.ticket) == ("paused", ms(14), None)
    assert w2.services_today == 1 and w2.mean_service_s == 240  # the transfer is a service
    c = s.counters
    assert c.services[0].tolist() == [1, 0, 0, 0, 0]
    assert c.services[1].tolist() == [0, 0, 0, 0, 1]
    assert c.ratings[0].tolist() == [1, 0, 0, 0, 1]
    assert c.issued.tolist() == [3, 1]
    assert c.abandoned[1].tolist() == [1, 0, 0]
    # Wait histogram: 240 s and 360 s fall in (120, 300] and (300, 600].
    assert c.wait_buckets[0].sum() == 2 and c.wait_sum[0] == 600
    assert c.wait_buckets[0][3] == 1 and c.wait_buckets[0][4] == 1


def test_last_hour_counts_follow_the_hall_clock() -> None:
    city = CityState()
    city.apply(morning())
    assert city.snapshot(H).windows[0].services_last_hour == 1
    city.apply([Heartbeat(ts=ms(16 + 59), hall=H)])
    assert city.snapshot(H).windows[0].services_last_hour == 1
    city.apply([Heartbeat(ts=ms(16 + 61), hall=H)])  # B001 finished 61 min ago
    snap = city.snapshot(H)
    assert snap.windows[0].services_last_hour == 0
    assert snap.windows[1].services_last_hour == 0  # W02's transfer at minute 13
    assert snap.windows[0].services_today == 1


def test_rejections_change_nothing() -> None:
    city = CityState()
    city.apply(morning())
    before = city.snapshot(H)
    e = Script()
    e.seq = 100
    result = city.apply(
        [
            e(TicketCalled, ms(21), ticket="GHOST", window="W01"),
            e(ServiceFinished, ms(21), ticket="B003", window="W01", outcome="done"),  # not started
            e(TicketIssued, ms(21), ticket="B001", zone="biz"),  # id already issued today
            e(TicketAbandoned, ms(21), ticket="B001", reason="left"),  # already done
            e(CaseAccepted, ms(21), case="NOPE"),
            e(ComplaintClosed, ms(21), complaint="NOPE"),
        ]
    )
    assert [r.reason for r in result.rejections] == [
        "unknown_ticket",
        "bad_state",
        "duplicate_ticket",
        "bad_state",
        "unknown_case",
        "unknown_complaint",
    ]
    after = city.snapshot(H)
    assert (after.waiting, after.served_today, after.tickets_by_state) == (
        before.waiting,
        before.served_today,
        before.tickets_by_state,
    )


def test_new_service_day_starts_empty_but_counters_keep_counting() -> None:
    city = CityState()
    city.apply(morning())
    next_morning = ms(24 * 60)
    city.apply([TicketIssued(seq=50, ts=next_morning, hall=H, ticket="B001", zone="biz")])
    s = city.snapshot(H)
    assert s.day == "2025-11-25"
    assert s.waiting == 1 and s.issued_today == 1 and s.served_today == 0
    assert s.counters.issued.tolist() == [4, 1]  # cumulative for Prometheus
    assert s.windows[0].services_today == 0


def test_complaints_and_cases_with_cards() -> None:
    city = CityState()
    e = Script()
    city.apply(
        [
            e(Complaint, ms(1), complaint="K1", channel="hotline", window="W01"),
            e(Complaint, ms(2), complaint="K2", channel="desk"),
            e(ComplaintClosed, ms(3), complaint="K1"),
            # Promised 1 working day, accepted Monday 09:05: deadline end of Tuesday.
            e(CaseSubmitted, ms(4), case="C1", item="i", dept="d", promised_days=1),
            e(CaseAccepted, ms(5), case="C1"),
            # Never accepted: deemed accepted at submission + 10 min.
            e(CaseSubmitted, ms(6), case="C2", item="i", dept="d", promised_days=2),
        ]
    )
    s = city.snapshot(H)
    assert [c.complaint for c in s.complaints] == ["K2"]
    c1, c2 = s.cases
    assert c1.accepted_ms == ms(5) and not c1.deemed
    assert c1.deadline_ms == ms(-9 * 60 + 2 * 24 * 60)  # Wednesday 00:00
    assert c1.card == "none"  # Monday morning: more than one working day left
    assert c2.accepted_ms == ms(16) and not c2.deemed  # not yet: the 10 minutes still run
    city.apply([Heartbeat(ts=ms(17), hall=H)])
    c2 = city.snapshot(H).cases[1]
    assert c2.deemed and c2.card == "none"
    city.apply([Heartbeat(ts=ms(-9 * 60 + 24 * 60), hall=H)])  # Tuesday 00:00
    assert city.snapshot(H).cases[0].card == "yellow"  # one working day or less left
    # A site survey (现场勘验, a listed special procedure, seed 004) from Tue 23:59 holds
    # the card while it lasts within its limit; the 2 minutes it stopped (1 on Tuesday, 1
    # on Wednesday) move the deadline by one whole working day: to the end of Wednesday.
    wed = ms(-9 * 60 + 2 * 24 * 60)
    day = 24 * 3_600_000
    city.apply([e(CasePaused, wed - 60_000, case="C1", reason="现场勘验")])
    city.apply([Heartbeat(ts=wed + 30_000, hall=H)])
    c1 = city.snapshot(H).cases[0]
    assert (c1.card, c1.procedure, c1.pause_reason) == ("yellow", "现场勘验", "现场勘验")
    city.apply([e(CaseResumed, wed + 60_000, case="C1")])
    city.apply([Heartbeat(ts=wed + 3 * 60_000, hall=H)])
    c1 = city.snapshot(H).cases[0]
    assert (c1.card, c1.deadline_ms) == ("yellow", wed + day)
    assert c1.pauses == ((wed - 60_000, wed + 60_000, 5),)
    city.apply([Heartbeat(ts=wed + day, hall=H)])  # Thursday 00:00
    assert city.snapshot(H).cases[0].card == "red"
    # C2: 2 days from Monday 09:16, due Thursday 00:00: red now too.
    assert city.snapshot(H).cases_by_card() == {"none": 0, "yellow": 0, "red": 2}


def test_complaints_in_the_same_millisecond_are_listed_oldest_first_then_by_id() -> None:
    # K2 names a window, K1 does not; both came in at 09:01:00.000 through the desk. The
    # snapshot used to sort on (time, channel, window) and fail comparing None with "W01".
    city = CityState()
    e = Script()
    city.apply(
        [
            e(Complaint, ms(1), complaint="K2", channel="desk", window="W01"),
            e(Complaint, ms(1), complaint="K1", channel="desk"),
            e(Complaint, ms(0), complaint="K3", channel="hotline"),
        ]
    )
    s = city.snapshot(H)
    assert [(c.complaint, c.received_ms, c.window) for c in s.complaints] == [
        ("K3", ms(0), None),
        ("K1", ms(1), None),
        ("K2", ms(1), "W01"),
    ]


def test_snapshot_is_frozen_and_cached() -> None:
    city = CityState()
    city.apply(morning())
    a = city.snapshot(H)
    assert city.snapshot(H) is a
    assert not a.counters.issued.flags.writeable
    city.apply([Heartbeat(ts=ms(30), hall=H)])
    assert city.snapshot(H) is not a
    assert a.now_ms == ms(20)
