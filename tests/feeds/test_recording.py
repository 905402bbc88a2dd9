"""Recording (the journal) and the replay driver, on real files and an injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from pathlib import Path

import msgspec
import pytest

from feeds.hallclock import day_start_ms
from feeds.journal import Journal
from feeds.protocol import Event, Heartbeat
from feeds.replay import (
    ReplayDriver,
    ReplaySource,
    open_replay,
    parse_time,
    read_recording,
    window,
)
from tests.factories import T0, ms, tickets

DAY = dt.date(2025, 11, 24)


def lines(path: Path) -> list[Event]:
    decoder = msgspec.json.Decoder(Event)
    return [decoder.decode(line) for line in path.read_bytes().splitlines()]


def test_journal_splits_at_midnight_thins_heartbeats_and_keeps_the_final_clock(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path)
    midnight = day_start_ms(DAY + dt.timedelta(days=1))
    batch = tickets(3, midnight - 15_000)  # 23:59:45, 23:59:55, 00:00:05
    journal.append("f", batch[:1])
    beats = [Heartbeat(ts=batch[0].ts + i * 1000, hall="lz") for i in range(1, 9)]
    journal.append("f", beats)  # all within a minute of the last event: held back
    journal.append("f", batch[1:])  # crosses midnight
    journal.append("f", [Heartbeat(ts=batch[2].ts + 5000, hall="lz")])
    journal.close()
    first, second = tmp_path / "f" / "2025-11-24.jsonl.gz", tmp_path / "f" / "2025-11-25.jsonl"
    assert sorted(p.name for p in first.parent.glob("*.jsonl*")) == [first.name, second.name]
    assert [e.seq for e in read_recording([first]).events] == [1, 2]  # the pending heartbeat
    # was superseded; the finished day was compressed
    assert lines(second) == [batch[2], Heartbeat(ts=batch[2].ts + 5000, hall="lz")]
    assert (first.stat().st_mode & 0o777) == (second.stat().st_mode & 0o777) == 0o600


def test_a_restarted_feed_goes_to_a_new_file_a_resumed_one_continues(tmp_path: Path) -> None:
    for run in (tickets(3), tickets(2, ms(5), seq=4), tickets(2, ms(10))):
        journal = Journal(tmp_path)
        journal.append("f", run)
        journal.close()
    folder = tmp_path / "f"
    assert sorted(p.name for p in folder.glob("*.jsonl")) == [
        "2025-11-24.2.jsonl",
        "2025-11-24.jsonl",
    ]
    assert [e.seq for e in lines(folder / "2025-11-24.jsonl")] == [1, 2, 3, 4, 5]
    assert [e.seq for e in lines(folder / "2025-11-24.2.jsonl")] == [1, 2]


def test_read_recording_merges_renumbers_reads_gzip_and_counts_bad_lines(tmp_path: Path) -> None:
    enc = msgspec.json.encode
    a = tmp_path / "a.jsonl"
    a.write_bytes(b"\n".join(enc(e) for e in tickets(3)) + b'\n{"kind":"tick')  # cut short
    b = tmp_path / "b.jsonl.gz"
    b.write_bytes(gzip.compress(b"\n".join(enc(e) for e in tickets(2, T0 + 5000, seq=90))))
    rec = read_recording([a, b])
    assert rec.bad_lines == {str(a): 1}
    assert [e.ts - T0 for e in rec.events] == [0, 5000, 10_000, 15_000, 20_000]
    assert [e.seq for e in rec.events] == [1, 2, 3, 4, 5]
    assert window(rec, "09:00:10", "10:00") == (T0 + 10_000, T0 + 3_600_000)
    driver = open_replay([a, b], speed=None, start="09:00:05", until="09:00:15")
    assert [e.seq for e in driver.due()] == [1, 2, 3, 4] and driver.done


def test_parse_time() -> None:
    assert parse_time("09:00", DAY) == T0
    assert parse_time("2025-11-24T09:00:30", DAY) == T0 + 30_000
    assert parse_time("2025-11-24T01:00:00+00:00", DAY) == T0
    with pytest.raises(ValueError):
        parse_time("nine", DAY)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_driver_paces_pauses_steps_and_seeks() -> None:
    wall = FakeClock()
    events = tickets(30, step_ms=10_000)  # one every 10 s of hall time, 09:00:00 to 09:04:50
    driver = ReplayDriver(events, speed=60.0, clock=wall)
    assert [e.seq for e in driver.due()] == [1]
    wall.now += 1.0  # one wall second = one hall minute
    assert [e.seq for e in driver.due()] == [2, 3, 4, 5, 6, 7]
    driver.pause()
    wall.now += 10.0
    assert driver.due() == [] and driver.hall_ms == ms(1)
    driver.step(30)
    assert [e.seq for e in driver.due()] == [8, 9, 10] and driver.hall_ms == ms(1.5)
    driver.resume()
    wall.now += 0.5
    assert [e.seq for e in driver.due()] == [11, 12, 13]
    driver.seek(ms(4))
    assert len(driver.due()) == 12 and driver.position == 25
    driver.seek(ms(0.5))  # back: a rewind from the first event
    assert driver.epoch == 1 and [e.seq for e in driver.due()] == [1, 2, 3, 4]
    driver.set_speed(None)
    assert len(driver.due()) == 26 and driver.done


def test_driver_start_and_until() -> None:
    events = tickets(30)
    driver = ReplayDriver(events, speed=60.0, start_ts=ms(2), until_ts=ms(3), clock=FakeClock())
    assert len(driver.due()) == 13  # 09:00:00 .. 09:02:00 at once
    driver.set_speed(None)
    assert len(driver.due()) == 6 and driver.done and driver.end_ms == ms(3)


async def test_replay_source_yields_batches_with_the_hall_clock_and_ends_at_a_rewind() -> None:
    wall = FakeClock()
    driver = ReplayDriver(tickets(30), speed=60.0, clock=wall)
    source = ReplaySource(driver)
    batches = source.batches()
    first = await anext(batches)
    assert [e.seq for e in first.events] == [1]
    driver.pause()
    driver.step(25)
    second = await asyncio.wait_for(anext(batches), 5)
    assert [e.seq for e in second.events if e.seq] == [2, 3]
    assert second.events[-1] == Heartbeat(ts=ms(seconds=25), hall="lz")
    assert source.status.last_seq == 3 and source.status.connected
    driver.seek(0)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), 5)
    assert not source.status.connected
