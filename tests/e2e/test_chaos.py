"""Chaos: `serve` killed with SIGKILL mid-stream, again and again, with a torn write left
in its journal, ends the day with exactly the figures of an uninterrupted run.

Real processes (`demo-feed --speed max`, `serve`), sockets, journal files and /metrics.
Every wait is on a condition (the journal's confirmed records, the /metrics figures).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.decode import FrameDecoder
from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.journal import Journal, check_file
from feeds.protocol import CaseAccepted, CaseSubmitted, Heartbeat, TicketIssued
from feeds.source import MemorySource
from runtime.pipeline import Pipeline
from runtime.recovery import recover
from tests.e2e.test_serve import ROOT, free_port, get, wait_until
from tests.factories import T0

DAY = dt.date(2025, 11, 24)
FEED = "hall-demo"
#: Lines of a feed's own bookkeeping (connects, received seqs): not day figures.
_PROCESS = re.compile(
    r"^hall_feed_(connected|connects_total|events_total|gaps_total|rejected|lag_seconds)"
)


def _expected(days: int = 1) -> tuple[int, dict[str, int]]:
    """The demo's last seq and each hall's final clock (s), from the same simulation."""
    events = demo_events(city(3), DAY, 1, days=days)
    clocks: dict[str, int] = {}
    for ev in events:
        clocks[ev.hall] = max(clocks.get(ev.hall, 0), ev.ts)
    return sum(not isinstance(ev, Heartbeat) for ev in events), clocks


@contextlib.contextmanager
def _demo_feed(folder: Path, days: int) -> Iterator[str]:
    log = (folder / "feed.log").open("wb")
    argv = ["demo-feed", "--port", "0", "--speed", "max", "--date", DAY.isoformat()]
    proc = subprocess.Popen(
        [sys.executable, "run.py", *argv, "--days", str(days)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def feed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _demo_feed(tmp_path_factory.mktemp("feed"), 1) as url:
        yield url


@pytest.fixture(scope="module")
def two_day_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _demo_feed(tmp_path_factory.mktemp("feed2"), 2) as url:
        yield url


class Serve:
    """One `serve` process on a data dir; restartable."""

    def __init__(self, url: str, data: Path) -> None:
        self.url, self.data, self.port = url, data, free_port()
        self.log = data.parent / f"{data.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *more: str) -> None:
        argv = ["serve", "--feed", f"{FEED}={self.url}", "--data-dir", str(self.data), *more]
        argv += ["--metrics-port", str(self.port), "--log-file", str(self.log)]
        self.proc = subprocess.Popen([sys.executable, "run.py", *argv], cwd=ROOT)

    def metrics(self) -> str | None:
        return get(f"http://127.0.0.1:{self.port}/metrics")

    def records(self) -> int:
        index = self.data / "journal" / FEED / f"{DAY.isoformat()}.crc"
        return index.stat().st_size // 20 if index.exists() else 0

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def final_figures(self, last_seq: int, clocks: dict[str, int]) -> list[str]:
        """The day figures once the whole day is applied (waits for it)."""
        want = {f'hall_clock_seconds{{hall="{h}"}}': ts / 1000 for h, ts in clocks.items()}
        want[f'hall_feed_last_seq{{feed="{FEED}"}}'] = last_seq

        def done() -> str | None:
            text = self.metrics()
            if not text:
                return None
            seen = dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln and ln[0] != "#")
            ok = all(abs(float(seen.get(k, "nan")) - v) < 0.01 for k, v in want.items())
            return text if ok else None

        text = wait_until(done, 30, "the whole day applied")
        return [ln for ln in text.splitlines() if ln and ln[0] != "#" and not _PROCESS.match(ln)]


def _alerts(data: Path) -> list[tuple[object, ...]]:
    """Every alert in the store, by what it is and when it fired and ended (hall time)."""
    with contextlib.closing(sqlite3.connect(data / "alerts.db")) as db:
        rows = db.execute(
            "SELECT rule, hall, scope, severity, state, fired_ms, resolved_ms FROM alerts"
        ).fetchall()
    return sorted(rows, key=repr)


def _wait_records(serve: Serve, n: int) -> None:
    """Wait until ``n`` records are confirmed; polls tightly (a backlog takes ~0.5 s)."""
    deadline = time.monotonic() + 30
    while serve.records() < n:
        assert time.monotonic() < deadline, f"{n} records not confirmed within 30 s"
        time.sleep(0.002)


def test_kill_9_repeatedly_and_a_torn_write_end_with_the_clean_runs_figures(
    feed_url: str, tmp_path: Path
) -> None:
    last_seq, clocks = _expected()
    clean = Serve(feed_url, tmp_path / "clean")
    chaos = Serve(feed_url, tmp_path / "chaos")
    try:
        clean.start()
        expected = clean.final_figures(last_seq, clocks)
        clean.stop()
        chaos.start()
        at_kill = []
        data = chaos.data / "journal" / FEED / f"{DAY.isoformat()}.jsonl"
        for target in (3, 7, 11):  # confirmed records (1000 events each) before the kill
            _wait_records(chaos, target)
            chaos.kill()
            at_kill.append(chaos.records())
            if target == 11:  # a write torn in the middle of a line, as a power cut leaves
                torn_at = data.stat().st_size
                with data.open("ab") as f:
                    f.write(b'{"kind":"ticket_issued","seq":999999,"ts":17639')
            chaos.start()
        got = chaos.final_figures(last_seq, clocks)
        assert 'hall_feed_rejected_total{feed="hall-demo",reason="journal_torn_tail"} 1.0' in (
            chaos.metrics() or ""
        )
        total = chaos.records()
        assert sum(n < total for n in at_kill) >= 2, (at_kill, total)  # killed mid-stream
        assert check_file(data).cut_bytes == 0 and data.stat().st_size > torn_at
        # Restarted once caught up, the first thing heard is a heartbeat (journaled: a new
        # process has no hall clock yet). Killed again, the next start must still resume
        # at the end, not apply the day twice.
        chaos.kill()
        chaos.start()
        _wait_records(chaos, total + 1)
        chaos.kill()
        chaos.start()
        assert chaos.final_figures(last_seq, clocks) == got
        assert sorted(p.name for p in data.parent.glob("*.jsonl")) == [data.name]
        log = chaos.log.read_text()
        assert log.count('"journal_recovered"') == len(at_kill) + 3
        assert '"journal_tail_cut"' in log
    finally:
        clean.stop()
        chaos.stop()
    assert len(expected) > 1000
    assert got == expected
    alerts = _alerts(clean.data)
    assert len(alerts) > 10 and _alerts(chaos.data) == alerts  # none lost, none twice
    assert os.stat(chaos.data).st_mode & 0o777 == 0o700


def test_recover_days_rebuilds_cases_opened_on_earlier_days(tmp_path: Path) -> None:
    """A case submitted yesterday and accepted today: replaying only today loses it (the
    acceptance is an unknown case); ``--recover-days 2`` replays yesterday's archive too."""
    day2 = T0 + 86_400_000
    journal = Journal(tmp_path)
    journal.append("f", [
        TicketIssued(seq=1, ts=T0, hall="lz", ticket="A001", zone="z"),
        CaseSubmitted(seq=2, ts=T0 + 1000, hall="lz", case="k-1", item="i", dept="d",
                      promised_days=3),
    ])  # fmt: skip
    journal.append("f", [CaseAccepted(seq=3, ts=day2, hall="lz", case="k-1")])
    journal.close()  # yesterday was compressed when today began
    assert (tmp_path / "f" / "2025-11-24.jsonl.gz").exists()
    for days, unknown in ((1, 1), (2, 0)):
        source = MemorySource("f", [], FrameDecoder(lambda p: p))
        sup = Pipeline([source], journal=Journal(tmp_path))
        (done,) = recover(sup, days)
        assert (done.events, done.resume_since) == (1 + 2 * (days == 2), 3)
        assert source.status.rejected.get("unknown_case", 0) == unknown
        assert source.status.last_seq == 0  # a memory source does not resume; a feed does


