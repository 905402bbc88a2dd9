"""Golden runs: whole demo days through the real pipeline, held to recorded output.

A figure that moves is a bug until a hand-worked case says otherwise. These fixtures were
recorded from the core as it stood before its rewrite (commit 59c3f85); every later core
must reproduce them byte for byte:

- ``city3-seed3-2025-11-24-history2``: the demo city of 3 halls (``city(3)``), seed 3,
  service day 2025-11-24 (a Monday) preceded by 2 days of history (open cases from
  earlier days), ``demo_events(..., days=1, history=2)``: 16 235 events;
- ``mmc-lambda2-mu0.25-c10-seed3-2025-11-24``: the M/M/c validation hall (λ 2/min,
  μ 0.25/min, 10 windows: ``MMC.parse("2,0.25,10")``), ``simulate_mmc``, seed 3, the same
  day.

Each day's events are renumbered (``feeds.replay.renumber``), encoded as protocol-v1
frames of 1, 100 or 1000 events and played through a ``MemorySource`` into the
``Pipeline`` that ``cli.wiring.pipeline`` builds for ``serve`` (default config,
journal, state snapshots, ``AlertStore`` on a real SQLite file), publishing once per
~1000 events and twice after the last batch. Recorded, per day:

- ``<day>.prom``: the whole /metrics text (``metrics.exposition.render`` of the published
  ``View``'s city, as the HTTP endpoint serves it);
- ``<day>.alerts.ndjson``: every alert of the store's ``alerts`` table with its own audit
  trail (hall ms, actor, action, in order), one JSON line per alert, sorted by rule,
  hall, fired_ms, scope. Alert ids and the audit trail's global order are left out: both
  follow the order rules run within a batch, so they change with the batch size (the
  same records, in another order) while every alert's own trail does not.

Wall-clock dependent, masked: the value of ``hall_feed_lag_seconds`` (this machine's
receive time minus the newest event's ts) becomes ``<wall clock>``; the series stays.

The e2e golden (``e2e-demo-feed-city3-seed3-2025-11-24-history2``) is the same city day
over real processes and sockets: ``run.py demo-feed --speed max --date 2025-11-24 --seed 3
--history 2`` and ``run.py serve --feed demo=URL --metrics-port P --data-dir D``, read
from /metrics once the whole day is applied and from ``D/alerts.db`` after SIGTERM. It is
recorded from an uninterrupted run; a run whose ``serve`` is killed with SIGKILL about
half way through the day (7 of the day's 15 journal records confirmed: seq ~8 400 of
16 235) and restarted on the same data dir must end with exactly the same text and
alerts. (Today the e2e metrics equal the in-process city day's but for
``hall_feed_connected``: 1 while the feed's socket is open, 0 once a memory source ended.)

Re-record (only from a core whose change a hand-worked case has justified)::

    HALLWATCH_RECORD_GOLDEN=1 .venv/bin/pytest tests/golden

Recording runs each in-process day twice and refuses output that is not byte-identical.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest

from cli import wiring
from feeds.decode import FrameDecoder
from feeds.demo.city import city
from feeds.demo.mmc import MMC, simulate_mmc
from feeds.demo.play import demo_events
from feeds.privacy import KEY_FILE, Pseudonymizer
from feeds.protocol import Event, Heartbeat
from feeds.replay import renumber
from feeds.source import Batch, FeedSource, MemorySource
from metrics.exposition import render
from runtime.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
RECORD = os.environ.get("HALLWATCH_RECORD_GOLDEN") == "1"
DAY = dt.date(2025, 11, 24)
SEED = 3
FEED = "demo"
#: A fixed pseudonymization key: the same installation in every run.
KEY = b"hallwatch-golden-runs-key-000000"
#: Publish once per this many events applied (the live publisher runs on wall time).
PUBLISH_EVERY = 1000
#: Series whose value is wall-clock dependent: masked, not compared.
WALL_CLOCK = ("hall_feed_lag_seconds{",)
#: Lines of a failure's diff shown.
DIFF_LINES = 40


@dataclass(frozen=True)
class Day:
    """One recorded configuration: a name (the fixtures' stem) and its events."""

    name: str
    events: Callable[[], list[Event]]


CITY = f"city3-seed{SEED}-{DAY}-history2"
DAYS = {
    day.name: day
    for day in (
        Day(
            CITY,
            lambda: demo_events(city(3), DAY, SEED, days=1, history=2),
        ),
        Day(
            f"mmc-lambda2-mu0.25-c10-seed{SEED}-{DAY}",
            lambda: simulate_mmc(MMC.parse("2,0.25,10"), DAY, SEED),
        ),
    )
}
E2E = f"e2e-demo-feed-{CITY}"
DEMO_FEED_ARGS = ("--speed", "max", "--date", DAY.isoformat(), "--seed", str(SEED))
DEMO_FEED_ARGS += ("--history", "2")


@dataclass(frozen=True)
class Output:
    """What a run leaves: the /metrics text (masked) and the alert lines."""

    metrics: str
    alerts: str


# --- what is compared ------------------------------------------------------------------


def masked(text: str) -> str:
    """The /metrics text with wall-clock dependent values masked."""
    return "".join(
        f"{line.rsplit(' ', 1)[0]} <wall clock>\n" if line.startswith(WALL_CLOCK) else line
        for line in text.splitlines(keepends=True)
    )


_ALERT_COLUMNS = ("rule", "hall", "scope", "severity", "state", "fired_ms", "raised_ms",
                  "resolved_ms", "level", "escalated_ms", "due_ms", "resolved_by")  # fmt: skip


def alert_lines(db_path: Path) -> str:
    """Every alert of a store with its own trail, one JSON line each, sorted."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        rows = db.execute(f"SELECT id, {', '.join(_ALERT_COLUMNS)} FROM alerts").fetchall()
        trails: dict[str, list[list[Any]]] = {}
        for subject, hall_ms, actor, action in db.execute(
            "SELECT subject, hall_ms, actor, action FROM audit ORDER BY seq"
        ):
            trails.setdefault(subject, []).append([hall_ms, actor, action])
    alerts = []
    for alert_id, *values in rows:
        alert = dict(zip(_ALERT_COLUMNS, values, strict=True))
        alert["trail"] = trails.get(f"alert {alert_id}", [])
        alerts.append(alert)
    alerts.sort(key=lambda a: (a["rule"], a["hall"], a["fired_ms"], a["scope"], repr(a)))
    return "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in alerts)


def fixture_paths(name: str) -> tuple[Path, Path]:
    return FIXTURES / f"{name}.prom", FIXTURES / f"{name}.alerts.ndjson"


def write_fixture(name: str, out: Output) -> None:
    FIXTURES.mkdir(exist_ok=True)
    prom, alerts = fixture_paths(name)
    prom.write_text(out.metrics, encoding="utf-8")
    alerts.write_text(out.alerts, encoding="utf-8")


def assert_same(name: str, got: Output, what: str) -> None:
    """``got`` equals the fixture ``name``; else fail with the start of a unified diff
    of each file that differs."""
    failures = []
    for path, text in zip(fixture_paths(name), (got.metrics, got.alerts), strict=True):
        if not path.exists():
            pytest.fail(f"{path} is missing: record it with HALLWATCH_RECORD_GOLDEN=1")
        want = path.read_text(encoding="utf-8")
        if text == want:
            continue
        diff = list(
            difflib.unified_diff(
                want.splitlines(), text.splitlines(), path.name, what, lineterm="", n=1
            )
        )
        changed = sum(1 for d in diff if d[:1] in "+-" and d[:3] not in ("+++", "---"))
        shown = "\n".join(diff[:DIFF_LINES])
        failures.append(f"{what} differs from {path.name} ({changed} lines):\n{shown}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


# --- in process --------------------------------------------------------------------------


def frames(events: list[Event], size: int) -> list[bytes]:
    """Protocol-v1 frames of ``size`` events (one event: a bare object), as a feed sends."""
    encode = msgspec.json.Encoder().encode
    return [
        encode(events[i]) if size == 1 else encode(events[i : i + size])
        for i in range(0, len(events), size)
    ]


class Paced:
    """A source that publishes once per ``PUBLISH_EVERY`` events the pipeline took."""

    def __init__(self, inner: MemorySource, sup: Pipeline) -> None:
        self.inner, self.sup, self.status = inner, sup, inner.status

    async def batches(self) -> AsyncIterator[Batch]:
        taken = 0
        async for batch in self.inner.batches():
            yield batch  # the pipeline applies it before asking for the next
            taken += len(batch.events)
            if taken >= PUBLISH_EVERY:
                self.sup.publish()
                taken = 0


async def run_in_process(events: list[Event], size: int, data: Path) -> Output:
    """Play ``events`` in frames of ``size`` through ``serve``'s pipeline, end of day."""
    sup = wiring.pipeline([], config_path=None, data=data, token_file=None, ca_file=None)
    source = MemorySource(FEED, frames(events, size), FrameDecoder(Pseudonymizer(KEY)))
    paced: FeedSource = Paced(source, sup)
    sup.sources.append(source)
    try:
        await sup.consume(paced)
        sup.publish()
        sup.publish()  # the end of the day seen twice: a second look changes nothing
        metrics = masked(render(sup.view.city).decode())
    finally:
        sup.close()
    return Output(metrics, alert_lines(data / "alerts.db"))


_EVENTS: dict[str, list[Event]] = {}
_RECORDED: set[str] = set()


def events_of(name: str) -> list[Event]:
    if name not in _EVENTS:
        _EVENTS[name] = renumber(DAYS[name].events())
    return _EVENTS[name]


async def record_once(name: str, tmp: Path) -> None:
    """Record ``name`` (in record mode, once a session) from two identical runs."""
    if not RECORD or name in _RECORDED:
        return
    runs = [await run_in_process(events_of(name), 1000, tmp / f"record{i}") for i in (1, 2)]
    assert runs[0] == runs[1], f"{name}: two runs differ; nothing recorded"
    write_fixture(name, runs[0])
    _RECORDED.add(name)


@pytest.mark.parametrize("size", [1000, 100, 1])
@pytest.mark.parametrize("name", list(DAYS))
async def test_a_day_in_frames_of_n_events_ends_with_the_golden_figures_and_alerts(
    name: str, size: int, tmp_path: Path
) -> None:
    await record_once(name, tmp_path)
    got = await run_in_process(events_of(name), size, tmp_path / "data")
    assert_same(name, got, f"{name}, frames of {size}")


# --- end to end: demo-feed and serve, killed and restarted --------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_T = TypeVar("_T")


def wait_until(
    predicate: Callable[[], _T | None], timeout: float, what: str, every: float = 0.05
) -> _T:
    """Poll ``predicate`` every ``every`` s until it returns a value; fail after
    ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while (value := predicate()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)
    return value


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return str(r.read().decode())
    except OSError:
        return None


@pytest.fixture(scope="module")
def feed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = (tmp_path_factory.mktemp("feed") / "feed.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "run.py", "demo-feed", "--port", "0", *DEMO_FEED_ARGS],
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


class Serve:
    """``run.py serve`` on one data dir, with the fixed pseudonymization key."""

    def __init__(self, url: str, data: Path) -> None:
        self.url, self.data, self.port = url, data, free_port()
        self.log = data.parent / f"{data.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        data.mkdir(mode=0o700)
        key = os.open(data / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(key, "wb") as f:
            f.write(KEY)

    def start(self) -> None:
        argv = ["serve", "--feed", f"{FEED}={self.url}", "--metrics-port", str(self.port)]
        argv += ["--data-dir", str(self.data), "--log-file", str(self.log)]
        self.proc = subprocess.Popen([sys.executable, "run.py", *argv], cwd=ROOT)

    def records(self) -> int:
        """Journal records of the day confirmed (one per applied batch)."""
        index = self.data / "journal" / FEED / f"{DAY.isoformat()}.crc"
        return index.stat().st_size // 20 if index.exists() else 0

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def day_applied(self) -> str:
        """/metrics once the whole day is applied: the last seq and every hall's final
        clock (from the same simulation) are in the published view."""
        events = events_of(CITY)
        last_seq = sum(not isinstance(ev, Heartbeat) for ev in events)
        want = {f'hall_feed_last_seq{{feed="{FEED}"}}': float(last_seq)}
        for ev in events:
            key = f'hall_clock_seconds{{hall="{ev.hall}"}}'
            want[key] = max(want.get(key, 0.0), ev.ts / 1000)

        def done() -> str | None:
            text = scrape(self.port)
            if not text:
                return None
            seen = dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln and ln[0] != "#")
            ok = all(abs(float(seen.get(k, "nan")) - v) < 0.01 for k, v in want.items())
            return text if ok else None

        return wait_until(done, 60, "the whole day applied")


@pytest.mark.parametrize("killed", [False, True], ids=["uninterrupted", "kill-9-mid-day"])
def test_serve_on_demo_feed_ends_the_day_with_the_golden_figures_and_alerts(
    feed_url: str, killed: bool, tmp_path: Path
) -> None:
    serve = Serve(feed_url, tmp_path / "data")
    try:
        serve.start()
        if killed:
            # Polled tightly: the whole day's backlog is applied in about a second.
            def half() -> bool | None:
                return serve.records() >= 7 or None

            wait_until(half, 60, "half the day journaled", every=0.002)
            serve.kill()
            at_kill = serve.records()
            serve.start()
        metrics = masked(serve.day_applied())
        serve.stop()
        assert serve.proc is not None and serve.proc.returncode == 0
    finally:
        serve.stop()
    got = Output(metrics, alert_lines(serve.data / "alerts.db"))
    if killed:  # it was killed mid-day and restarted from its data dir
        assert 0 < at_kill < serve.records(), (at_kill, serve.records())
        starts = [json.loads(line) for line in serve.log.read_text().splitlines() if line]
        recovered = [s for s in starts if s.get("event") == "journal_recovered"]
        assert len(recovered) == 2 and recovered[1]["events"] > 0, recovered
    elif RECORD:
        write_fixture(E2E, got)
    assert_same(E2E, got, "serve, killed and restarted" if killed else "serve")
