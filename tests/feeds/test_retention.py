"""Personal data kept no longer than needed: 40 demo days recorded through the real
pipeline (journal, alert store), then ``hallwatch retention apply``. The oldest days lose
their pseudonyms; the days of the second-trip window keep them (a second trip inside
it is still found); the month's report is unchanged."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import msgspec
import pytest

from cli.main import main
from feeds.hallclock import day_start_ms
from feeds.journal import Journal
from feeds.protocol import (
    CaseSubmitted,
    Event,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.replay import renumber
from feeds.retention import apply_retention
from feeds.source import Batch, FeedStatus
from reports.gather import gather
from reports.render import write
from runtime.build import build_pipeline
from runtime.config import Config, ConfigError, load_config
from runtime.recovery import recover

FIRST = dt.date(2025, 10, 20)
DAYS = 40
TODAY = FIRST + dt.timedelta(days=DAYS - 1)  # 2025-11-28
#: A pseudonym as the decoder makes them: 32 hex digits (feeds/privacy.py).
PSEUDONYM = re.compile(rb'"person":"([0-9a-f]{16,})"')


def record(data: Path, events: list[Event]) -> None:
    """Journal and apply ``events`` as serve would, with an alert store."""
    from alerts.store import AlertStore

    store = AlertStore(data / "alerts.db")
    pipeline = build_pipeline(Config(), store=store, journal=Journal(data / "journal"))
    status = FeedStatus(name="demo")
    for i in range(0, len(events), 1000):
        pipeline.apply(status, Batch("demo", events[i : i + 1000]))
        pipeline.publish()
    pipeline.close()


def read_day(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def pseudonyms_by_day(journal: Path) -> dict[dt.date, set[bytes]]:
    out: dict[dt.date, set[bytes]] = {}
    for path in (journal / "demo").iterdir():
        if ".jsonl" in path.name:
            day = dt.date.fromisoformat(path.name[:10])
            out.setdefault(day, set()).update(PSEUDONYM.findall(read_day(path)))
    return out


def month_report(data: Path, month: str) -> str:
    text, _ = write(gather([*_days(month)], data, Config()), None, "md", month)
    return text


def _days(month: str) -> list[dt.date]:
    from reports.gather import month_days

    return month_days(month)


def hall_days() -> list[Event]:
    """A small hall's 40 days: each working day 12 people, each with a pseudonym (as the
    decoder leaves them); every fourth visit is incomplete and that person comes back for
    the same item ten days later (a second trip). Sundays closed."""
    out: list[Event] = []
    for d in range(DAYS):
        day = FIRST + dt.timedelta(days=d)
        if day.weekday() == 6:
            continue
        t0 = day_start_ms(day) + 9 * 3_600_000
        out.append(WindowState(seq=0, ts=t0, hall="lz", window="W1", state="open", staff="s1"))
        people = [(f"{d:02d}{k:02d}", k % 4 == 0) for k in range(12)]
        back = d - 10
        if back >= 0 and (FIRST + dt.timedelta(days=back)).weekday() != 6:
            people += [(f"{back:02d}{k:02d}", False) for k in range(0, 12, 4)]
        for n, (who, fails) in enumerate(people):
            at = t0 + 60_000 + n * 600_000
            ticket = f"A{n:03d}"
            out += [
                TicketIssued(seq=0, ts=at, hall="lz", ticket=ticket, zone="biz", item="shdj-01",
                             person="ab" * 12 + who.encode().hex()),
                TicketCalled(seq=0, ts=at + 60_000, hall="lz", ticket=ticket, window="W1"),
                ServiceStarted(seq=0, ts=at + 90_000, hall="lz", ticket=ticket, window="W1"),
                ServiceFinished(seq=0, ts=at + 500_000, hall="lz", ticket=ticket, window="W1",
                                outcome="incomplete" if fails else "done"),
            ]  # fmt: skip
        out.append(CaseSubmitted(seq=0, ts=t0 + 400_000, hall="lz", case=f"C{d:02d}",
                                 item="bdc-01", dept="zrzy", promised_days=3,
                                 person="cd" * 12 + f"{d:02d}".encode().hex()))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("retention") / "data"
    record(data, renumber(hall_days()))
    return data


def test_old_days_lose_their_pseudonyms_and_the_window_keeps_them(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    journal = data / "journal"
    before = pseudonyms_by_day(journal)
    assert len(before) == sum(
        1 for d in range(DAYS) if (FIRST + dt.timedelta(days=d)).weekday() != 6
    ) and all(before.values()), "every open day has people with pseudonyms"
    october_report = month_report(data, "2025-10")

    # A dry run changes nothing and says what it would do.
    args = ["retention", "apply", "--data-dir", str(data), "--today", TODAY.isoformat()]
    assert main([*args, "--dry-run"]) == 0
    assert "would strip person fields from" in capsys.readouterr().out
    assert pseudonyms_by_day(journal) == before

    assert main(args) == 0
    out = capsys.readouterr().out
    after = pseudonyms_by_day(journal)
    cutoff = TODAY - dt.timedelta(days=35)  # default: the 30-day window plus 5
    for day, found in after.items():
        if day < cutoff:
            assert not found, day  # older than the window and its margin: none left
        else:
            assert found == before[day], day  # the window keeps every pseudonym
    stripped = sum(1 for day in before if day < cutoff and before[day])
    assert f"stripped person fields from {stripped} recorded day file(s)" in out
    assert month_report(data, "2025-10") == october_report  # figures and alerts alike

    # A second run has nothing left to do.
    assert main(args) == 0
    assert "from 0 recorded day file(s)" in capsys.readouterr().out


def test_a_second_trip_inside_the_window_is_still_found(recorded: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    apply_retention(data / "journal", TODAY, strip_after_days=35)
    # Rebuild the state from the recordings of the whole window, as a restart without
    # a snapshot does: the second trips of its last days need the earlier visits.
    fresh = build_pipeline(Config(), journal=Journal(data / "journal"))
    fresh.sources.append(_Named("demo"))
    recover(fresh, days=DAYS)
    found = [
        a
        for a in (*fresh.alerts.book.open.values(), *fresh.alerts.book.resolved)
        if a.rule == "second_trip" and a.fired_ms >= _ms(TODAY - dt.timedelta(days=5))
    ]
    assert found, "a second trip of the last days (the first visit inside the window)"


def test_delete_after_days_removes_old_recordings(recorded: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    run = apply_retention(data / "journal", TODAY, strip_after_days=35, delete_after_days=31)
    left = sorted(p.name[:10] for p in (data / "journal" / "demo").iterdir())
    assert left and min(left) >= (TODAY - dt.timedelta(days=31)).isoformat()
    assert len(run.deleted) == sum(
        1 for d in range(DAYS) if FIRST + dt.timedelta(days=d) < TODAY - dt.timedelta(days=31)
    ) - _days_without_file(recorded)


def test_retention_inside_the_second_trip_window_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text("[retention]\nstrip_person_after_days = 20\n")
    with pytest.raises(ConfigError, match=r"hall.toml:2: field retention.strip_person_after_days"):
        load_config(config)


def _days_without_file(data: Path) -> int:
    """Days before the deletion cut without any recording (Sundays)."""
    have = {p.name[:10] for p in (data / "journal" / "demo").iterdir()}
    cut = TODAY - dt.timedelta(days=31)
    return sum(
        1
        for d in range(DAYS)
        if (day := FIRST + dt.timedelta(days=d)) < cut and day.isoformat() not in have
    )


def _ms(day: dt.date) -> int:
    from feeds.hallclock import day_start_ms

    return day_start_ms(day)


class _Named:
    """A source that only names the feed whose journal recovery replays."""

    def __init__(self, name: str) -> None:
        self.status = FeedStatus(name=name)

    async def batches(self):  # never run: recovery only reads the journal
        return
        yield


def test_journal_lines_stay_events(recorded: Path, tmp_path: Path) -> None:
    """A stripped day still reads as protocol-v1 events (replay and report take it)."""
    import shutil

    from feeds.protocol import Event as Ev

    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    apply_retention(data / "journal", TODAY, strip_after_days=35)
    oldest = min((data / "journal" / "demo").iterdir())
    decoder = msgspec.json.Decoder(Ev)
    lines = read_day(oldest).splitlines()
    assert lines and all(decoder.decode(line) for line in lines)


def test_the_pipeline_applies_it_as_a_service_day_begins(recorded: Path, tmp_path: Path) -> None:
    import shutil

    from feeds.protocol import Heartbeat

    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    pipeline = build_pipeline(Config(), journal=Journal(data / "journal"))
    assert pipeline.retain() is None  # no hall clock yet: nothing to count from
    tomorrow = TODAY + dt.timedelta(days=1)
    pipeline.apply(FeedStatus(name="demo"), Batch("demo", [Heartbeat(ts=_ms(tomorrow), hall="lz")]))
    pipeline.publish()
    run = pipeline.retain()
    assert run is not None and run.stripped and not run.dry_run
    cutoff = tomorrow - dt.timedelta(days=35)
    assert not any(
        found for day, found in pseudonyms_by_day(data / "journal").items() if day < cutoff
    )
    assert pipeline.retain() is None  # once a day
    pipeline.close()
