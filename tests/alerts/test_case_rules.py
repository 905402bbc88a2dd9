"""Back office and complaints on the hall clock: deemed acceptance, case deadlines in
working days with paused clocks, 当日事当日毕."""

from __future__ import annotations

from alerts.case_rules import (
    ADDED_MATERIALS,
    CASE_DEADLINE,
    DEEMED_ACCEPTANCE,
    LEGAL_DEADLINE,
    PAUSE_UNLISTED,
    PROCEDURE_OVERTIME,
)
from alerts.rules import COMPLAINT, COMPLAINT_OVERDUE
from alerts.settings import Complaints, minutes_of_day
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Heartbeat,
)
from metrics.case_clock import CLOSES_MS
from tests.factories import H, Hall, beat, ms

HOUR = 60
DAY = 24 * HOUR  # T0 is Monday 2025-11-24 09:00 CST


def submitted(
    seq: int, minute: float, case: str, days: int = 2, legal: int | None = None
) -> CaseSubmitted:
    return CaseSubmitted(seq=seq, ts=ms(minute), hall=H, case=case, item="bdc-01", dept="estate",
                         promised_days=days, legal_days=legal)  # fmt: skip


def test_deemed_acceptance_after_ten_silent_minutes() -> None:
    hall = Hall(DEEMED_ACCEPTANCE)
    hall.feed(submitted(1, 0, "C1"), submitted(2, 0, "C2"))
    hall.feed(CaseAccepted(seq=3, ts=ms(5), hall=H, case="C2"), beat(9))
    assert hall.active() == []
    hall.feed(beat(11))
    (a,) = hall.active()
    # A warning, not a card (seed 001 gives cards to case deadlines and added materials).
    assert (a.scope, a.severity, a.fired_ms) == ("C1", "notice", ms(10))
    assert "deemed accepted at 09:10" in a.summary
    hall.feed(CaseAccepted(seq=4, ts=ms(30), hall=H, case="C1"))
    assert hall.active() == [] and a.resolved_ms == ms(30)


def test_deemed_acceptance_seen_without_a_tick() -> None:
    hall = Hall(DEEMED_ACCEPTANCE)
    hall.feed(submitted(1, 0, "C1"), CaseAccepted(seq=2, ts=ms(12), hall=H, case="C1"), tick=False)
    (a,) = hall.book.resolved
    assert (a.fired_ms, a.resolved_ms) == (ms(10), ms(12))


def test_case_deadline_yellow_red_closed_with_paused_clock() -> None:
    """Seed 004: 对涉及现场勘验、技术审查、听证论证等程序实施清单化管理,建立限时办结机制 —
    a listed special procedure stops the clock, and the time it took moves the deadline by
    whole working days: it still falls at the end of a working day."""
    hall = Hall(CASE_DEADLINE)
    # Accepted Mon 09:05, 2 working days: due end of Wed; yellow from end of Tue.
    hall.feed(submitted(1, 0, "C1"), CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"))
    # Paused two hours on Monday for a site survey (现场勘验, listed: 5 working days).
    hall.feed(CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="现场勘验"))
    hall.feed(CaseResumed(seq=4, ts=ms(180), hall=H, case="C1"))
    # 2 h of working time stopped: one working day more, rounded up. Yellow from the end
    # of Wed (Thu 00:00), due end of Thu (Fri 00:00) — not Thu 02:00 as a plain 2 h shift.
    thu_midnight = ms(3 * DAY - 9 * HOUR)
    hall.feed(Heartbeat(ts=thu_midnight - 1, hall=H))
    assert hall.active() == []
    hall.feed(Heartbeat(ts=thu_midnight, hall=H))
    (a,) = hall.active()
    assert (a.severity, a.fired_ms) == ("yellow", thu_midnight)
    assert "due end of 2025-11-27" in a.summary
    hall.feed(beat(4 * DAY))  # Friday 09:00: overdue since Fri 00:00
    assert (a.severity, a.raised_ms) == ("red", thu_midnight + DAY * 60_000)
    assert "overdue since end of 2025-11-27" in a.summary
    hall.feed(CaseClosed(seq=5, ts=ms(4 * DAY + 30), hall=H, case="C1", outcome="approved"))
    assert hall.active() == [] and a.resolved_ms == ms(4 * DAY + 30)


