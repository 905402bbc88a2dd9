"""The roster, the Markdown shift report, acceptance, and the unaccepted-handover alert."""

from __future__ import annotations

import io
import json
from pathlib import Path

import msgspec
import pytest

import run
from alerts.duty import HANDOVER_UNACCEPTED, Roster
from alerts.rules import COMPLAINT, AlertEngine
from alerts.store import AlertStore
from cli.handover import CommandError, accept_handover, write_handover
from feeds.protocol import Complaint, Heartbeat
from metrics.state import CityState
from runtime.operators import Operators
from tests.factories import H, ms, only

ROSTER = msgspec.toml.decode(
    """
[people.zhang]
name = "张主任"
[people.li]
name = "李主任"
[[shifts]]
name = "上午"
start = "08:30"
end = "12:30"
[[shifts]]
name = "下午"
start = "12:30"
end = "17:30"
[[rota]]
person = "zhang"
shift = "上午"
weekdays = [1, 2, 3, 4, 5]
[[rota]]
person = "li"
shift = "下午"
weekdays = [1, 2, 3, 4, 5]
[[rota]]
person = "li"
shift = "上午"
dates = [2025-11-24]
""".encode(),
    type=Roster,
)


def test_on_duty_by_weekday_date_and_shift() -> None:
    assert ROSTER.problems() == []
    monday_am = ROSTER.on_duty(ms(0))  # Monday 09:00: the date entry wins
    assert monday_am is not None and (monday_am.person, monday_am.shift) == ("li", "上午")
    tuesday_am = ROSTER.on_duty(ms(24 * 60))
    assert tuesday_am is not None and tuesday_am.person == "zhang"
    assert tuesday_am.start_ms == ms(24 * 60 - 30)
    assert ROSTER.on_duty(ms(9 * 60)) is None  # 18:00: nobody rostered
    assert ROSTER.on_duty(ms(5 * 24 * 60)) is None  # Saturday


def test_handover_report_acceptance_and_unaccepted_alert(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    engine = AlertEngine(rules=only(COMPLAINT, HANDOVER_UNACCEPTED), sink=store)
    city = CityState()
    tuesday = 24 * 60
    events = [Complaint(seq=1, ts=ms(tuesday + 10), hall=H, complaint="K1", channel="desk")]
    engine.on_batch(city.apply(events))
    (k1,) = engine.book.active()
    engine.book.acknowledge(k1.id, "zhang", "talking to the citizen")
    with pytest.raises(CommandError, match="halls seen: none yet"):
        write_handover(store, ROSTER, "zhang")
    store.set_clocks({H: ms(tuesday + 3 * 60 + 25)})  # 12:25, as a running serve leaves it
    hid, report = write_handover(store, ROSTER, "zhang", notes="printer at W4 jammed")
    assert report.startswith(f"# 交接班 shift report — {H}")
    # People by their roster names, never by a key or an account.
    assert "outgoing: **张主任** → incoming: **李主任**" in report
    assert "ack 张主任" in report and "printer at W4 jammed" in report
    assert "## Complaints: 1" in report and "talking to the citizen" in report
    assert "## Still open (未处置/已确认) — handed over: 1" in report
    # Rules and states in the hall's words (alerts.names), not their ids.
    assert "- 投诉 (complaint), 预警: 1" in report
    assert "[预警] 投诉 (complaint): complaint K1 via desk (已确认, ack 张主任" in report
    # 30 minutes later nobody accepted: an urgent warning. (The report was written by another
    # process: the rules see it once the pipeline syncs the store, about once a second.)
    assert engine.handovers is not None
    engine.handovers.refresh()
    city.apply([Heartbeat(ts=ms(tuesday + 3 * 60 + 56), hall=H)])
    engine.on_tick(city.snapshots())
    (late,) = [a for a in engine.book.active() if a.rule == HANDOVER_UNACCEPTED]
    assert (late.severity, late.fired_ms, late.scope) == (
        "urgent",
        ms(tuesday + 3 * 60 + 55),
        f"handover/{hid}",
    )
    with pytest.raises(CommandError, match="incoming director"):
        accept_handover(store, hid, "zhang", None)
    assert "accepted by li" in accept_handover(store, hid, "li", "ok")
    engine.handovers.refresh()
    engine.on_tick(city.snapshots())
    assert [a.rule for a in engine.book.active()] == [COMPLAINT]
    records = list(store.audit_records())
    trail = [(r["subject"], r["action"], r["actor"]) for r in records]
    assert [t for t in trail if t[0] in (f"handover {hid}", f"alert {late.id}")] == [
        (f"handover {hid}", "handover written", "zhang"),
        (f"alert {late.id}", "fired urgent", "system"),
        (f"handover {hid}", "handover accepted", "li"),
        (f"alert {late.id}", "resolved", "system"),
    ]
    store.close()


def test_handover_command_prints_markdown(tmp_path: Path, capsys, monkeypatch) -> None:
    """Each director is signed in (here by password, on stdin); the writer cannot accept;
    the stored records say who and how."""
    store = AlertStore(tmp_path / "alerts.db")
    store.set_clocks({H: ms(60)})
    store.close()
    operators = Operators.load(tmp_path / "operators")
    operators.set_password("zhang", "zhang-secret")
    operators.set_password("li", "li-secret-1")

    def handover(who: str, password: str, *more: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        args = ["handover", "--data-dir", str(tmp_path), "--operator", who, "--password-stdin"]
        return run.main([*args, *more])

    assert handover("zhang", "zhang-secret", "--notes", "quiet") == 0
    out = capsys.readouterr().out
    assert "# 交接班 shift report" in out and "quiet" in out and "handover #1" in out
    assert handover("zhang", "zhang-secret", "--accept", "1") == 2
    assert "not the one who wrote it" in capsys.readouterr().err
    assert handover("li", "not-li-password", "--accept", "1") == 2
    assert "wrong password" in capsys.readouterr().err
    assert handover("li", "li-secret-1", "--accept", "1") == 0
    assert handover("li", "li-secret-1", "--accept", "1") == 2
    assert "already accepted" in capsys.readouterr().err
    store = AlertStore(tmp_path / "alerts.db")
    records = [(r["actor"], r["action"], json.loads(r["detail"])) for r in store.audit_records()]
    assert [(a, w, d.get("signed_in_by")) for a, w, d in records] == [
        ("zhang", "handover written", "password"),
        ("-", "sign-in refused", None),
        ("li", "handover accepted", "password"),
    ]
    assert store.verify() == []
    store.close()
