"""Escalation (督办) on the hall clock: an unacknowledged red card climbs every 15 minutes
of duty time — the roster's shifts, or the duty hours of working days — to a role with a
target: the case's department first (seed 001: 及时提醒相关单位加紧办理), then the
supervision office (seed 001: 红牌警告和督办). Never through the night."""

from __future__ import annotations

import msgspec
import pytest

from alerts.book import Change
from alerts.case_rules import CASE_DEADLINE
from alerts.duty import Roster
from alerts.escalation import UNKNOWN_DEPARTMENT, Escalation
from alerts.outbound import Webhook, alertmanager_alert, webhook_body
from feeds.protocol import CaseAccepted, CaseSubmitted, Heartbeat
from metrics.workdays import WorkCalendar
from runtime.config import ConfigError, load_config
from tests.factories import H, Hall, ms

HOUR = 60
DAY = 24 * HOUR  # T0 is Monday 2025-11-24 09:00 CST
MIDNIGHT = -9 * HOUR  # Monday 00:00, in minutes from T0


def overdue_at_midnight(hall: Hall) -> None:
    """Case C1 (不动产登记中心), promised 0 working days, accepted Mon 09:05: yellow at
    once, red from the end of Monday (Tue 00:00)."""
    hall.feed(
        CaseSubmitted(seq=1, ts=ms(0), hall=H, case="C1", item="bdc-01", dept="不动产登记中心",
                      promised_days=0),
        CaseAccepted(seq=2, ts=ms(5), hall=H, case="C1"),
    )  # fmt: skip


def test_a_red_card_at_midnight_climbs_on_the_next_morning_to_the_department_then_the_office() -> (
    None
):
    """Red at Tue 00:00. Without a rota, duty time is 08:30-17:30 on working days: level 1
    at Tue 08:45 (15 minutes of duty), level 2 at 09:00. Before, it climbed at 00:15 and
    00:30, when nobody was there."""
    hall = Hall(CASE_DEADLINE)
    overdue_at_midnight(hall)
    hall.feed(Heartbeat(ts=ms(DAY + MIDNIGHT + 8 * HOUR + 44), hall=H))  # Tue 08:44
    (a,) = hall.active()
    assert (a.severity, a.raised_ms, a.level) == ("red", ms(DAY + MIDNIGHT), 0)
    hall.feed(Heartbeat(ts=ms(DAY + MIDNIGHT + 9 * HOUR + 30), hall=H))  # Tue 09:30
    assert (a.level, a.escalated_ms) == (2, ms(DAY + MIDNIGHT + 9 * HOUR))
    assert (a.escalated_role, a.escalated_target) == ("supervision", "效能监督")
    steps = [(t, w) for t, w in a.history if w.startswith("escalated")]
    assert steps == [
        (ms(DAY + MIDNIGHT + 8 * HOUR + 45), "escalated to level 1"),
        (ms(DAY + MIDNIGHT + 9 * HOUR), "escalated to level 2"),
    ]


def test_each_level_goes_to_its_role_and_target_and_the_senders_say_so() -> None:
    hall = Hall(CASE_DEADLINE)
    overdue_at_midnight(hall)
    changes: list[Change] = []
    hall.book.listeners.append(changes.append)
    hall.feed(Heartbeat(ts=ms(DAY + MIDNIGHT + 8 * HOUR + 50), hall=H))  # Tue 08:50
    (a,) = hall.active()
    (up,) = [c for c in changes if c.what == "escalated to level 1"]
    assert up.note == "department: 不动产登记中心"  # in the audit trail
    assert (a.level, a.escalated_role, a.escalated_target) == (1, "department", "不动产登记中心")
    robot = webhook_body(Webhook(url="http://x", format="wecom"), up)["text"]["content"]
    assert robot.startswith("【督办·红牌】lz case C1")
    assert "第1级督办：承办部门 不动产登记中心" in robot
    generic = webhook_body(Webhook(url="http://x"), up)
    assert generic["escalation"] == {"level": 1, "role": "department", "target": "不动产登记中心"}
    assert alertmanager_alert(a)["annotations"]["escalated_to"] == "department: 不动产登记中心"


def test_duty_time_is_the_rosters_shifts_lunch_and_the_weekend_left_out() -> None:
    """Shifts 08:30-12:00 and 13:30-17:30 on weekdays. A red card at Fri 11:50 has 10
    minutes of the morning shift, then 5 of the afternoon's: level 1 at 13:35. One at Fri
    17:20 has 10 minutes on Friday, then the weekend is nobody's: Mon 08:35."""
    roster = msgspec.toml.decode(
        """
        [people.zhang]
        name = "张主任"
        [[shifts]]
        name = "上午"
        start = "08:30"
        end = "12:00"
        [[shifts]]
        name = "下午"
        start = "13:30"
        end = "17:30"
        [[rota]]
        person = "zhang"
        shift = "上午"
        weekdays = [1, 2, 3, 4, 5]
        [[rota]]
        person = "zhang"
        shift = "下午"
        weekdays = [1, 2, 3, 4, 5]
        """,
        type=Roster,
    )
    policy = Escalation(roster, WorkCalendar())
    friday = 4 * DAY + MIDNIGHT
    quarter = 15 * 60_000
    assert policy.due_ms(ms(friday + 11 * HOUR + 50), quarter) == ms(friday + 13 * HOUR + 35)
    monday = 7 * DAY + MIDNIGHT
    assert policy.due_ms(ms(friday + 17 * HOUR + 20), quarter) == ms(monday + 8 * HOUR + 35)


def test_no_rota_duty_hours_skip_holidays() -> None:
    """Without a rota: the duty hours on working days only. 国庆节 2026 (1-7 October off,
    Sat 10-10 a make-up working day): a red card at Wed 30 September 17:25 climbs at Thu
    8 October 08:40."""
    policy = Escalation(Roster(), WorkCalendar())
    from datetime import date

    from feeds.hallclock import day_start_ms

    start = day_start_ms(date(2026, 9, 30)) + (17 * 60 + 25) * 60_000
    due = day_start_ms(date(2026, 10, 8)) + (8 * 60 + 40) * 60_000
    assert policy.due_ms(start, 15 * 60_000) == due


def test_a_card_that_names_no_department_still_climbs_and_says_so() -> None:
    policy = Escalation(Roster(), WorkCalendar())
    hall = Hall()
    hall.book.escalation = policy
    card = hall.book.fire("added_materials", H, "K1", "red", ms(0), "complaint K1: 增加材料")
    assert card is not None
    assert policy.step(card, 1) == ("department", UNKNOWN_DEPARTMENT)
    assert policy.step(card, 2) == ("supervision", "效能监督")


def test_escalation_steps_come_from_the_config(tmp_path) -> None:
    path = tmp_path / "hallwatch.toml"
    path.write_text(
        """
[[duty.escalate_to]]
role = "department"
[[duty.escalate_to]]
role = "supervision"
target = "市政务服务办效能监督科"
[[duty.escalate_to]]
role = "director"
target = "中心主任 王主任"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    engine = config.alert_engine()
    assert [s.role for s in engine.escalation.steps] == ["department", "supervision", "director"]
    assert engine.escalation.max_level == 3
    path.write_text('[[duty.escalate_to]]\nrole = "supervision"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"duty.escalate_to.0.target.*needs a target"):
        load_config(path)