def test_a_pause_over_a_weekend_moves_the_deadline_to_the_end_of_a_working_day() -> None:
    """Accepted Thu 2025-11-27 09:00, one working day: due end of Fri 11-28. A technical
    review (技术审查, listed) from Fri 16:00 to Mon 10:00 stopped 8 h on Friday and 10 h
    on Monday (the weekend is no working time): 18 h, one working day, so due end of Mon
    12-01. Adding the paused clock time (66 h) would have made it Mon 18:00."""
    hall = Hall(CASE_DEADLINE)
    thu = 3 * DAY
    hall.feed(submitted(1, thu, "C1", days=1), CaseAccepted(seq=2, ts=ms(thu), hall=H, case="C1"))
    hall.feed(CasePaused(seq=3, ts=ms(4 * DAY + 7 * HOUR), hall=H, case="C1", reason="技术审查"))
    hall.feed(CaseResumed(seq=4, ts=ms(7 * DAY + HOUR), hall=H, case="C1"))
    (view,) = hall.city.snapshot(H).cases
    tue_midnight = ms(8 * DAY - 9 * HOUR)
    assert (view.deadline_ms, view.card) == (tue_midnight, "yellow")  # Mon: the last day
    (a,) = hall.active()
    # Yellow since Fri 00:00, before the review began: a pause takes no card back.
    assert a.fired_ms == ms(4 * DAY - 9 * HOUR)
    hall.feed(Heartbeat(ts=tue_midnight, hall=H))
    assert (a.severity, a.raised_ms) == ("red", tue_midnight)


def test_a_pause_for_a_reason_not_on_the_list_stops_no_clock_and_says_so() -> None:
    """Only the listed procedures stop the clock (seed 004's 清单化管理): a case paused
    for 等领导签字 keeps running to its deadline, and a warning names the pause."""
    hall = Hall(CASE_DEADLINE, PAUSE_UNLISTED)
    hall.feed(submitted(1, 0, "C1"), CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"))
    hall.feed(CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="等领导签字"))
    (w,) = hall.active()
    assert (w.rule, w.severity, w.fired_ms) == (PAUSE_UNLISTED, "notice", ms(60))
    assert "not a listed special procedure: its clock runs on" in w.summary
    wed_midnight = ms(2 * DAY - 9 * HOUR)  # yellow from the end of Tue, as if never paused
    hall.feed(Heartbeat(ts=wed_midnight, hall=H))
    (card,) = hall.active(CASE_DEADLINE)
    assert (card.severity, card.fired_ms) == ("yellow", wed_midnight)
    (view,) = hall.city.snapshot(H).cases
    assert (view.paused, view.procedure, view.card) == (True, None, "yellow")
    hall.feed(CaseResumed(seq=4, ts=ms(2 * DAY), hall=H, case="C1"))
    assert hall.active(PAUSE_UNLISTED) == [] and w.resolved_ms == ms(2 * DAY)


