"""Journal checksums: a torn tail (kill -9 mid-write) is found, cut and reported; the
recording stays readable by feeds.replay; the newest day is read back for recovery."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from feeds.journal import DayRecovery, Journal, check_file, index_path, recover_day
from feeds.protocol import Event, Heartbeat
from feeds.replay import read_recording
from tests.factories import ms, tickets


def parts(rec: DayRecovery, size: int = 2000) -> list[list[Event]]:
    """Every part's events, through the lazy ``batches``."""
    out: list[list[Event]] = [[] for _ in rec.parts]
    for part, events in rec.batches(size):
        out[part].extend(events)
    return out


def _write(root: Path, *batches: int) -> Path:
    journal = Journal(root)
    seq = 1
    for n in batches:
        journal.append("f", tickets(n, ms(seq), seq=seq))
        seq += n
    journal.close()
    return root / "f" / "2025-11-24.jsonl"


def test_a_clean_file_checks_whole_and_replays(tmp_path: Path) -> None:
    path = _write(tmp_path, 3, 2)
    check = check_file(path)
    assert (len(check.lines), check.cut_bytes, check.damaged) == (5, 0, 0)
    assert index_path(path).stat().st_size == 2 * 20
    assert (index_path(path).stat().st_mode & 0o777) == 0o600
    assert [e.seq for e in read_recording([path]).events] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("cut", [1, 37, 80])
def test_a_torn_tail_is_cut_at_start_up_and_the_next_run_appends_after_it(
    tmp_path: Path, cut: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, 3, 2)
    whole = path.read_bytes()
    first_batch = whole[: index_bytes_end(path, 0)]
    path.write_bytes(whole[:-cut])  # the second batch only partly reached the disk
    rec = recover_day(tmp_path, "f")
    assert rec.cut_bytes == len(whole) - cut - len(first_batch)
    assert rec.last_seq == 3 and [e.seq for e in parts(rec)[0]] == [1, 2, 3]
    assert path.read_bytes() == first_batch  # cut back to the last whole record
    assert index_path(path).stat().st_size == 20
    assert "journal_tail_cut" in capsys.readouterr().out
    journal = Journal(tmp_path)  # the restarted feed resumes after seq 3
    journal.append("f", tickets(2, ms(4), seq=4))
    journal.close()
    assert check_file(path).cut_bytes == 0
    assert [e.seq for e in read_recording([path]).events] == [1, 2, 3, 4, 5]


def index_bytes_end(path: Path, record: int) -> int:
    raw = index_path(path).read_bytes()[record * 20 : record * 20 + 12]
    return int.from_bytes(raw[:8], "little") + int.from_bytes(raw[8:12], "little")


def test_a_torn_index_record_unconfirms_its_batch_and_damage_inside_is_skipped(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, 3, 2, 1)
    idx = index_path(path)
    idx.write_bytes(idx.read_bytes()[:-7])  # the third record's entry was torn
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01  # a flipped bit in the first record
    path.write_bytes(bytes(data))
    check = check_file(path, repair=True)
    assert check.damaged == 1 and check.cut_bytes > 0
    assert len(check.lines) == 2  # only the second record's lines are trusted
    assert idx.stat().st_size == 40


def test_files_without_an_index_cut_a_last_partial_line(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    path = folder / "2025-11-24.jsonl"
    path.write_bytes(b'{"kind":"heartbeat","ts":1763946000000,"hall":"lz"}\n{"kind":"tick')
    rec = recover_day(tmp_path, "f")
    assert rec.cut_bytes == len(b'{"kind":"tick') and parts(rec) == [
        [Heartbeat(ts=1763946000000, hall="lz")]
    ]


def test_recover_day_reads_the_newest_day_in_run_order_and_tidies_compressions(
    tmp_path: Path,
) -> None:
    for run in (tickets(3), tickets(2, ms(10))):  # the feed restarted its seqs: a .2 file
        journal = Journal(tmp_path)
        journal.append("f", run)
        journal.close()
    folder = tmp_path / "f"
    older = folder / "2025-11-23.jsonl"
    older.write_bytes(b"")
    (folder / "2025-11-23.jsonl.gz").write_bytes(gzip.compress(b""))
    (folder / "2025-11-22.jsonl.gz.partial").write_bytes(b"x")
    rec = recover_day(tmp_path, "f")
    assert rec.day == "2025-11-24" and [len(p) for p in parts(rec, size=2)] == [3, 2]
    assert rec.last_seq == 2
    assert not older.exists() and not (folder / "2025-11-22.jsonl.gz.partial").exists()
    assert recover_day(tmp_path, "nobody").parts == []


def test_heartbeats_first_after_a_restart_stay_in_the_newest_part(tmp_path: Path) -> None:
    """A restarted console that is up to date hears heartbeats first: they must not open
    a new part, or the next start-up would find no seq there and resume from 0."""
    _write(tmp_path, 3)
    journal = Journal(tmp_path)
    journal.append("f", [Heartbeat(ts=ms(10), hall="lz")])
    journal.append("f", tickets(2, ms(11), seq=4))
    journal.close()
    folder = tmp_path / "f"
    assert sorted(p.name for p in folder.glob("*.jsonl")) == ["2025-11-24.jsonl"]
    assert recover_day(tmp_path, "f").last_seq == 5
    for run in (tickets(2, ms(20)), [Heartbeat(ts=ms(30), hall="lz")], tickets(1, ms(31), seq=3)):
        journal = Journal(tmp_path)  # a restarted feed (seqs from 1), then two restarts
        journal.append("f", run)
        journal.close()
    second = read_recording([folder / "2025-11-24.2.jsonl"]).events
    assert [e.seq for e in second] == [1, 2, None, 3]  # the heartbeat stayed in the newest
    assert recover_day(tmp_path, "f").last_seq == 3


def test_a_new_days_file_killed_before_its_first_write_resumes_after_yesterday(
    tmp_path: Path,
) -> None:
    _write(tmp_path, 3)
    folder = tmp_path / "f"
    (folder / "2025-11-25.crc").write_bytes(b"")  # killed as the next day's files were opened
    (folder / "2025-11-25.jsonl").write_bytes(b"")
    rec = recover_day(tmp_path, "f", days=2)
    assert rec.day == "2025-11-25" and [len(p) for p in parts(rec)] == [3, 0]
    assert rec.last_seq == 3  # what the state got: not 0, which would apply it twice
