"""Daily, monthly and quarterly reports (``run.py report``): gather the figures and the
alerts.

The figures are the state engine's: each recorded day (``feeds.journal`` files, read by
``feeds.replay.read_recording``) is replayed into one ``metrics.state.CityState`` and the
report takes each hall's end-of-day ``HallSnapshot``, plus a snapshot every
``SAMPLE_MS`` of hall time for the day chart. No figure is computed a second way; a month
or a quarter only adds the days up (docs/reports.md says how each figure is combined).
What the snapshot cannot say is read from the events on the way: the window a complaint
names, and ratings of a service already rated (``DayData.repeat_ratings``); and from the
day's columns at its end: the expected wait's calibration (``DayData.calibration``).

The alerts (yellow and red cards, complaints, bad ratings and their rectification, second
trips) come from the alert store (``<data dir>/alerts.db``) when it holds alerts of that
day for that hall; otherwise from the alert engine run over the replayed days
(``Config.alert_engine(None, calendar)``). ``DayData.alert_sources`` says which, per hall.

Tables and rendering: ``reports.tables`` (rows) and ``reports.render``
(Markdown, CSV); the SVG chart: ``reports.chart``.

Imports: feeds (replay, hallclock, protocol), metrics.state, metrics.snapshot,
metrics.calibration, alerts (store, model, rules), runtime.config, the standard library.
"""

from __future__ import annotations

import calendar as cal
import datetime as dt
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from alerts.model import Alert
from alerts.rules import AlertEngine
from alerts.store import AlertStore
from feeds.hallclock import DAY_MS, day_start_ms
from feeds.privacy import KEY_FILE, Pseudonymizer
from feeds.protocol import Complaint, ComplaintAnswered, Event, Rating
from feeds.replay import Recording, read_recording
from metrics.calibration import HallCalibration, day_calibration
from metrics.snapshot import HallSnapshot
from metrics.state import CityState
from runtime.build import build_pipeline
from runtime.config import Config

#: The day chart samples each hall every this much hall time (15 minutes).
SAMPLE_MS: Final = 15 * 60_000
#: Where the alerts came from.
SOURCE_STORE: Final = "store"
SOURCE_REPLAY: Final = "replay"
_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl(\.gz)?$")


class ReportError(Exception):
    """The report cannot be made (no recording for the period, a bad date)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One hall at one moment of the day (for the chart)."""

    now_ms: int
    hour_mean_wait_s: dict[str, float | None]
    """Per zone: mean wait of the last hour (``ZoneSnapshot.hour.mean_s``)."""


@dataclass(slots=True)
class DayData:
    """One service day: every hall's end-of-day snapshot and the day's alerts."""

    day: dt.date
    snapshots: dict[str, HallSnapshot]
    """Per hall, the snapshot after the day's last event (halls active that day)."""
    alerts: list[Alert]
    """Alerts that fired this day (hall time) in these halls."""
    alert_sources: dict[str, str] = field(default_factory=dict)
    """Per hall: ``store`` or ``replay`` (the alert engine over the replayed days)."""
    complaint_windows: dict[tuple[str, str], str] = field(default_factory=dict)
    """(hall, complaint) -> the window the complaint names, from the recorded events."""
    complaint_answers: dict[tuple[str, str], int] = field(default_factory=dict)
    """(hall, complaint) -> its first ``complaint_answered`` (ms) among this day's
    recorded events (现场处理答复)."""
    repeat_ratings: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(hall, window) -> (ratings, of them bad) that rated a service already rated: the
    same ticket rated again at the same window that day (一次一评: one rating per service).
    Ratings without a ticket cannot be told apart and are never counted here."""
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    calibration: dict[str, HallCalibration] = field(default_factory=dict)
    """Per hall: the expected wait at each ticket's issue against its realized wait, and
    the last hour's mean wait likewise (``metrics.calibration``, of the replayed day)."""
    files: list[Path] = field(default_factory=list)
    bad_lines: int = 0
    """Recorded lines that were not a valid event (e.g. cut short by a crash)."""
    unreadable: list[str] = field(default_factory=list)
    """Files of the day that could not be read at all, with why (left out)."""