def test_an_open_pause_past_its_limit_is_carded_and_the_clock_runs_again() -> None:
    """Accepted Mon 11-24 09:05, 3 working days. A site survey (现场勘验, 5 working days)
    from Mon 10:00 never resumes. Its limit runs out at the end of Mon 12-01 (the 5th
    working day after Monday): a yellow card on the procedure from the end of Fri 11-28
    (one day left), red from Tue 12-02 00:00. The case's clock stopped from Mon 10:00 to
    that limit only — 14 h + 5 x 24 h = 134 h, 6 working days rounded up — so the case
    itself is due at the end of the 9th working day, Fri 12-05: yellow from Fri 00:00,
    red from Sat 00:00. (Before, an open pause held every card back for ever.)"""
    hall = Hall(CASE_DEADLINE, PROCEDURE_OVERTIME)
    hall.feed(submitted(1, 0, "C1", days=3), CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"))
    hall.feed(CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="现场勘验(第一次)"))
    (view,) = hall.city.snapshot(H).cases
    assert (view.procedure, view.procedure_days) == ("现场勘验", 5)
    assert view.procedure_due_ms == ms(8 * DAY - 9 * HOUR)  # Tue 12-02 00:00
    hall.feed(Heartbeat(ts=ms(5 * DAY - 9 * HOUR) - 1, hall=H))  # Fri 11-28 23:59:59.999
    assert hall.active() == []
    hall.feed(Heartbeat(ts=ms(5 * DAY - 9 * HOUR), hall=H))
    (proc,) = hall.active(PROCEDURE_OVERTIME)
    assert (proc.severity, proc.fired_ms) == ("yellow", ms(5 * DAY - 9 * HOUR))
    assert "special procedure 现场勘验 since 2025-11-24 10:00" in proc.summary
    hall.feed(beat(8 * DAY))  # Tue 12-02 09:00
    assert (proc.severity, proc.raised_ms) == ("red", ms(8 * DAY - 9 * HOUR))
    assert hall.active(CASE_DEADLINE) == []  # the case's own clock: 6 days more
    hall.feed(beat(11 * DAY))  # Fri 12-05 09:00
    (case,) = hall.active(CASE_DEADLINE)
    assert (case.severity, case.fired_ms) == ("yellow", ms(11 * DAY - 9 * HOUR))
    hall.feed(beat(12 * DAY))  # Sat 12-06 09:00
    assert (case.severity, case.raised_ms) == ("red", ms(12 * DAY - 9 * HOUR))
    hall.feed(CaseResumed(seq=4, ts=ms(14 * DAY), hall=H, case="C1"))
    assert hall.active(PROCEDURE_OVERTIME) == [] and proc.resolved_ms == ms(14 * DAY)
    assert hall.active(CASE_DEADLINE) == [case]  # still overdue: resuming is no closing


def test_a_procedure_that_ran_over_between_two_looks_is_still_carded() -> None:
    """A hearing (听证论证, 20 working days) that resumed after its limit, with no look in
    between, gets its cards at the times they fell due."""
    hall = Hall(PROCEDURE_OVERTIME)
    hall.feed(
        submitted(1, 0, "C1", days=30),
        CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"),
        CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="听证论证"),
        CaseResumed(seq=4, ts=ms(40 * DAY), hall=H, case="C1"),
        tick=False,
    )
    (a,) = hall.book.resolved
    # The 20th working day after Mon 11-24 is Mon 12-22: red from its end (Tue 12-23
    # 00:00), yellow from the end of the 19th (Fri 12-19, so Sat 12-20 00:00).
    assert (a.severity, a.fired_ms, a.raised_ms) == (
        "red",
        ms(26 * DAY - 9 * HOUR),
        ms(29 * DAY - 9 * HOUR),
    )


def test_case_closing_between_ticks_still_gets_its_card() -> None:
    hall = Hall(CASE_DEADLINE)
    hall.feed(submitted(1, 0, "C1", days=0), CaseAccepted(seq=2, ts=ms(1), hall=H, case="C1"))
    # 0 days: due at the end of Monday, yellow from the hall's closing time (17:30 by
    # default), not from acceptance; closed on Tuesday unseen.
    hall.feed(CaseClosed(seq=3, ts=ms(DAY), hall=H, case="C1", outcome="approved"), tick=False)
    (a,) = hall.book.resolved
    assert (a.severity, a.fired_ms, a.raised_ms) == ("red", ms(8 * HOUR + 30), ms(15 * HOUR))


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
    # K2 came at 18:00, after closing: due at closing of the next working day, Tuesday
    # 17:30 (docs/alerts.md, "Complaints by closing time"), not at midnight.
    hall.feed(beat(15 * HOUR + 1))
    assert hall.active(COMPLAINT_OVERDUE) == []
    hall.feed(beat(DAY + 8 * HOUR + 31))  # Tuesday 17:31
    assert [(a.scope, a.fired_ms) for a in hall.active(COMPLAINT_OVERDUE)] == [
        ("K2", ms(DAY + 8 * HOUR + 30))
    ]


