"""The day report's complaints (issue #18, point 6): the first answer (现场处理答复: a
``complaint_answered``, else the settlement), the due time (the hall's closing time of
the working day, 当日事当日毕), settled by it or not; and registered agents (point 7)
exempt from scalping in replayed alerts, their ids pseudonymized with the data dir's key.

Seed 002: 對群眾投訴問題實行限時辦結,做到當日事當日畢,現場處理答復. The day is Tuesday
2025-11-25; the hall closes at the default 17:30.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feeds.privacy import Pseudonymizer
from feeds.protocol import (
    Complaint,
    ComplaintAnswered,
    ComplaintClosed,
    Event,
    Heartbeat,
    TicketIssued,
)
from feeds.replay import renumber
from reports.gather import gather
from reports.tables import build
from runtime.config import load_config
from tests.reports.test_report import _ms, record, table

DAY = dt.date(2025, 11, 25)
AGENT_ID = "370784198805050011"


def complaints_day() -> list[Event]:
    t = lambda hh, mm: _ms(DAY, hh, mm)  # noqa: E731
    h = {"hall": "h", "seq": 1}
    return renumber([
        # Answered on the spot after 4 minutes, settled at 10:00.
        Complaint(ts=t(9, 30), complaint="C1", channel="desk", window="W1", **h),
        ComplaintAnswered(ts=t(9, 34), complaint="C1", text="已现场答复", **h),
        ComplaintClosed(ts=t(10, 0), complaint="C1", **h),
        # Settled unanswered at 11:15: the settlement is its first answer.
        Complaint(ts=t(11, 0), complaint="C2", channel="hotline", **h),
        ComplaintClosed(ts=t(11, 15), complaint="C2", **h),
        # 17:29: due at 17:30, settled at 17:45: overdue.
        Complaint(ts=t(17, 29), complaint="C3", channel="desk", **h),
        ComplaintAnswered(ts=t(17, 31), complaint="C3", **h),
        ComplaintClosed(ts=t(17, 45), complaint="C3", **h),
        # 17:40, after closing: due Wednesday 17:30, still open tonight.
        Complaint(ts=t(17, 40), complaint="C4", channel="online", **h),
        Heartbeat(ts=t(23, 59), hall="h"),
    ])  # fmt: skip


def test_complaints_first_answer_due_and_settled_by_due(tmp_path: Path) -> None:
    record(tmp_path, complaints_day())
    cols, rows = table(build(gather([DAY], tmp_path)), "complaints")
    assert cols == ("hall", "complaint", "window", "received", "first answer", "answered by",
                    "first answer min", "due", "closed", "settled by due", "overdue")  # fmt: skip
    assert [r[:6] + r[7:] for r in rows] == [
        ["h", "C1", "W1", "11-25 09:30", "11-25 09:34", "answer", "11-25 17:30", "11-25 10:00",
         "yes", "no"],
        ["h", "C2", "", "11-25 11:00", "11-25 11:15", "settlement", "11-25 17:30",
         "11-25 11:15", "yes", "no"],
        ["h", "C3", "", "11-25 17:29", "11-25 17:31", "answer", "11-25 17:30", "11-25 17:45",
         "no", "yes"],
        ["h", "C4", "", "11-25 17:40", "", "", "11-26 17:30", "", "no", "no"],
    ]  # fmt: skip
    assert [r[6] for r in rows] == [pytest.approx(4.0), pytest.approx(15.0),
                                    pytest.approx(2.0), None]  # fmt: skip


def test_a_registered_agent_is_no_scalper_in_the_report(tmp_path: Path) -> None:
    """The recording holds pseudonyms (the decoder's, keyed by the data dir); the config
    names the agent raw, and ``gather`` turns it with the same key."""
    data = tmp_path / "data"
    pseudonym = Pseudonymizer.from_data_dir(data)
    t = lambda hh, mm: _ms(DAY, hh, mm)  # noqa: E731
    events = [
        TicketIssued(ts=t(9, i), hall="h", seq=1, ticket=f"A{i}", zone="z",
                     person=pseudonym(AGENT_ID))
        for i in range(6)
    ] + [
        TicketIssued(ts=t(10, i), hall="h", seq=1, ticket=f"B{i}", zone="z",
                     person=pseudonym("370784199103030022"))
        for i in range(4)
    ]  # fmt: skip
    record(data, renumber(events))
    config = tmp_path / "hall.toml"
    config.write_text(f'[rules.scalping]\nagents = ["{AGENT_ID}"]\n', encoding="utf-8")
    (day,) = gather([DAY], data, load_config(config))
    assert [a.scope for a in day.alerts if a.rule == "ticket_scalping"] == ["2025-11-25/B0"]
    (unconfigured,) = gather([DAY], data)  # without the config: both look like scalpers
    scalping = [a.scope for a in unconfigured.alerts if a.rule == "ticket_scalping"]
    assert scalping == ["2025-11-25/A0", "2025-11-25/B0"]
