"""现场处理答复 measured (issue #18, point 6; seed 002: 當日事當日畢,現場處理答復): the time
from a complaint to its first answer — its first ``complaint_answered``, else its
settlement — on /metrics over real HTTP, in the snapshot, and through a checkpoint."""

from __future__ import annotations

from feeds.protocol import Complaint, ComplaintAnswered, ComplaintClosed
from metrics.exposition import serve_metrics
from metrics.snapshot import CitySnapshot
from metrics.state import CityState
from tests.factories import H, Script, ms
from tests.metrics.test_exposition import scrape

NAME = "hall_complaint_answer_seconds"


def day() -> tuple[CityState, list[str]]:
    """K1 answered on the spot after 3 min (and again later: not counted), settled at
    10:00; K2 never answered, settled after 3 h; K3 answered after 20 min, still open.
    Two complaint_answered events a feed should not send: for a complaint never
    received, and for one settled already."""
    e = Script()
    city = CityState()
    result = city.apply([
        e(Complaint, ms(0), complaint="K1", channel="desk", window="W1"),
        e(ComplaintAnswered, ms(3), complaint="K1", text="已现场答复", staff="zhang"),
        e(ComplaintAnswered, ms(10), complaint="K1", text="再次说明"),
        e(Complaint, ms(30), complaint="K2", channel="hotline"),
        e(ComplaintClosed, ms(60), complaint="K1"),
        e(Complaint, ms(200), complaint="K3", channel="online"),
        e(ComplaintClosed, ms(210), complaint="K2"),
        e(ComplaintAnswered, ms(220), complaint="K3"),
        e(ComplaintAnswered, ms(221), complaint="K9"),
        e(ComplaintAnswered, ms(222), complaint="K1"),
    ])  # fmt: skip
    return city, [r.reason for r in result.rejections]


def test_first_answer_else_settlement_on_metrics() -> None:
    city, rejected = day()
    assert rejected == ["unknown_complaint", "unknown_complaint"]  # K9 unknown, K1 settled
    snap = CitySnapshot(halls=city.snapshots(), feeds=())
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:
        m = scrape(port)
    finally:
        stop()

    def bucket(le: str) -> float:
        return m[(f"{NAME}_bucket", (("hall", H), ("le", le)))]

    # K1: 180 s (its first answer); K2: 180 min = 10 800 s (settled unanswered). K3 is
    # answered but open: 20 min = 1 200 s, counted at its answer.
    assert [bucket(le) for le in ("60.0", "300.0", "900.0", "1800.0", "7200.0", "14400.0")] == [
        0,
        1,
        1,
        2,
        2,
        3,
    ]
    assert bucket("+Inf") == 3
    assert m[(f"{NAME}_count", (("hall", H),))] == 3
    assert m[(f"{NAME}_sum", (("hall", H),))] == 180 + 1200 + 10_800


def test_the_snapshot_shows_the_first_answer_and_a_checkpoint_keeps_it() -> None:
    city, _ = day()
    (k3,) = city.snapshots()[H].complaints
    assert (k3.complaint, k3.answered_ms) == ("K3", ms(220))
    again = CityState()
    again.restore(city.checkpoint())
    e = Script(seq=100)
    again.apply([e(ComplaintAnswered, ms(230), complaint="K3"),  # a later answer: not counted
                 e(ComplaintClosed, ms(240), complaint="K3")])  # fmt: skip
    counters = again.snapshots()[H].counters
    assert counters.complaint_answer_buckets.sum() == 3
    assert counters.complaint_answer_sum == 180 + 1200 + 10_800
    assert again.snapshots()[H].complaints == ()