def test_added_materials_is_a_red_card_from_a_complaint_or_from_the_back_office() -> None:
    """Seed 001: 对擅自增加或改变申请材料、违规设置办理条件等行为,进行红牌警告、强制停止实施.
    A complaint of that category and a ``case_materials_changed`` are red cards at once;
    the case's card climbs to its department at 10:15 and the office at 10:30 (duty time),
    and stays after the case closes until a person says what was stopped."""
    hall = Hall(ADDED_MATERIALS)
    hall.feed(
        Complaint(seq=1, ts=ms(10), hall=H, complaint="K1", channel="desk", window="W3",
                  category="added_materials", text="要求提供清单以外的材料"),
        Complaint(seq=2, ts=ms(11), hall=H, complaint="K2", channel="desk", category="wait_time"),
        submitted(3, 0, "C1"),
        CaseAccepted(seq=4, ts=ms(5), hall=H, case="C1"),
        CaseMaterialsChanged(seq=5, ts=ms(60), hall=H, case="C1", change="conditions_added",
                             materials="另需村委会证明"),
    )  # fmt: skip
    k1, c1 = sorted(hall.active(), key=lambda a: a.fired_ms)
    assert (k1.scope, k1.severity, k1.fired_ms) == ("K1", "red", ms(10))
    assert k1.summary == "complaint K1 via desk at window W3: added_materials"
    assert (c1.scope, c1.severity, c1.fired_ms) == ("C1", "red", ms(60))
    assert c1.summary == "case C1 (estate): conditions added: 另需村委会证明"
    hall.feed(beat(90))
    assert (c1.level, c1.escalated_role, c1.escalated_target) == (2, "supervision", "效能监督")
    up = [(t, w) for t, w in c1.history if w.startswith("escalated")]
    assert up == [(ms(75), "escalated to level 1"), (ms(90), "escalated to level 2")]
    hall.feed(CaseClosed(seq=6, ts=ms(120), hall=H, case="C1", outcome="approved"))
    assert c1 in hall.active()  # closing the case is not stopping the demand
    hall.book.resolve_by_hand(c1.id, "zhang", "强制停止实施: the extra condition withdrawn")
    assert hall.active() == [k1]


def test_materials_changed_for_an_unknown_case_is_rejected_and_no_card() -> None:
    hall = Hall(ADDED_MATERIALS)
    result = hall.city.apply(
        [CaseMaterialsChanged(seq=1, ts=ms(1), hall=H, case="nope", change="materials_added")]
    )
    hall.engine.on_batch(result)
    assert [r.reason for r in result.rejections] == ["unknown_case"]
    assert hall.active() == []


