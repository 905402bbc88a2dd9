"""当日事当日毕 at the edge (issue #18, point 6): a complaint is due by the hall's closing
time of the same working day; after closing, or on a day the hall does not work, by the
closing time of the next working day (docs/alerts.md, "Complaints by closing time").

Seed 002: 對群眾投訴問題實行限時辦結,做到當日事當日畢,現場處理答復. Hall times are hand-worked
from T0, Monday 2025-11-24 09:00 CST; the working days are chinese-calendar's (2025).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alerts.rules import COMPLAINT, COMPLAINT_OVERDUE
from feeds.hallclock import day_start_ms
from feeds.protocol import Complaint, ComplaintClosed, Heartbeat
from metrics.state import CityState
from runtime.config import ConfigError, load_config
from tests.factories import H, Hall, beat, ms

HOUR = 60
DAY = 24 * HOUR
CLOSING = 8 * HOUR + 30  # 17:30 on Monday, in minutes after T0


def complaint(seq: int, minute: float, cid: str, hall: str = H) -> Complaint:
    return Complaint(seq=seq, ts=ms(minute), hall=hall, complaint=cid, channel="desk")


def overdue(hall: Hall) -> list[tuple[str, int]]:
    return [(a.scope, a.fired_ms) for a in hall.active(COMPLAINT_OVERDUE)]


def test_at_1729_due_a_minute_later_at_1731_due_the_next_working_day() -> None:
    hall = Hall(COMPLAINT, COMPLAINT_OVERDUE)
    hall.feed(complaint(1, CLOSING - 1, "K1"))  # Monday 17:29: before closing
    (k1,) = hall.active(COMPLAINT)
    assert k1.due_ms == ms(CLOSING)  # the same day's closing: 17:30
    hall.feed(complaint(2, CLOSING + 1, "K2"))  # Monday 17:31: the hall has closed
    k2 = next(a for a in hall.active(COMPLAINT) if a.scope == "K2")
    assert k2.due_ms == ms(DAY + CLOSING)  # Tuesday 17:30, not Monday midnight
    hall.feed(beat(CLOSING))  # 17:30 sharp: K1 is overdue from then
    assert overdue(hall) == [("K1", ms(CLOSING))]
    hall.feed(beat(15 * HOUR + 1))  # Tuesday 00:01: K2 still has the working day
    hall.feed(beat(DAY + CLOSING - 1))  # Tuesday 17:29
    assert overdue(hall) == [("K1", ms(CLOSING))]
    hall.feed(beat(DAY + CLOSING))  # Tuesday 17:30
    assert overdue(hall) == [("K1", ms(CLOSING)), ("K2", ms(DAY + CLOSING))]
    (a,) = [a for a in hall.active(COMPLAINT_OVERDUE) if a.scope == "K2"]
    assert a.summary == "complaint K2 not settled the same day (当日事当日毕): due 2025-11-25 17:30"


def test_settled_by_closing_is_in_time_settled_after_is_overdue_then_resolved() -> None:
    hall = Hall(COMPLAINT, COMPLAINT_OVERDUE)
    hall.feed(complaint(1, 0, "K1"), complaint(2, 60, "K2"))
    hall.feed(ComplaintClosed(seq=3, ts=ms(CLOSING - 1), hall=H, complaint="K1"), tick=False)
    # K2 is settled at 18:00 with no tick in between: overdue at 17:30, resolved at 18:00.
    hall.feed(ComplaintClosed(seq=4, ts=ms(CLOSING + 30), hall=H, complaint="K2"), tick=False)
    assert hall.active() == []
    late = [a for a in hall.book.resolved if a.rule == COMPLAINT_OVERDUE]
    assert [(a.scope, a.fired_ms, a.resolved_ms) for a in late] == [
        ("K2", ms(CLOSING), ms(CLOSING + 30))
    ]


def test_on_saturday_due_monday_at_closing() -> None:
    """Saturday 2025-11-29 10:00: the hall's working days are Monday to Friday here, so
    the complaint is due at Monday 2025-12-01 17:30."""
    saturday = 5 * DAY + HOUR
    hall = Hall(COMPLAINT, COMPLAINT_OVERDUE)
    hall.feed(complaint(1, saturday, "K1"))
    (k1,) = hall.active(COMPLAINT)
    assert k1.due_ms == ms(7 * DAY + CLOSING)
    hall.feed(beat(6 * DAY + CLOSING + 1))  # Sunday 17:31: nothing
    hall.feed(beat(7 * DAY + CLOSING - 1))  # Monday 17:29: nothing yet
    assert overdue(hall) == []
    hall.feed(beat(7 * DAY + CLOSING))
    assert overdue(hall) == [("K1", ms(7 * DAY + CLOSING))]


def test_in_the_national_day_holiday_due_at_the_first_working_day() -> None:
    """2025: 1 to 8 October off (State Council); a complaint of Friday 3 October 11:00 is
    due at closing on Thursday 9 October."""
    hall = Hall(COMPLAINT, COMPLAINT_OVERDUE)
    received = day_start_ms(date(2025, 10, 3)) + 11 * 3_600_000
    hall.feed(Complaint(seq=1, ts=received, hall=H, complaint="K1", channel="hotline"))
    (k1,) = hall.active(COMPLAINT)
    assert k1.due_ms == day_start_ms(date(2025, 10, 9)) + (17 * 60 + 30) * 60_000


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_hall_its_own_closing_time(tmp_path: Path) -> None:
    """``[halls.H] closes``: Luozhuang closes at 17:00, the others at the city's 17:30."""
    cfg = load_config(write(tmp_path, f'[halls.{H}]\ncloses = "17:00"\n'))
    engine = cfg.alert_engine()
    city = CityState()
    # 17:10: after lz's closing (due Tuesday 17:00), before qz's (due today 17:30).
    events = [complaint(1, 8 * HOUR + 10, "K1"), complaint(2, 8 * HOUR + 10, "K2", hall="qz")]
    engine.on_batch(city.apply(events))
    due = {a.scope: a.due_ms for a in engine.book.active()}
    assert due == {"K1": ms(DAY + 8 * HOUR), "K2": ms(CLOSING)}
    engine.on_batch(city.apply([Heartbeat(ts=ms(DAY + 8 * HOUR), hall=H)]))
    engine.on_tick(city.snapshots())
    assert [a.scope for a in engine.book.active() if a.rule == COMPLAINT_OVERDUE] == ["K1"]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('[halls.lz]\nname = "罗庄"\ncloses = "5pm"\n', ":3:", "halls.lz.closes"),
        (
            '[halls.lz]\ncloses = "17:00"\n[halls.lz.rules.complaints]\nsettle_by = "17:00"\n',
            ":2:",
            "give one",
        ),
    ],
)
def test_a_bad_closing_time_names_file_line_field(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}{where}" in str(info.value) and "halls.lz.closes" in str(info.value)
    assert message in str(info.value)