def test_kill_9_at_the_day_change_and_in_day_two_ends_with_the_clean_figures(
    two_day_url: str, tmp_path: Path
) -> None:
    """Killed as the second day begins (the first day's archive maybe half written), then
    again in the middle of day two: with no option, the state snapshot saved as day one
    ended plus the journal's tail rebuild both days, day one's open cases included."""
    last_seq, clocks = _expected(days=2)
    clean = Serve(two_day_url, tmp_path / "clean")
    chaos = Serve(two_day_url, tmp_path / "chaos")
    second = chaos.data / "journal" / FEED / f"{(DAY + dt.timedelta(days=1)).isoformat()}.crc"
    try:
        clean.start()
        expected = clean.final_figures(last_seq, clocks)
        clean.stop()
        chaos.start()
        deadline = time.monotonic() + 30
        while not second.exists():
            assert time.monotonic() < deadline, "the second day never began"
            time.sleep(0.002)
        chaos.kill()
        chaos.start()
        deadline = time.monotonic() + 30
        while second.stat().st_size < 20 * 5:  # five records into day two
            assert time.monotonic() < deadline, "day two never went on"
            time.sleep(0.002)
        chaos.kill()
        chaos.start()
        got = chaos.final_figures(last_seq, clocks)
    finally:
        clean.stop()
        chaos.stop()
    log = chaos.log.read_text()
    assert "unknown_case" not in log
    assert log.count('"snapshot_loaded"') == 2 and '"from_snapshot": true' in log
    assert any(ln.startswith("hall_cases_open") for ln in expected)
    assert got == expected
    assert _alerts(chaos.data) == _alerts(clean.data)