def test_a_same_day_case_is_yellow_from_the_hall_closing_time_not_from_acceptance() -> None:
    """A 0-day case (即办件, promised the same day) is due at the end of its day. "One
    working day or less left" would card it yellow the moment it is accepted (all its
    life is its last day); a same-day case is about to run over (seed 001: 对即将超时办理
    的事项,进行实时预警和黄牌警告) when the hall closes on it: yellow from the hall's
    closing time (17:30 by default), red from midnight. One accepted after closing is
    yellow at once."""
    hall = Hall(CASE_DEADLINE)
    hall.feed(submitted(1, 0, "C1", days=0), CaseAccepted(seq=2, ts=ms(1), hall=H, case="C1"))
    (view,) = hall.city.snapshot(H).cases
    assert (view.card, view.deadline_ms) == ("none", ms(15 * HOUR))  # Tue 00:00
    assert hall.active() == []
    hall.feed(Heartbeat(ts=ms(8 * HOUR + 30) - 1, hall=H))  # 17:29:59.999
    assert hall.active() == [] and hall.city.snapshot(H).cases[0].card == "none"
    hall.feed(Heartbeat(ts=ms(8 * HOUR + 30), hall=H))  # 17:30
    (c1,) = hall.active()
    assert (c1.severity, c1.fired_ms) == ("yellow", ms(8 * HOUR + 30))
    assert c1.summary == "case C1 (bdc-01, estate, promised 0 working days) due end of 2025-11-24"
    assert hall.city.snapshot(H).cases[0].card == "yellow"
    # Submitted at 18:00, accepted 18:02: after closing, so yellow at acceptance.
    hall.feed(submitted(3, 9 * HOUR, "C2", days=0),
              CaseAccepted(seq=4, ts=ms(9 * HOUR + 2), hall=H, case="C2"))  # fmt: skip
    c2 = hall.book.open[(CASE_DEADLINE, H, "C2")]
    assert (c2.severity, c2.fired_ms) == ("yellow", ms(9 * HOUR + 2))
    hall.feed(beat(15 * HOUR))  # Tue 00:00: both overdue
    assert [(a.scope, a.severity, a.raised_ms) for a in hall.active()] == [
        ("C1", "red", ms(15 * HOUR)),
        ("C2", "red", ms(15 * HOUR)),
    ]
    assert "overdue since end of 2025-11-24" in c1.summary


def test_a_listed_pause_moves_a_same_day_case_to_the_next_closing_time() -> None:
    """Accepted Mon 09:01, 0 days; corrected materials (补正材料, listed) from 10:00 to
    12:00 stopped 2 h of working time: one working day more, so due the end of Tue 11-25
    and yellow from Tue 17:30 — a pause that began before Monday's closing time moves the
    yellow too (``metrics.case_clock.same_day_yellow``)."""
    hall = Hall(CASE_DEADLINE)
    hall.feed(
        submitted(1, 0, "C1", days=0),
        CaseAccepted(seq=2, ts=ms(1), hall=H, case="C1"),
        CasePaused(seq=3, ts=ms(60), hall=H, case="C1", reason="补正材料"),
        CaseResumed(seq=4, ts=ms(180), hall=H, case="C1"),
    )
    hall.feed(beat(15 * HOUR))  # Tue 00:00: was due at Monday's end before the pause
    (view,) = hall.city.snapshot(H).cases
    assert (view.card, view.deadline_ms) == ("none", ms(DAY + 15 * HOUR))
    assert hall.active() == []
    hall.feed(beat(DAY + 8 * HOUR + 30))  # Tue 17:30
    (a,) = hall.active()
    assert (a.severity, a.fired_ms) == ("yellow", ms(DAY + 8 * HOUR + 30))
    assert a.summary.endswith("due end of 2025-11-25")


