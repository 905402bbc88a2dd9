"""``run.py report``: the daily and monthly reports from recordings and the alert store.

A generated demo city (3 days, written through the journal) gives the report's figures,
which must be the state engine's own end-of-day figures; a small scripted day is checked
by hand; CSV parses back, the SVG is XML with one curve per zone, no ``person`` leaks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest

import run
from alerts.duty import Person, Roster
from alerts.model import Alert, Change
from alerts.store import AlertStore
from feeds.demo.city import default_city
from feeds.demo.hall import simulate_days
from feeds.hallclock import day_start_ms, service_day
from feeds.journal import Journal
from feeds.protocol import (
    Complaint,
    ComplaintClosed,
    Event,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.replay import renumber
from metrics.state import CityState
from reports.gather import (
    SOURCE_REPLAY,
    SOURCE_STORE,
    ReportError,
    day_files,
    gather,
    month_days,
    quarter_days,
    tty_progress,
)
from reports.render import markdown, write
from reports.tables import Table, build

FIRST = dt.date(2025, 11, 24)
SVG = "{http://www.w3.org/2000/svg}"


def record(data_dir: Path, events: Sequence[Event], feed: str = "demo") -> None:
    journal = Journal(data_dir / "journal")
    for i in range(0, len(events), 500):
        journal.append(feed, list(events[i : i + 500]))
    journal.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    """Three demo days of the default city, recorded in a fresh data dir."""
    events = renumber(simulate_days(default_city(), FIRST, 3, 7))
    data_dir = tmp_path_factory.mktemp("report")
    record(data_dir, events)
    return data_dir, events


def table(tables: list, name: str) -> tuple[tuple[str, ...], list[list]]:
    t = next(t for t in tables if t.name == name)
    return t.columns, t.rows


def test_day_figures_are_the_state_engines_end_of_day_snapshot(demo) -> None:
    data_dir, events = demo
    days = gather([FIRST], data_dir)
    assert [d.day for d in days] == [FIRST] and set(days[0].alert_sources.values()) == {
        SOURCE_REPLAY
    }
    direct = CityState()  # the whole day in one batch, straight from the simulator
    direct.apply([e for e in events if service_day(e.ts) == FIRST])
    for name, got in days[0].snapshots.items():
        want = direct.snapshot(name)
        assert (got.now_ms, got.day) == (want.now_ms, want.day)
        assert got.zones == want.zones and got.windows == want.windows
        assert got.staff == want.staff and got.day_waits == want.day_waits
    cols, rows = table(build(days), "halls")
    for row in rows:
        r, snap = dict(zip(cols, row, strict=True)), direct.snapshot(str(row[0]))
        assert (r["issued"], r["served"]) == (snap.issued_today, snap.served_today)
        assert r["waits"] == snap.day_waits.count
        assert r["mean wait min"] == pytest.approx(snap.day_waits.mean_s / 60)
        assert r["p90 wait min"] == pytest.approx(snap.day_waits.p90_s / 60)
        assert r["service level"] == pytest.approx(snap.day_waits.service_level)
        ratings = sum(w.ratings_today for w in snap.windows)
        bad = sum(w.bad_ratings_today for w in snap.windows)
        assert r["good rate"] == pytest.approx((ratings - bad) / ratings)
    assert len(days[0].samples["city"]) > 30  # the chart's samples through the day


def test_month_adds_the_days_up(demo, tmp_path) -> None:
    data_dir, _ = demo
    days = gather(month_days("2025-11"), data_dir)
    assert [d.day for d in days] == [FIRST + dt.timedelta(k) for k in range(3)]
    tables = build(days)
    cols, rows = table(tables, "days")
    assert len(rows) == 9  # 3 days x 3 halls
    cols, rows = table(tables, "halls")
    city = dict(zip(cols, next(r for r in rows if r[0] == "city"), strict=True))
    snaps = [d.snapshots["city"] for d in days]
    assert city["days"] == 3
    assert city["issued"] == sum(s.issued_today for s in snaps)
    waits = sum(s.day_waits.count for s in snaps)
    mean = sum((s.day_waits.mean_s or 0) * s.day_waits.count for s in snaps) / waits
    assert city["mean wait min"] == pytest.approx(mean / 60)
    assert city["worst day p90 wait min"] == pytest.approx(
        max(s.day_waits.p90_s or 0 for s in snaps) / 60
    )
    cols, rows = table(tables, "ranking")
    ranked = [dict(zip(cols, r, strict=True)) for r in rows if r[0] is not None]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r["ratings"] >= 30 and r["not ranked because"] is None for r in ranked)
    lows = [r["good rate low 95 %"] for r in ranked]
    assert lows == sorted(lows, reverse=True)
    rest = [dict(zip(cols, r, strict=True)) for r in rows[len(ranked) :]]
    assert all(r["rank"] is None and r["ratings"] < 30 for r in rest)
    _, files = write(days, tmp_path, "md", "2025-11")
    assert [p.name for p in files] == ["report-2025-11.md", "2025-11.svg"]
    svg = ET.parse(tmp_path / "2025-11.svg").getroot()
    served = [e for e in svg.iter(f"{SVG}polyline") if e.get("class") == "served"]
    assert [e.get("data-hall") for e in served] == ["city", "county-a", "county-b"]
    assert all(len(e.get("points", "").split()) == 3 for e in served)  # one point a day


def test_files_csv_parses_back_svg_has_a_curve_per_zone_and_no_person(demo, tmp_path) -> None:
    data_dir, events = demo
    days = gather([FIRST], data_dir)
    _, files = write(days, tmp_path, "all")
    names = {p.name for p in files}
    assert {"report-2025-11-24.md", "2025-11-24-windows.csv", "2025-11-24-city.svg"} <= names
    md = (tmp_path / "report-2025-11-24.md").read_text(encoding="utf-8")
    assert "![2025-11-24-city](2025-11-24-city.svg)" in md
    cols, rows = table(build(days), "windows")
    with (tmp_path / "2025-11-24-windows.csv").open(encoding="utf-8") as f:
        back = list(csv.reader(f))
    assert tuple(back[0]) == cols and len(back) == len(rows) + 1
    for got, want in zip(back[1:], rows, strict=True):
        for g, w in zip(got, want, strict=True):
            assert (
                (float(g) == pytest.approx(w, rel=1e-5))
                if isinstance(w, float)
                else g == ("" if w is None else str(w))
            )
    snap = days[0].snapshots["city"]
    svg = ET.parse(tmp_path / "2025-11-24-city.svg").getroot()
    queue = [
        e for e in svg.iter("{http://www.w3.org/2000/svg}polyline") if e.get("class") == "queue"
    ]
    assert sorted(e.get("data-zone") for e in queue) == sorted(z.name for z in snap.zones)
    persons = {p for e in events if (p := getattr(e, "person", None))}
    assert persons  # the simulator does give people
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    assert not [p for p in persons if p in text]


def test_day_files_every_run_once_and_nothing_else(tmp_path) -> None:
    folder = tmp_path / "journal" / "f"
    folder.mkdir(parents=True)
    names = ("2025-11-24.jsonl", "2025-11-24.jsonl.gz", "2025-11-24.2.jsonl",
             "2025-11-24.2.crc", "2025-11-24.jsonl.gz.partial", "2025-11-25.jsonl")  # fmt: skip
    for name in names:
        (folder / name).write_bytes(b"")
    got = [p.name for p in day_files(tmp_path / "journal", FIRST)]
    assert got == ["2025-11-24.2.jsonl", "2025-11-24.jsonl.gz"]  # .jsonl: archived meanwhile


def _ms(day: dt.date, hh: int, mm: int, ss: int = 0) -> int:
    return day_start_ms(day) + ((hh * 60 + mm) * 60 + ss) * 1000


def scripted(day: dt.date) -> list[Event]:
    """One hall, one zone, one window: two tickets, two ratings, one complaint."""
    t = lambda hh, mm, ss=0: _ms(day, hh, mm, ss)  # noqa: E731
    h = {"hall": "h", "seq": 1}
    return renumber([
        WindowState(ts=t(9, 0), window="W1", state="open", staff="s1", **h),
        TicketIssued(ts=t(9, 0), ticket="A1", zone="z", person="P-SECRET-1", **h),
        TicketIssued(ts=t(9, 2), ticket="A2", zone="z", person="P-SECRET-2", **h),
        TicketCalled(ts=t(9, 5), ticket="A1", window="W1", **h),
        ServiceStarted(ts=t(9, 5, 30), ticket="A1", window="W1", **h),
        ServiceFinished(ts=t(9, 15, 30), ticket="A1", window="W1", outcome="done", **h),
        TicketCalled(ts=t(9, 16), ticket="A2", window="W1", **h),
        ServiceStarted(ts=t(9, 16), ticket="A2", window="W1", **h),
        ServiceFinished(ts=t(9, 21), ticket="A2", window="W1", outcome="incomplete", **h),
        Rating(ts=t(9, 22), window="W1", score=5, channel="device", **h),
        Rating(ts=t(9, 23), window="W1", score=1, channel="qr", **h),
        Complaint(ts=t(9, 30), complaint="C1", channel="desk", window="W1", **h),
        ComplaintClosed(ts=t(10, 0), complaint="C1", **h),
        Heartbeat(ts=t(10, 5), hall="h"),
    ])  # fmt: skip


def test_scripted_day_by_hand_alerts_replayed_then_from_the_store(tmp_path) -> None:
    day = dt.date(2025, 11, 25)
    record(tmp_path, scripted(day))
    other = [  # a second feed, another hall, which the live console did not watch
        TicketIssued(ts=_ms(day, 9, 1), hall="g", seq=1, ticket="G1", zone="z"),
        TicketCalled(ts=_ms(day, 9, 3), hall="g", seq=2, ticket="G1", window="W9"),
    ]
    record(tmp_path, other, feed="other")
    days = gather([day], tmp_path)
    assert days[0].alert_sources == {"h": SOURCE_REPLAY, "g": SOURCE_REPLAY}
    tables = build(days)
    cols, rows = table(tables, "halls")
    assert [r[0] for r in rows] == ["g", "h"]
    hall = dict(zip(cols, rows[1], strict=True))
    assert (hall["issued"], hall["served"], hall["waits"]) == (2, 2, 2)
    assert hall["mean wait min"] == pytest.approx(9.5)  # waits of 5 and 14 min
    assert hall["p90 wait min"] == pytest.approx(13.1)  # 5 + 0.9 x (14 - 5)
    assert hall["service level"] == 1.0
    assert (hall["ratings"], hall["good rate"], hall["bad ratings"]) == (2, 0.5, 1)
    assert (hall["complaints"], hall["bad rectified"]) == (1, 0)
    cols, rows = table(tables, "windows")
    w = dict(zip(cols, rows[1], strict=True))
    assert (w["services"], w["done"], w["incomplete"], w["complaints"]) == (2, 1, 1, 1)
    assert w["mean service min"] == pytest.approx(7.5)  # 10 and 5 min
    _, rows = table(tables, "complaints")
    # No complaint_answered: the settlement is the first answer; due at closing, 17:30.
    assert rows == [["h", "C1", "W1", "11-25 09:30", "11-25 10:00", "settlement", 30.0,
                     "11-25 17:30", "11-25 10:00", "yes", "no"]]  # fmt: skip

    # The live console's store has the day's alerts, one bad rating rectified by hand.
    store = AlertStore(tmp_path / "alerts.db")
    rated = _ms(day, 9, 23)
    fixed = Alert(1, "bad_rating", "h", "W1/11", "notice", rated, "bad rating 1 at window W1",
                  state="resolved", resolved_ms=_ms(day, 16, 0), resolved_by="zhang",
                  resolve_note="apologised; retrained",
                  due_ms=_ms(day, 9, 23) + 7 * 86_400_000)  # fmt: skip
    store.alert_changed(Change(fixed, "resolved", fixed.resolved_ms or 0, "zhang", "apologised"))
    store.close()
    days = gather([day], tmp_path)
    assert days[0].alert_sources == {"h": SOURCE_STORE, "g": SOURCE_REPLAY}
    tables = build(days)
    cols, rows = table(tables, "halls")
    hall = dict(zip(cols, rows[1], strict=True))
    assert (hall["bad rectified"], hall["complaints"], hall["warnings"]) == (1, 0, 1)
    assert (hall["yellow cards"], hall["red cards"]) == (0, 0)  # a bad rating is no card
    _, rows = table(tables, "bad_ratings")
    assert rows[0][1:] == ["W1", "11-25 09:23", "notice", "2025-12-02", "rectified", "zhang",
                           "11-25 16:00", "yes", "apologised; retrained"]  # fmt: skip
    roster = Roster(people={"zhang": Person(name="张主任")})  # with --config: roster names
    _, rows = table(build(days, roster.name_of), "bad_ratings")
    assert rows[0][6] == "张主任"
    text, _ = write(days, None, "md")
    assert "- Alerts from the alert store (alerts.db): h\n" in text
    assert "so none is acknowledged or rectified): g\n" in text
    assert "P-SECRET" not in text
    many = [["h", "", f"trip {i}"] for i in range(105)]
    text = markdown(days, [Table("second_trips", "Second trips", ("hall", "at", "what"), many)])
    assert "| trip 99 |" in text and "trip 100" not in text
    assert "… and 5 more: every one is in the CSV (second_trips)." in text

    terminal, pipe = _Terminal(), io.StringIO()
    assert tty_progress(pipe) is None
    gather([day], tmp_path, progress=tty_progress(terminal))
    assert terminal.getvalue().endswith("\rreport: 2025-11-25 (1/1 days replayed)\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_prints_markdown_quietly_and_fails_clearly(demo, tmp_path, capsys) -> None:
    data_dir, _ = demo
    assert run.main(["report", "--month", "2025-11", "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Monthly report 2025-11") and "星級窗口測評" in out
    assert err == ""  # not a terminal: no progress line
    assert run.main(["report", "--day", "2025-11-24", "--data-dir", str(data_dir),
                     "--format", "csv"]) == 0  # fmt: skip
    out, _ = capsys.readouterr()
    assert out.startswith("# halls\nhall,days,issued")
    broken = tmp_path / "journal" / "cut" / "2025-11-24.jsonl.gz"  # an archive cut short
    broken.parent.mkdir(parents=True)
    broken.write_bytes((data_dir / "journal" / "demo" / "2025-11-24.jsonl.gz").read_bytes()[:999])
    (tmp_path / "journal" / "demo").symlink_to(data_dir / "journal" / "demo")
    assert run.main(["report", "--day", "2025-11-24", "--data-dir", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    left = [x for x in lines if x.startswith("- Left out")]
    assert len(left) == 1 and left[0].startswith(f"- Left out, cannot be read: {broken}: ")
    intact, _ = write(gather([FIRST], data_dir), None, "md")  # the rest of the day: all there
    assert [x for x in lines if not x.startswith("- Left out")] == intact.splitlines()
    assert run.main(["report", "--day", "2025-12-01", "--data-dir", str(tmp_path)]) == 2
    assert "no recording for 2025-12-01" in capsys.readouterr().err
    with pytest.raises(ReportError):
        month_days("2025-13")


def test_a_demo_day_asked_of_the_main_data_dir_says_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo keeps its recordings apart (<data dir>/demo): a report of a demo day on
    the main data dir says so instead of only 'no recording'."""
    day = tmp_path / "demo" / "journal" / "demo" / "2025-11-24.jsonl"
    day.parent.mkdir(parents=True)
    day.write_text('{"kind":"heartbeat","ts":1763946000000,"hall":"lz"}\n')
    assert run.main(["report", "--day", "2025-11-24", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no recording for 2025-11-24" in err
    assert f"add --data-dir {tmp_path / 'demo'}" in err


def test_a_quarter_is_its_recorded_days_added_up(demo, tmp_path, capsys) -> None:
    """Seed 002 (Anqiu) evaluates windows every quarter: “政務辦每季度組織人員對窗口進行
    星級窗口測評”. ``--quarter 2025-Q4`` holds October to December; only three November
    days are recorded, so every table is the month's."""
    data_dir, _ = demo
    days = quarter_days("2025-Q4")
    assert (days[0], days[-1], len(days)) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31), 92)
    assert len(quarter_days("2024-Q1")) == 31 + 29 + 31  # a leap February
    for bad in ("2025-Q5", "2025-4", "2025Q4"):
        with pytest.raises(ReportError, match="expected YYYY-Qn"):
            quarter_days(bad)
    out = tmp_path / "out"
    argv = ["report", "--quarter", "2025-Q4", "--data-dir", str(data_dir), "--out", str(out)]
    assert run.main([*argv, "--format", "all"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"report-2025-Q4.md", "2025-Q4-ranking.csv", "2025-Q4-halls.csv", "2025-Q4.svg"} <= names
    md = (out / "report-2025-Q4.md").read_text(encoding="utf-8")
    assert md.startswith("# Quarterly report 2025-Q4\n") and "## The quarter: served" in md
    month = tmp_path / "month"
    assert run.main(["report", "--month", "2025-11", "--data-dir", str(data_dir), "--out",
                     str(month), "--format", "csv"]) == 0  # fmt: skip
    for csv_file in month.glob("*.csv"):
        twin = out / csv_file.name.replace("2025-11", "2025-Q4")
        assert twin.read_text(encoding="utf-8") == csv_file.read_text(encoding="utf-8")
    svg = ET.parse(out / "2025-Q4.svg").getroot()
    ticks = [e.text for e in svg.iter(f"{SVG}text") if re.fullmatch(r"\d\d-\d\d", e.text or "")]
    assert ticks == ["10-01", "10-15", "11-01", "11-15", "12-01", "12-15"] * 2  # two panels
    served = [e for e in svg.iter(f"{SVG}polyline") if e.get("class") == "served"]
    assert all(len(e.get("points", "").split()) == 3 for e in served)  # the 3 recorded days
    capsys.readouterr()
    assert run.main(["report", "--quarter", "2025-Q5", "--data-dir", str(data_dir)]) == 2
    assert "expected YYYY-Qn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.main(["report", "--quarter", "2025-Q4", "--min-ratings", "0"])
