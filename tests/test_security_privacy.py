"""Privacy: an ID number planted in the feed reaches no output — journal, its index,
SQLite (with its WAL), the state snapshot, logs, /metrics, the report, the screen — while
its pseudonym does reach the journal; and every file in the data dir is 0600, every
folder 0700. Real WebSocket, real files, the real console under Pilot."""

from __future__ import annotations

import datetime as dt
import gzip
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from alerts.store import AlertStore
from console.app import HallwatchApp
from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.privacy import KEY_FILE, Pseudonymizer, ensure_data_dir, rotate_key
from feeds.protocol import CaseSubmitted, Event, TicketIssued
from feeds.server import FeedServer
from metrics.exposition import serve_metrics
from reports.gather import gather
from reports.render import write
from runtime import logs
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from runtime.snapshot import Snapshots
from tests.conftest import wait_for
from tests.e2e.test_serve import ROOT, get
from tests.factories import H, console_morning

#: A well-formed resident ID number (Beijing Dongcheng, born 1949-12-31, check digit X).
PLANTED = "11010519491231002X"


@pytest.fixture
def saved_logging() -> Iterator[None]:
    config = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**config)


def _events() -> list[Event]:
    events = console_morning()
    for i, ev in enumerate(events):
        if isinstance(ev, TicketIssued):
            events[i] = TicketIssued(
                seq=0, ts=ev.ts, hall=H, ticket=ev.ticket, zone=ev.zone, person=PLANTED
            )
    case = CaseSubmitted(
        seq=0, ts=events[-2].ts, hall=H, case="k-1", item="i", dept="d", promised_days=3,
        ticket="A001", person=PLANTED,
    )  # fmt: skip
    return [*events[:-1], case, events[-1]]


def _everything_under(folder: Path) -> bytes:
    out = bytearray()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            out += gzip.decompress(raw) if path.suffix == ".gz" else raw
    return bytes(out)


async def test_a_planted_id_number_reaches_no_output(tmp_path: Path, saved_logging: None) -> None:
    data = ensure_data_dir(tmp_path / "data")
    logs.configure(data / "hallwatch.log")
    pseudonymize = Pseudonymizer.from_data_dir(data)
    server = FeedServer("p", [H])
    await server.start()
    events = _events()
    await server.publish(events)
    feed = WebSocketFeed(server.url, FrameDecoder(pseudonymize), name="p", backoff=Backoff(0.01))
    store = AlertStore(data / "alerts.db")
    sup = Pipeline(
        [feed],
        journal=Journal(data / "journal"),
        store=store,
        publish_interval=0.05,
        snapshots=Snapshots(data / "state.snapshot"),  # saved at close: it is searched too
    )
    _, port, stop_metrics = serve_metrics(lambda: sup.view.city, "127.0.0.1", 0)
    try:
        app = HallwatchApp(Desk(sup), lang="en", refresh_hz=20)
        async with app.run_test(size=(160, 50)) as pilot:
            fed = sum(1 for e in events if e.seq is not None)  # heartbeats are not counted
            await wait_for(lambda: app.shown is not None and app.shown.events_total == fed)
            await pilot.pause()
            screen = app.export_screenshot()
            for key in "wuakm":  # windows, queue, alerts, cases, complaints: each is searched
                await pilot.press(key)
                await pilot.pause()
                screen += app.export_screenshot()
        body = get(f"http://127.0.0.1:{port}/metrics") or ""
    finally:
        stop_metrics()
        await server.stop()
        sup.close()
    assert "hall_services_total" in body and "A001" in screen  # what is checked is real
    day = dt.date(2025, 11, 24)
    report, _ = write(gather([day], data), None, "md")
    assert "lz" in report
    assert (data / "state.snapshot").exists()
    stored = _everything_under(data)
    assert pseudonymize(PLANTED).encode() in stored  # the pseudonym is what is kept
    for name, text in (("data dir", stored), ("metrics", body.encode()),
                       ("screen", screen.encode()), ("report", report.encode())):  # fmt: skip
        assert PLANTED.encode() not in text, name
        assert PLANTED[:17].encode() not in text, name  # nor without its check digit
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.rglob("*"):
        want = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == want, path


def test_rotate_key_replaces_the_key_privately(tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = Pseudonymizer.from_data_dir(data)
    old_key = (data / KEY_FILE).read_bytes()
    done = subprocess.run(
        [sys.executable, "run.py", "rotate-key", "--data-dir", str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = Pseudonymizer.from_data_dir(data)
    assert (data / KEY_FILE).read_bytes() != old_key and len(old_key) == 32
    assert stat.S_IMODE((data / KEY_FILE).stat().st_mode) == 0o600
    assert sorted(p.name for p in data.iterdir()) == [KEY_FILE]  # no copy of the old key
    assert before(PLANTED) != after(PLANTED)
    assert rotate_key(data) == data / KEY_FILE
    assert Pseudonymizer.from_data_dir(data)(PLANTED) != after(PLANTED)


def test_the_alert_database_and_its_wal_files_are_private_while_open(tmp_path: Path) -> None:
    """SQLite gives -wal and -shm the database's mode: made 0600 before SQLite opens it,
    the files a running (or killed) console leaves are private too."""
    data = ensure_data_dir(tmp_path / "data")
    store = AlertStore(data / "alerts.db")
    try:
        made = sorted(p.name for p in data.iterdir())
        assert made == ["alerts.db", "alerts.db-shm", "alerts.db-wal"]
        for path in data.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        store.close()
