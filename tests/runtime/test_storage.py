"""A full disk survived in process: the journal, the alert store and the checkpoint on a
real tmpfs of a few hundred kB that fills during the golden city day; ingest goes on,
the figures are the golden ones, ``storage_failed`` is up on every hall; the tmpfs is
enlarged and one round of retries writes it all: the journal, the alert trail in its
order (hash chain intact), the snapshot. A restart from that data dir rebuilds the
same figures. Plus the pieces: a failed journal write leaves no torn bytes; held alert
changes keep their wall time and the operator's sign-in.

Mounting needs root (or CAP_SYS_ADMIN): without it these tests are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.book import AlertBook
from alerts.store import AlertStore, signed_in
from cli import wiring
from feeds.decode import FrameDecoder
from feeds.journal import Journal, check_file
from feeds.privacy import Pseudonymizer
from feeds.protocol import TicketIssued
from feeds.source import MemorySource
from metrics.exposition import render
from runtime.held_alerts import HeldChanges
from runtime.recovery import recover
from runtime.storage import Storage, reason_of
from tests.golden.test_golden import (
    CITY,
    FEED,
    KEY,
    Paced,
    alert_lines,
    events_of,
    fixture_paths,
    frames,
    masked,
)

#: /metrics lines about storage itself: not figures of the day.
_STORAGE = re.compile(
    r'^(# (HELP|TYPE) )?hall_storage_|^hall_alerts_active\{.*rule="storage_failed"'
)
#: A feed's own session bookkeeping: a restart from the journal has no live session.
_SESSION = re.compile(r"^hall_feed_(connected|connects_total|lag_seconds|last_seq)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (skip the test where that is not allowed);
    unmounted at the end whatever happens."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command here: these tests need a tmpfs of their own")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def resize(path: Path, size: str) -> None:
    """Enlarge (or shrink) the tmpfs at ``path``: space comes back."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


def figures(text: str, *also: re.Pattern[str]) -> list[str]:
    """The lines of a /metrics text but those about storage (and ``also``)."""
    drop = (_STORAGE, *also)
    return [ln for ln in text.splitlines() if not any(p.search(ln) for p in drop)]


def _fill(folder: Path) -> None:
    """Take every byte left on the filesystem of ``folder``."""
    with (folder / "filler").open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while f.write(bytes(4096)):
            pass


async def test_a_full_disk_keeps_the_day_in_memory_and_writes_it_all_when_space_returns(
    tmp_path: Path,
) -> None:
    golden_prom, golden_alerts = fixture_paths(CITY)
    with tmpfs(tmp_path / "mnt", "300k") as mnt:
        data = mnt / "data"
        sup = wiring.pipeline([], config_path=None, data=data, token_file=None, ca_file=None)
        decoder = FrameDecoder(Pseudonymizer(KEY))
        source = MemorySource(FEED, frames(events_of(CITY), 1000), decoder)
        sup.sources.append(source)
        try:
            await sup.consume(Paced(source, sup))
            sup.publish()
            view = sup.publish()
            # Full: ingest went on, every figure is the golden one, and it says so.
            assert sup.storage.failing() == ["journal", "alerts", "checkpoint"]
            assert {a.hall for a in view.alerts if a.rule == "storage_failed"} == set(
                view.city.halls
            )
            text = masked(render(view.city).decode())
            assert 'hall_storage_ok{store="journal"} 0.0' in text
            assert 'hall_storage_errors_total{store="alerts",reason="no_space"}' in text
            assert figures(text) == figures(golden_prom.read_text())

            resize(mnt, "64m")
            deadline = time.monotonic() + 30
            while sup.repairs.pending() and time.monotonic() < deadline:
                await sup.repairs.once(time.monotonic() + 3600)  # (any retry is due)
            assert not sup.repairs.pending() and not sup.storage.failing()
            view = sup.publish()
            assert not [a for a in view.alerts if a.rule == "storage_failed"]
            assert figures(masked(render(view.city).decode())) == figures(golden_prom.read_text())
        finally:
            sup.close()
        # The held changes went in, in order: the alert trail of a clean run, chain intact.
        assert alert_lines(data / "alerts.db") == golden_alerts.read_text()
        store = AlertStore(data / "alerts.db")
        assert store.verify() == []
        store.close()

        # A restart from this data dir (snapshot and journal) rebuilds the same figures.
        again = wiring.pipeline([], config_path=None, data=data, token_file=None, ca_file=None)
        again.sources.append(MemorySource(FEED, [], decoder))
        try:
            recover(again)
            rebuilt = masked(render(again.publish().city).decode())
        finally:
            again.close()
        want = figures(golden_prom.read_text(), _SESSION)
        assert figures(rebuilt, _SESSION) == want


def test_a_failed_journal_write_leaves_the_files_whole_and_the_next_one_continues(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "mnt", "200k") as mnt:
        journal = Journal(mnt / "journal")
        events = [
            TicketIssued(seq=i, ts=1_763_949_600_000 + i * 1000, hall="h", ticket=f"t{i}", zone="z")
            for i in range(1, 4001)
        ]
        journal.append("f", events[:100])
        _fill(mnt)
        with pytest.raises(OSError) as failed:
            journal.append("f", events[100:3000])
        assert reason_of(failed.value) == "no_space"
        assert journal.last_seq("f") == 100
        (path,) = journal.paths().values()
        check = check_file(path)
        assert check.cut_bytes == 0 and len(check.lines) == 100  # nothing torn left
        (mnt / "filler").unlink()
        resize(mnt, "4m")  # space again
        journal.append("f", events[100:])
        journal.close()
        check = check_file(path)
        assert check.cut_bytes == 0 and len(check.lines) == 4000
        assert journal.last_seq("f") == 4000


def test_held_alert_changes_keep_their_order_wall_time_and_sign_in(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "400k") as mnt:
        storage = Storage()
        store = AlertStore(mnt / "alerts.db")
        held = HeldChanges(store, storage)
        book = AlertBook(sink=held)
        _fill(mnt)
        fired = [
            book.fire("complaint", "h", f"k{i}", "red", 1_000 + i, "x" * 2000) for i in range(200)
        ]
        assert held.held and not storage.ok("alerts")
        walls = [h.wall for h in held.held]
        first = fired[0]
        assert first is not None
        with signed_in("zhang", "password"):
            book.acknowledge(first.id, "zhang", "on it")
        book.resolve("complaint", "h", "k1", 5_000)
        assert book.sink is held and held.last_resolved(("complaint", "h", "k1")) is not None
        (mnt / "filler").unlink()
        resize(mnt, "16m")
        assert held.flush() and storage.ok("alerts") and not held.held
        records = list(store.audit_records())
        assert [r["subject"] for r in records[:200]] == [f"alert {a.id}" for a in fired if a]
        assert [r["wall"] for r in records[:200]] == walls[:200]
        ack = next(r for r in records if r["action"] == "acknowledged")
        assert '"signed_in_by": "password"' in ack["detail"]
        assert records[-1]["action"] == "resolved"
        assert store.verify() == []
        store.close()