def day_files(journal: Path, day: dt.date) -> list[Path]:
    """Every recording file of ``day`` under ``<data dir>/journal`` (all feeds, all runs;
    a run's ``.jsonl`` is skipped when its compressed ``.jsonl.gz`` is complete)."""
    stem = day.isoformat()
    out: list[Path] = []
    if not journal.is_dir():
        return out
    for folder in sorted(p for p in journal.iterdir() if p.is_dir()):
        names = {p.name for p in folder.glob(f"{stem}*.jsonl*")}
        for name in sorted(names):
            m = _FILE.match(name)
            if m is None or m.group(1) != stem:
                continue
            if not m.group(3) and f"{name}.gz" in names:
                continue  # compressed while we looked: the archive is the whole file
            out.append(folder / name)
    return out


def month_days(month: str) -> list[dt.date]:
    """The days of ``YYYY-MM``.

    Raises:
        ReportError: when ``month`` is not ``YYYY-MM``.
    """
    try:
        year, mon = (int(x) for x in month.split("-"))
        last = cal.monthrange(year, mon)[1]
    except (ValueError, TypeError, cal.IllegalMonthError) as error:
        raise ReportError(f"--month {month!r}: expected YYYY-MM") from error
    return [dt.date(year, mon, d) for d in range(1, last + 1)]


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter_days(quarter: str) -> list[dt.date]:
    """The days of ``YYYY-Qn`` (Q1 January to March … Q4 October to December).

    Raises:
        ReportError: when ``quarter`` is not ``YYYY-Qn``.
    """
    m = _QUARTER.match(quarter)
    if m is None:
        raise ReportError(f"--quarter {quarter!r}: expected YYYY-Qn, n from 1 to 4")
    year, first = int(m.group(1)), 3 * int(m.group(2)) - 2
    return [d for mon in range(first, first + 3) for d in month_days(f"{year}-{mon:02d}")]


def period_days(period: str) -> list[dt.date]:
    """The days of a period: a quarter ``YYYY-Qn``, else a month ``YYYY-MM``.

    Raises:
        ReportError: when ``period`` is neither.
    """
    return quarter_days(period) if "Q" in period.upper() else month_days(period)


def _fired_on(alerts: Iterable[Alert], day: dt.date, hall: str) -> list[Alert]:
    start = day_start_ms(day)
    return sorted(
        (a for a in alerts if a.hall == hall and 0 <= a.fired_ms - start < DAY_MS),
        key=lambda a: a.id,
    )


def gather(
    days: Sequence[dt.date],
    data_dir: Path,
    config: Config | None = None,
    progress: Callable[[int, int, dt.date], None] | None = None,
) -> list[DayData]:
    """Replay the recorded ``days`` (in order, through one state) and collect each day.

    Days without a recording are left out. The alert store is only read, never created.

    Raises:
        ReportError: when none of the days has a recording.
        OSError: when a recording file cannot be read.
    """
    config = config or Config()
    if config.has_agents() and (data_dir / KEY_FILE).is_file():
        # The recordings hold pseudonyms: the agents' ids become them with the same key.
        config = config.pseudonymized(Pseudonymizer.from_data_dir(data_dir))
    journal = data_dir / "journal"
    found = [(d, files) for d in sorted(days) if (files := day_files(journal, d))]
    if not found:
        first, last = min(days), max(days)
        span = first.isoformat() if first == last else f"{first} to {last}"
        hint = ""
        demo = data_dir / "demo"
        if any(day_files(demo / "journal", d) for d in days):
            hint = f"; the demo's recordings of it are under {demo}: add --data-dir {demo}"
        raise ReportError(f"no recording for {span} under {journal}{hint}")
    db = data_dir / "alerts.db"
    store = AlertStore(db) if db.is_file() else None
    try:
        return _replay(found, store, config, progress)
    finally:
        if store is not None:
            store.close()


