"""Back office and complaints on the hall clock: deemed acceptance, case deadlines in
working days with paused clocks, 当日事当日毕."""

from __future__ import annotations

from alerts.case_rules import CASE_DEADLINE, DEEMED_ACCEPTANCE
from alerts.rules import COMPLAINT, COMPLAINT_OVERDUE
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Heartbeat,
)
from tests.factories import H, Hall, beat, ms

HOUR = 60
DAY = 24 * HOUR  # T0 is Monday 2025-11-24 09:00 CST


def submitted(seq: int, minute: float, case: str, days: int = 2) -> CaseSubmitted:
    return CaseSubmitted(
        seq=seq, ts=ms(minute), hall=H, case=case, item="bdc-01", dept="estate", promised_days=days
    )


def test_deemed_acceptance_after_ten_silent_minutes() -> None:
    hall = Hall(DEEMED_ACCEPTANCE)
    hall.feed(submitted(1, 0, "C1"), submitted(2, 0, "C2"))
    hall.feed(CaseAccepted(seq=3, ts=ms(5), hall=H, case="C2"), beat(9))
    assert hall.active() == []
    hall.feed(beat(11))
    (a,) = hall.active()
    assert (a.scope, a.severity, a.fired_ms) == ("C1", "yellow", ms(10))
    assert "deemed accepted at 09:10" in a.summary
    hall.feed(CaseAccepted(seq=4, ts=ms(30), hall=H, case="C1"))
    assert hall.active() == [] and a.resolved_ms == ms(30)


def test_deemed_acceptance_seen_without_a_tick() -> None:
    hall = Hall(DEEMED_ACCEPTANCE)
    hall.feed(submitted(1, 0, "C1"), CaseAccepted(seq=2, ts=ms(12), hall=H, case="C1"), tick=False)
    (a,) = hall.book.resolved
    assert (a.fired_ms, a.resolved_ms) == (ms(10), ms(12))


def test_case_deadline_yellow_red_closed_with_paused_clock() -> None:
    hall = Hall(CASE_DEADLINE)
    # Accepted Mon 09:05, 2 working days: due end of Wed; yellow from end of Tue.
    hall.feed(submitted(1, 0, "C1"), CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"))
    # Paused two hours on Monday for a site survey (踏勘): everything moves 2 h later.
    hall.feed(CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="site survey"))
    hall.feed(CaseResumed(seq=4, ts=ms(180), hall=H, case="C1"))
    wed_midnight = ms(2 * DAY - 9 * HOUR)  # Wed 00:00
    hall.feed(Heartbeat(ts=wed_midnight + 2 * 3_600_000 - 1, hall=H))
    assert hall.active() == []
    hall.feed(Heartbeat(ts=wed_midnight + 2 * 3_600_000, hall=H))
    (a,) = hall.active()
    assert (a.severity, a.fired_ms) == ("yellow", wed_midnight + 2 * 3_600_000)
    assert "due 2025-11-27 02:00" in a.summary
    hall.feed(beat(3 * DAY))  # Thursday 09:00: overdue since Thu 02:00
    assert (a.severity, a.raised_ms) == ("red", wed_midnight + DAY * 60_000 + 2 * 3_600_000)
    hall.feed(CaseClosed(seq=5, ts=ms(3 * DAY + 30), hall=H, case="C1", outcome="approved"))
    assert hall.active() == [] and a.resolved_ms == ms(3 * DAY + 30)


def test_case_closing_between_ticks_still_gets_its_card() -> None:
    hall = Hall(CASE_DEADLINE)
    hall.feed(submitted(1, 0, "C1", days=0), CaseAccepted(seq=2, ts=ms(1), hall=H, case="C1"))
    # 0 days: yellow at once, due at the end of Monday; closed on Tuesday unseen.
    hall.feed(CaseClosed(seq=3, ts=ms(DAY), hall=H, case="C1", outcome="approved"), tick=False)
    (a,) = hall.book.resolved
    assert (a.severity, a.fired_ms, a.raised_ms) == ("red", ms(1), ms(15 * HOUR))


def test_complaint_at_once_and_overdue_at_settle_by() -> None:
    hall = Hall(COMPLAINT, COMPLAINT_OVERDUE)
    hall.feed(Complaint(seq=1, ts=ms(0), hall=H, complaint="K1", channel="desk"))
    hall.feed(beat(8 * HOUR + 29))
    assert [a.rule for a in hall.active()] == [COMPLAINT]
    hall.feed(beat(8 * HOUR + 31))  # 17:31
    overdue = hall.active(COMPLAINT_OVERDUE)
    assert [(a.scope, a.fired_ms) for a in overdue] == [("K1", ms(8 * HOUR + 30))]
    hall.feed(Complaint(seq=2, ts=ms(9 * HOUR), hall=H, complaint="K2", channel="hotline"))
    hall.feed(ComplaintClosed(seq=3, ts=ms(9 * HOUR + 5), hall=H, complaint="K1"))
    assert [a.scope for a in hall.active()] == ["K2"]
    hall.feed(beat(15 * HOUR + 1))  # 00:01: K2 (received 18:00) was due at midnight
    assert [(a.scope, a.fired_ms) for a in hall.active(COMPLAINT_OVERDUE)] == [
        ("K2", ms(15 * HOUR))
    ]