def test_the_legal_limit_is_a_red_card_of_its_own_after_the_promise() -> None:
    """Seed 004 publishes both limits per item (法定办结时限、承诺办结时限); seed 002 shows
    how far apart they are (取水许可: 45 → 3 working days). Accepted Mon 11-24 09:05,
    promised 3, legal 5 working days. The promise: yellow from the end of Wed 11-26, red
    from the end of Thu 11-27 (``case_deadline``). The law: red from the end of Mon 12-01
    (Tue, Wed, Thu, Fri, Mon), a card of its own (``legal_deadline``, scope the case),
    fired when it happens though the promise's card has been red for days.
    C2, the same case paused 2 h on Monday for a site survey (现场勘验, listed): both
    clocks stop alike, each limit one working day later (legal: the end of Tue 12-02)."""
    hall = Hall(CASE_DEADLINE, LEGAL_DEADLINE)
    hall.feed(
        submitted(1, 0, "C1", days=3, legal=5),
        CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"),
        submitted(3, 0, "C2", days=3, legal=5),
        CaseAccepted(seq=4, ts=ms(5), hall=H, case="C2"),
        CasePaused(seq=5, ts=ms(60), hall=H, case="C2", reason="现场勘验"),
        CaseResumed(seq=6, ts=ms(180), hall=H, case="C2"),
    )
    tue_0202 = ms(8 * DAY - 9 * HOUR)  # Tue 12-02 00:00
    hall.feed(Heartbeat(ts=tue_0202 - 1, hall=H))
    assert hall.active(LEGAL_DEADLINE) == []
    promise = hall.book.open[(CASE_DEADLINE, H, "C1")]
    assert (promise.severity, promise.fired_ms, promise.raised_ms) == (
        "red", ms(3 * DAY - 9 * HOUR), ms(4 * DAY - 9 * HOUR),
    )  # fmt: skip
    assert promise.summary == (
        "case C1 (bdc-01, estate, promised 3 working days) overdue since end of 2025-11-27"
    )
    hall.feed(Heartbeat(ts=tue_0202, hall=H))
    (law,) = hall.active(LEGAL_DEADLINE)
    assert (law.scope, law.severity, law.fired_ms) == ("C1", "red", tue_0202)
    assert law.summary == (
        "case C1 (bdc-01, estate, legal 5 working days) past its legal limit since end of "
        "2025-12-01 (promised 3)"
    )
    c1, c2 = hall.city.snapshot(H).cases
    assert (c1.legal_days, c1.legal_deadline_ms, c1.card) == (5, tue_0202, "red")
    assert c2.legal_deadline_ms == tue_0202 + DAY * 60_000
    hall.feed(Heartbeat(ts=tue_0202 + DAY * 60_000, hall=H))  # Wed 12-03 00:00
    assert [(a.scope, a.fired_ms) for a in hall.active(LEGAL_DEADLINE)] == [
        ("C1", tue_0202),
        ("C2", tue_0202 + DAY * 60_000),
    ]
    hall.feed(CaseClosed(seq=7, ts=ms(9 * DAY), hall=H, case="C1", outcome="approved"))
    assert law.resolved_ms == promise.resolved_ms == ms(9 * DAY)
    assert [(a.rule, a.scope) for a in hall.active()] == [
        (CASE_DEADLINE, "C2"), (LEGAL_DEADLINE, "C2"),
    ]  # fmt: skip


def test_a_legal_limit_passed_between_two_looks_is_still_carded() -> None:
    """Promised = legal = 1 working day (a catalogue that did not shorten it): accepted
    Mon 09:05, due the end of Tue 11-25; closed Wed 10:00 unseen. The promise and the law
    were both broken at Wed 00:00: two red cards, each saying which limit."""
    hall = Hall(CASE_DEADLINE, LEGAL_DEADLINE)
    hall.feed(
        submitted(1, 0, "C1", days=1, legal=1),
        CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"),
        CaseClosed(seq=3, ts=ms(2 * DAY + HOUR), hall=H, case="C1", outcome="approved"),
        tick=False,
    )
    wed = ms(2 * DAY - 9 * HOUR)
    cards = {a.rule: (a.severity, a.raised_ms or a.fired_ms) for a in hall.book.resolved}
    assert cards == {CASE_DEADLINE: ("red", wed), LEGAL_DEADLINE: ("red", wed)}


def test_the_hall_state_and_the_rules_close_at_the_same_time_by_default() -> None:
    """A same-day case's yellow, in the hall state's card and in ``case_deadline``, comes
    at one closing time: ``[rules.complaints] settle_by`` (or ``[halls.H] closes``), whose
    default the hall state holds as ``CLOSES_MS`` (the config passes it to both)."""
    assert minutes_of_day(Complaints().settle_by) * 60_000 == CLOSES_MS