def _replay(
    found: list[tuple[dt.date, list[Path]]],
    store: AlertStore | None,
    config: Config,
    progress: Callable[[int, int, dt.date], None] | None,
) -> list[DayData]:
    pipeline = build_pipeline(config, forward=False)  # each hall's settings, as live
    city, engine = pipeline.state, pipeline.alerts
    city.record_forecasts = True  # each ticket's expected wait at its issue: calibration
    fired: dict[int, Alert] = {}
    engine.book.listeners.append(lambda change: fired.__setitem__(change.alert.id, change.alert))
    out: list[DayData] = []
    for n, (day, files) in enumerate(found):
        if progress is not None:
            progress(n, len(found), day)
        recording, unreadable = _read(files)
        data = DayData(day, {}, [], files=files, unreadable=unreadable)
        data.bad_lines = sum(recording.bad_lines.values())
        _apply_day(recording.events, city, engine, data)
        data.snapshots = {
            name: snap for name, snap in city.snapshots().items() if snap.day == day.isoformat()
        }
        data.calibration = {name: day_calibration(city.halls[name]) for name in data.snapshots}
        start = day_start_ms(day)
        stored = store.alerts(start, start + DAY_MS - 1) if store is not None else []
        for hall in data.snapshots:
            alerts = _fired_on(stored, day, hall)
            data.alert_sources[hall] = SOURCE_STORE
            if not alerts:
                alerts = _fired_on(fired.values(), day, hall)
                data.alert_sources[hall] = SOURCE_REPLAY
            data.alerts += alerts
        out.append(data)
    if progress is not None:
        progress(len(found), len(found), found[-1][0])
    return out


def _read(files: list[Path]) -> tuple[Recording, list[str]]:
    """The day's recording; a file that cannot be read (a broken archive) is left out and
    named, so one bad file does not lose the other feeds' day."""
    try:
        return read_recording(files), []
    except (OSError, EOFError, zlib.error):
        good, broken = [], []
        for path in files:
            try:
                read_recording([path])
                good.append(path)
            except (OSError, EOFError, zlib.error) as error:
                broken.append(f"{path}: {error or type(error).__name__}")
        return (read_recording(good) if good else Recording([], ())), broken


def _apply_day(events: list[Event], city: CityState, engine: AlertEngine, data: DayData) -> None:
    """Apply one day in slices of ``SAMPLE_MS`` hall time; at each boundary run the alert
    engine's time-driven rules and sample every hall for the chart."""
    if not events:
        return
    rated: set[tuple[str, str, str]] = set()
    boundary = (events[0].ts // SAMPLE_MS + 1) * SAMPLE_MS
    i = 0
    while i < len(events):
        j = i
        while j < len(events) and events[j].ts < boundary:
            j += 1
        part = events[i:j]
        if part:
            engine.on_batch(city.apply(part))
            for ev in part:
                if isinstance(ev, Complaint) and ev.window is not None:
                    data.complaint_windows[(ev.hall, ev.complaint)] = ev.window
                elif isinstance(ev, ComplaintAnswered):
                    data.complaint_answers.setdefault((ev.hall, ev.complaint), ev.ts)
                elif isinstance(ev, Rating) and ev.ticket is not None:
                    _count_repeat(ev, rated, data.repeat_ratings)
        snaps = city.snapshots()
        engine.on_tick(snaps)
        for name, snap in snaps.items():
            got = data.samples.setdefault(name, [])
            if snap.day == data.day.isoformat() and (not got or got[-1].now_ms < snap.now_ms):
                got.append(Sample(snap.now_ms, {z.name: z.hour.mean_s for z in snap.zones}))
        i, boundary = j, boundary + SAMPLE_MS


def _count_repeat(
    ev: Rating, rated: set[tuple[str, str, str]], repeats: dict[tuple[str, str], tuple[int, int]]
) -> None:
    """Count ``ev`` in ``repeats`` when its ticket was rated at its window before that day."""
    key = (ev.hall, ev.ticket or "", ev.window)
    if key not in rated:
        rated.add(key)
        return
    n, bad = repeats.get((ev.hall, ev.window), (0, 0))
    # Bad as in every figure (docs/figures.md): a score of 1 or 2.
    repeats[(ev.hall, ev.window)] = (n + 1, bad + (ev.score <= 2))


def tty_progress(stream: TextIO = sys.stderr) -> Callable[[int, int, dt.date], None] | None:
    """A progress line on ``stream`` when it is a terminal; None (quiet) in a pipe."""
    if not stream.isatty():
        return None

    def show(done: int, total: int, day: dt.date) -> None:
        end = "\n" if done == total else ""
        stream.write(f"\rreport: {day.isoformat()} ({done}/{total} days replayed){end}")
        stream.flush()

    return show
