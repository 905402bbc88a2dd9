"""A messy CSV ticket log becomes clean recordings; every bad row is counted, none stops it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from feeds.csv_import import CsvImportError, import_csv, parse_map
from feeds.protocol import Event, ServiceFinished, TicketAbandoned, TicketIssued
from feeds.replay import read_recording
from metrics.state import CityState

ROOT = Path(__file__).resolve().parents[2]
MAP = (
    "arrival=取号时间,call=叫号时间,start=开始办理,end=办结时间,window=窗口,item=业务类型,"
    "outcome=结果,ticket=票号,person=身份证"
)
RAW_ID = "370784199001011234"
D, E = "2025-11-24 ", "2025-11-25 "
ROWS = [
    "票号,取号时间,叫号时间,开始办理,办结时间,窗口,业务类型,结果,身份证",
    f"A001,{D}09:00:00,{D}09:05:00,{D}09:05:30,{D}09:15:30,W01,企业设立,办结,{RAW_ID}",
    f"A003,{D}09:10:00,{D}09:20:00,{D}09:19:59,{D}09:30:00,W02,个体登记,补正,",
    f"A002,{D}09:02:00,{D}09:16:00,{D}09:16:20,{D}09:26:00,W01,抵押登记,受理,",
    f"A004,{D}09:30:00,{D}09:40:00,{D}09:40:10,{D}09:35:00,NULL,社保,办结,",
    f"A005,{D}10:00:00,,,,W02,社保,过号,",
    f"A006,{D}23:50:00,{D}23:58:00,{D}23:59:00,{E}00:10:00,W01,社保,办结,",
    f"A007,yesterday,{D}10:00:00,,,W01,社保,办结,",
    f"A008,{D}10:10:00,{D}10:20:00,",
    f"A001,{D}10:30:00,{D}10:40:00,{D}10:41:00,{D}10:50:00,W01,社保,办结,",
    f"A009,{D}11:00:00,{D}11:05:00,{D}11:05:30,{D}11:09:00,W03,社保,已盖章,",
    f"A010,{D}11:10:00,{D}11:15:00,2025/11/24 11:15:20,{D}11:20:00,,社保,办结,",
    f"B001,{E}09:00:00,{E}09:01:00,{E}09:01:30,{E}09:06:00,W01,社保,done,",
]
LOG = "\n".join(ROWS) + "\n"


def run_import(tmp_path: Path) -> tuple[object, list[Path]]:
    log = tmp_path / "log.csv"
    log.write_text(LOG + "B002,2025-11-25 09:05:00,bad time,,,W02,社保,,\n")
    log.write_bytes(log.read_bytes() + b"B003,2025-11-25 09:06:00,\xff\xfe,,,W02,x,,\n")
    report = import_csv(
        log, parse_map(MAP), tmp_path / "out", hall="lz", pseudonymize=lambda p: "p-" + p[-4:]
    )
    return report, sorted((tmp_path / "out").iterdir())


def test_every_kind_of_bad_row_is_counted_and_the_rest_imported(tmp_path: Path) -> None:
    report, files = run_import(tmp_path)
    assert dict(report.problems) == {
        "out_of_order": 2,  # A002 after A003, the second A001 after A006
        "start_before_call": 1,  # A003 started a second before its call
        "end_before_start": 1,  # A004
        "blank_window": 2,  # A004 NULL, A010 blank
        "past_midnight": 1,  # A006 ends at 00:10 the next day
        "bad_time": 1,  # A007
        "malformed": 2,  # A008 short, B003 not UTF-8
        "duplicate_ticket": 1,  # the second A001
        "unknown_outcome": 1,  # A009 已盖章
        "bad_step_time": 1,  # B002's call
        "never_called": 2,  # A005 (过号, no times), B002 (its only time unreadable)
    }
    assert report.rows == 14 and report.tickets == 10
    assert [f.name for f in files] == ["2025-11-24.jsonl", "2025-11-25.jsonl"]
    assert "past_midnight: 1 (first at line 7)" in report.lines()


def test_the_recordings_apply_cleanly_with_the_right_figures(tmp_path: Path) -> None:
    _, files = run_import(tmp_path)
    text = "".join(f.read_text() for f in files)
    assert RAW_ID not in text and '"person":"p-1234"' in text
    events: list[Event] = read_recording(files[:1]).events
    state = CityState()
    result = state.apply(events)
    assert result.rejections == []
    hall = state.snapshot("lz")
    assert hall.issued_today == 8 and hall.waiting == 0
    waits = {"A001": 300, "A002": 840, "A003": 600, "A004": 600, "A005": None, "A006": 480,
             "A009": 300, "A010": 300}  # fmt: skip
    known = [w for w in waits.values() if w is not None]
    assert hall.mean_wait_s == pytest.approx(sum(known) / len(known))
    finished = {e.ticket: e for e in events if isinstance(e, ServiceFinished)}
    assert finished["A003"].outcome == "incomplete" and finished["A002"].outcome == "to_backend"
    assert finished["A004"].window == "unknown" and finished["A009"].outcome == "done"
    assert finished["A006"].ts == 1764000000000 - 1  # 23:59:59.999, the day's last ms
    gone = {e.ticket: e.reason for e in events if isinstance(e, TicketAbandoned)}
    assert gone == {"A005": "expired"}  # 过号 without a call time: never called
    issued = {e.ticket for e in events if isinstance(e, TicketIssued)}
    assert "A007" not in issued and "A008" not in issued


def test_mapping_errors_stop_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="arrival"):
        parse_map("call=叫号时间")
    with pytest.raises(CsvImportError, match="FIELD=COLUMN"):
        parse_map("arrival=a,colour=b")
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    with pytest.raises(CsvImportError, match="not in the header"):
        import_csv(log, parse_map("arrival=到达"), tmp_path / "out", hall="x", pseudonymize=str)
    assert not (tmp_path / "out").exists()


def test_the_command_reports_and_never_stops(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    out = subprocess.run(
        [sys.executable, "run.py", "import-csv", str(log), "--map", MAP, "--hall", "lz",
         "--data-dir", str(tmp_path / "data"), "--outcome", "已盖章=done"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "tickets written: 9" in out and "unknown_outcome" not in out
    recorded = tmp_path / "data" / "journal" / "import-lz" / "2025-11-24.jsonl"
    assert RAW_ID not in recorded.read_text()
    assert msgspec.json.decode(recorded.read_bytes().splitlines()[0])["seq"] == 1
