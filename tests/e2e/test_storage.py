"""Storage as an operator meets it, with real processes and real filesystems.

A full disk: ``serve`` (data dir on a tmpfs of 400 kB) takes the golden demo day
(``demo-feed --speed max --date 2025-11-24 --seed 3 --history 2``), the tmpfs fills on
the first batches; ``serve`` stays up, /metrics has the day's golden figures, says which
stores fail and why, and ``storage_failed`` is up on every hall. The tmpfs is enlarged
(remount): within seconds every store is written again — the journal's gap fetched
again from the feed, the held alert changes, the snapshot — and the journal holds every
seq once, in order. Killed with SIGKILL and restarted, ``serve`` ends with exactly the
golden figures and alert trail (tests/golden).

At start: an alert store replaced by garbage or cut to half, a read-only alert store or
data dir each stop ``serve`` with exit 2 and a message naming the file and what to do,
never a traceback; ``audit verify`` reports a damaged store (exit 1).

Mounting needs root (or CAP_SYS_ADMIN); without it those tests are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.book import AlertBook
from alerts.store import AlertStore
from tests.golden.test_golden import (
    CITY,
    E2E,
    FEED,
    ROOT,
    Output,
    Serve,
    alert_lines,
    assert_same,
    events_of,
    feed_url,  # noqa: F401 (the module's seeded demo feed, a fixture)
    masked,
    scrape,
    wait_until,
)
from tests.runtime.test_storage import figures, resize, tmpfs

_OK = re.compile(r'^hall_storage_ok\{store="(\w+)"\} (\S+)$', re.M)
_SEQ = re.compile(rb'"seq":(\d+)')


class TinyServe(Serve):
    """``Serve`` with its log off the tmpfs (the log is read; the tmpfs is full)."""

    def __init__(self, url: str, data: Path, log: Path) -> None:
        super().__init__(url, data)
        self.log = log


def stores_ok(text: str) -> dict[str, bool]:
    return {store: value == "1.0" for store, value in _OK.findall(text)}


def journaled_seqs(folder: Path) -> list[int]:
    """Every seq in a feed's journal files, in file order (days, then parts)."""

    def order(path: Path) -> tuple[str, int]:
        day, _, rest = path.name.partition(".")
        part = rest.split(".")[0]
        return day, int(part) if part.isdigit() else 1

    seqs: list[int] = []
    for path in sorted(folder.glob("*.jsonl*"), key=order):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        seqs += [int(s) for s in _SEQ.findall(data)]
    return seqs


def test_serve_survives_a_full_disk_and_ends_the_day_as_a_clean_run(
    feed_url: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    golden_prom = (ROOT / "tests/golden/fixtures" / f"{E2E}.prom").read_text()
    with tmpfs(tmp_path / "mnt", "400k") as mnt:
        serve = TinyServe(feed_url, mnt / "data", tmp_path / "serve.log")
        try:
            serve.start()
            full = masked(serve.day_applied())
            assert serve.proc is not None and serve.proc.poll() is None  # still up
            ok = stores_ok(full)
            assert ok["journal"] is False, ok
            assert re.search(
                r'hall_storage_errors_total\{store="journal",reason="no_space"\}', full
            )
            firing = re.findall(r'hall_alerts_active\{hall="([^"]+)",rule="storage_failed"', full)
            halls = {h for h in re.findall(r'^hall_clock_seconds\{hall="([^"]+)"\}', full, re.M)}
            assert set(firing) == halls and halls
            assert figures(full) == figures(golden_prom)  # every figure exact, in memory

            resize(mnt, "64m")  # space again: every store written within seconds
            back = wait_until(
                lambda: ((t := scrape(serve.port)) and all(stores_ok(t).values()) and t) or None,
                30,
                "every store written again",
                every=0.2,
            )
            assert 'rule="storage_failed"' not in back  # resolved on every hall
            seqs = journaled_seqs(serve.data / "journal" / FEED)
            assert seqs == sorted(set(seqs)) and len(seqs) == max(seqs)  # each once, in order

            serve.kill()
            serve.start()
            serve.day_applied()  # (at once: the whole day is in the snapshot and journal)
            resumed = (f'hall_feed_connected{{feed="{FEED}"}} 1.0', "hall_feed_lag_seconds{")
            metrics = masked(
                wait_until(
                    lambda: (
                        ((t := scrape(serve.port)) and all(r in t for r in resumed) and t) or None
                    ),
                    30,
                    "the feed resumed (a heartbeat heard)",
                )
            )
            serve.stop()
            assert serve.proc.returncode == 0
        finally:
            serve.stop()
        got = Output(metrics, alert_lines(serve.data / "alerts.db"))
        assert_same(E2E, got, "serve after a full disk, killed and restarted")
        log = serve.log.read_text()
        for line in ("storage_failed", "storage_recovered", "journal_gap_filled"):
            assert f'"event": "{line}"' in log, line
        assert log.count('"event": "storage_failed"') == 3  # one per store, not per write
    assert events_of(CITY)  # (the day compared is the golden one)


# --- at start: a store that cannot be used ------------------------------------------------


def _data_dir(path: Path) -> Path:
    """A data dir with an alert store that holds a few hundred alerts (a few pages)."""
    path.mkdir(mode=0o700, parents=True)
    store = AlertStore(path / "alerts.db")
    book = AlertBook(sink=store)
    for i in range(300):
        book.fire("complaint", "h", f"k{i}", "red", 1_000 + i, f"complaint {i} " * 5)
    store.close()
    (path / "pseudonym.key").write_bytes(os.urandom(32))
    return path


def _serve(data: Path, log: Path) -> subprocess.CompletedProcess[str]:
    argv = ["serve", "--feed", "ws://127.0.0.1:9", "--data-dir", str(data), "--log-file", str(log)]
    return subprocess.run(
        [sys.executable, "run.py", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def _verify(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", "audit", "verify", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("damage", ["garbage", "half"])
def test_a_damaged_alert_store_is_refused_at_start_with_what_to_do(
    damage: str, tmp_path: Path
) -> None:
    data = _data_dir(tmp_path / "data")
    db = data / "alerts.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(db.stat().st_size))
    else:
        os.truncate(db, db.stat().st_size // 2)
    done = _serve(data, tmp_path / "serve.log")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(db) in done.stderr and "is damaged" in done.stderr
    assert f"mv {db} {db}.damaged" in done.stderr  # what to do
    checked = _verify(data)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "audit trail UNREADABLE" in checked.stderr and "is damaged" in checked.stderr


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a file or a folder) read-only even for root: a read-only bind mount."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("what", ["alert store", "data dir"])
def test_a_read_only_data_dir_is_refused_at_start_with_what_to_do(
    what: str, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        data = _data_dir(mnt / "data")
        target = data / "alerts.db" if what == "alert store" else data
        with read_only(target):
            done = _serve(data, tmp_path / "serve.log")
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert str(target) in done.stderr and "Read-only file system" in done.stderr
        assert "mount it read-write" in done.stderr  # what to do


@pytest.mark.parametrize("store_left", ["by a crash", "cleanly"])
def test_serve_started_on_a_full_disk(store_left: str, tmp_path: Path) -> None:
    """A restart while the disk is still full (a service manager's): after a crash the
    alert store's files are all there and ``serve`` runs, in memory; a store closed
    cleanly needs a few kB to open (SQLite's shared-memory file): exit 2, saying the
    disk is full and to free space."""
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        data = _data_dir(mnt / "data")
        if store_left == "by a crash":  # a process killed with its store open
            kill = "import os, sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            kill += "db.execute('SELECT count(*) FROM alerts').fetchone(); os.kill(os.getpid(), 9)"
            subprocess.run([sys.executable, "-c", kill, str(data / "alerts.db")], check=False)
            assert (data / "alerts.db-shm").exists()
        with (mnt / "filler").open("wb", buffering=0) as f, contextlib.suppress(OSError):
            while f.write(bytes(4096)):
                pass
        log = tmp_path / "serve.log"
        proc = subprocess.Popen(
            [sys.executable, "run.py", "serve", "--feed", "ws://127.0.0.1:9", "--data-dir",
             str(data), "--log-file", str(log)],
            cwd=ROOT, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            if store_left == "cleanly":
                _, err = proc.communicate(timeout=60)
                assert proc.returncode == 2 and "Traceback" not in err, err
                assert "The filesystem is full: free space on it" in err
                return
            wait_until(
                lambda: (log.exists() and "serve_started" in log.read_text()) or None,
                30,
                "serve started",
            )
            assert proc.poll() is None
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
