"""State snapshots (runtime/snapshot.py): a restart from a snapshot plus the journal's
tail ends with exactly the figures of an uninterrupted run, earlier days' cases and
complaints included; a snapshot that is foreign, damaged, torn, or from other code or
config is never used, and recovery falls back to the journal.

Real files: the journal, the snapshot and the alert store are on disk in ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zlib
from pathlib import Path

import msgspec
import pytest
import structlog
import structlog.testing

from alerts.rules import AlertEngine
from alerts.store import AlertStore
from feeds.decode import FrameDecoder
from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.hallclock import service_day
from feeds.journal import Journal
from feeds.protocol import Event
from feeds.replay import renumber
from feeds.source import Batch, MemorySource
from metrics import codec
from metrics.codec import sealed, unsealed
from metrics.exposition import render
from runtime.pipeline import Pipeline
from runtime.recovery import recover
from runtime.snapshot import MAGIC, Snapshots

DAY = dt.date(2025, 11, 24)


@pytest.fixture(scope="module")
def two_days() -> list[Event]:
    """Two demo days numbered as the demo server numbers them (heartbeats without)."""
    return renumber(demo_events(city(3), DAY, 1, days=2))


def _sup(data: Path, config: str = "") -> tuple[Pipeline, MemorySource]:
    source = MemorySource("f", [], FrameDecoder(lambda p: p))
    data.mkdir(exist_ok=True)
    store = AlertStore(data / "alerts.db")
    sup = Pipeline(
        [source],
        journal=Journal(data / "journal"),
        alerts=AlertEngine(sink=store),
        store=store,
        snapshots=Snapshots(data / "snap", config),
    )
    return sup, source


def _feed(sup: Pipeline, source: MemorySource, events: list[Event]) -> None:
    """Apply in batches of 500 with a publish after each, as the pipeline's publisher."""
    for i in range(0, len(events), 500):
        sup.apply(source.status, Batch("f", events[i : i + 500]))
        sup.publish()


def _figures(sup: Pipeline) -> list[str]:
    """Every /metrics line but the feed's own session bookkeeping."""
    text = render(sup.publish().city).decode()
    return [ln for ln in text.splitlines() if ln and ln[0] != "#"]


def _crash(sup: Pipeline) -> None:
    """What a kill -9 leaves: the journal's files as written, nothing closed or saved."""
    assert sup.journal is not None
    for thread in sup.journal._compressing:  # (a kill would stop it; here it finishes)
        thread.join()
    for day in sup.journal._files.values():
        day.file.close()
        day.index.close()
    sup.journal._files.clear()
    assert sup.store is not None
    sup.store.close()  # (SQLite keeps what it committed; a kill leaves the same)


def test_a_restart_on_day_two_rebuilds_day_ones_open_cases_from_the_snapshot(
    tmp_path: Path, two_days: list[Event]
) -> None:
    clean, src = _sup(tmp_path / "clean")
    _feed(clean, src, two_days)
    expected = _figures(clean)
    first_day_end = next(i for i, e in enumerate(two_days) if e.ts >= two_days[-1].ts - 86_400_000)
    cut = first_day_end + (len(two_days) - first_day_end) // 2  # the middle of day two

    sup, src = _sup(tmp_path / "chaos")
    _feed(sup, src, two_days[:cut])
    assert sup.snapshots is not None and sup.snapshots.saved == 1  # as day one ended
    _crash(sup)

    again, src = _sup(tmp_path / "chaos")
    (done,) = recover(again)
    assert done.from_snapshot and done.events > 0
    assert again.events_total == sum(e.seq is not None for e in two_days[:cut])
    _feed(again, src, [e for e in two_days[cut:]])
    assert "unknown_case" not in src.status.rejected
    got = _figures(again)
    assert any(ln.startswith("hall_cases_open") and not ln.endswith(" 0.0") for ln in got)
    assert got == expected

    # Without the snapshot, today's journal alone does not know yesterday's cases.
    (tmp_path / "chaos" / "snap").unlink()
    bare, src = _sup(tmp_path / "chaos")
    (done,) = recover(bare)
    assert not done.from_snapshot
    assert src.status.rejected["unknown_case"] > 0


def test_a_clean_stop_restarts_from_its_snapshot_with_nothing_to_replay(
    tmp_path: Path, two_days: list[Event]
) -> None:
    sup, src = _sup(tmp_path)
    _feed(sup, src, two_days[:3000])
    before = _figures(sup)
    sup.close()
    again, src = _sup(tmp_path)
    (done,) = recover(again)
    assert done.from_snapshot and done.events == 0
    assert done.resume_since == max(e.seq or 0 for e in two_days[:3000])
    assert _figures(again) == before
    assert os.stat(tmp_path / "snap").st_mode & 0o777 == 0o600


def _saved(tmp_path: Path, events: list[Event]) -> bytes:
    sup, src = _sup(tmp_path)
    _feed(sup, src, events)
    sup.close()
    return (tmp_path / "snap").read_bytes()


def _falls_back(tmp_path: Path, config: str = "") -> str:
    """Recover; the snapshot must be skipped. Returns the reason logged."""
    sup, _ = _sup(tmp_path, config)
    with structlog.testing.capture_logs() as logged:
        (done,) = recover(sup)
    assert not done.from_snapshot
    assert done.events > 0  # today's journal replayed instead
    (skipped,) = [e for e in logged if e["event"] == "snapshot_skipped"]
    return str(skipped["why"])


@pytest.mark.parametrize(
    ("harm", "why"),
    [
        ("flip a byte", "damaged"),
        ("torn", "damaged"),
        ("other code", "made by other code"),
        ("other config", "made with another configuration"),
        ("writable by others", "not this user's, or writable by others"),
        ("not one", "not a snapshot"),
    ],
)
def test_an_unusable_snapshot_is_skipped_and_the_journal_replayed(
    tmp_path: Path, two_days: list[Event], harm: str, why: str
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    path = tmp_path / "snap"
    config = ""
    if harm == "flip a byte":
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    elif harm == "torn":
        path.write_bytes(data[: len(data) // 2])
    elif harm == "other code":
        magic, head, payload = data.split(b"\n", 2)
        fields = json.loads(head)
        fields["code"] = "0" * 64  # (the header keeps its slot's size)
        head = json.dumps(fields).encode().ljust(len(head))
        path.write_bytes(magic + b"\n" + head + b"\n" + payload)
    elif harm == "other config":
        config = "another"
    elif harm == "writable by others":
        path.chmod(0o666)
    else:
        path.write_bytes(b"cos = __import__('os')\n")
    assert _falls_back(tmp_path, config) == why
    assert data.startswith(MAGIC)


def test_a_kill_while_saving_leaves_the_previous_snapshot_whole(
    tmp_path: Path, two_days: list[Event]
) -> None:
    good = _saved(tmp_path, two_days[:2000])
    (tmp_path / "snap.partial").write_bytes(good[: len(good) // 3])  # the kill came here
    sup, _ = _sup(tmp_path)
    (done,) = recover(sup)
    assert done.from_snapshot and done.events == 0


def test_later_days_snapshot_once_the_day_has_turned_and_a_crash_before_loses_nothing(
    tmp_path: Path,
) -> None:
    """Day three: the snapshot waits until every hall has left day two (so it holds no
    day-two tickets); a crash before it is saved recovers from day one's snapshot plus
    the journal after it."""
    events = renumber(demo_events(city(3), DAY, 3, days=3))
    third = next(i for i, e in enumerate(events) if service_day(e.ts) == DAY + dt.timedelta(2))
    day3 = third + (len(events) - third) // 2  # the middle of day three
    clean, src = _sup(tmp_path / "clean")
    _feed(clean, src, events)
    expected = _figures(clean)
    assert clean.snapshots is not None and clean.snapshots.saved == 2

    # Killed just as day three began: its snapshot not saved yet, day one's is there.
    sup, src = _sup(tmp_path / "early")
    for i in range(0, third + 1, 500):
        sup.apply(src.status, Batch("f", events[i : min(i + 500, third + 1)]))
    assert sup.snapshots is not None and sup.snapshots.saved == 1
    _crash(sup)
    again, src = _sup(tmp_path / "early")
    (done,) = recover(again)
    assert done.from_snapshot and done.events > 10_000  # day one's end, day two, day three
    _feed(again, src, events[third + 1 :])
    assert _figures(again) == expected

    # Killed in the middle of day three, after its snapshot.
    sup, src = _sup(tmp_path / "late")
    _feed(sup, src, events[:day3])
    assert sup.snapshots is not None and sup.snapshots.saved == 2
    for hall in sup.state.halls.values():
        assert hall.day == (DAY + dt.timedelta(days=2)).isoformat()
    _crash(sup)
    again, src = _sup(tmp_path / "late")
    (done,) = recover(again)
    assert done.from_snapshot
    _feed(again, src, events[day3:])
    assert _figures(again) == expected


# --- the format: no pickle, versions, damage under a good CRC ----------------------------


def _rewritten(data: bytes, parts: list[bytes], **fields: object) -> bytes:
    """``data`` with another payload (its parts' lengths and CRC-32 made right in the
    header, which keeps its slot's size) and header ``fields``."""
    magic, head, _ = data.split(b"\n", 2)
    values = json.loads(head)
    payload = b"".join(parts)
    values.update(parts=[len(p) for p in parts], length=len(payload), crc32=zlib.crc32(payload))
    values.update(fields)
    return magic + b"\n" + json.dumps(values).encode().ljust(len(head)) + b"\n" + payload


def _parts(data: bytes) -> list[bytes]:
    _, head, payload = data.split(b"\n", 2)
    first = json.loads(head)["parts"][0]
    return [payload[:first], payload[first:]]


def _journal_only(tmp_path: Path) -> list[str]:
    """The figures a recovery from the journal alone gives (no snapshot file)."""
    (tmp_path / "snap").rename(tmp_path / "snap.kept")
    sup, _ = _sup(tmp_path)
    recover(sup)
    (tmp_path / "snap.kept").rename(tmp_path / "snap")
    return _figures(sup)


def test_a_format_2_pickle_is_refused_unread_and_the_journal_replayed(
    tmp_path: Path, two_days: list[Event]
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    marker = tmp_path / "unpickled"
    # A protocol-0 pickle that, were it ever loaded, would create ``marker``.
    pickled = f"cbuiltins\nopen\n(S'{marker}'\nS'w'\ntR.".encode()
    path = tmp_path / "snap"
    path.write_bytes(_rewritten(data, [pickled], format=2))
    why = _falls_back(tmp_path)
    assert why == "made by an older hallwatch (format 2): replaying the journal instead"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("part", "body", "why"),
    [
        (0, b"\xc1 not msgpack", "undecodable: "),
        (0, b"\x93\x01\x02\x03", "undecodable: "),
        (1, b"\xc1 not msgpack", "undecodable: "),
        (1, b"\xdd\x00\x00\x00\x01\x91\x93\xa3now\xa3int", "undecodable: "),
    ],
    ids=["pipeline garbage", "pipeline other shape", "halls garbage", "halls other shape"],
)
def test_garbage_under_good_crcs_is_refused_with_a_reason_and_nothing_is_taken(
    tmp_path: Path, two_days: list[Event], part: int, body: bytes, why: str
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    expected = _journal_only(tmp_path)
    parts = _parts(data)
    parts[part] = b"".join(sealed(parts[part][8:12], [body]))  # its own CRC right too
    (tmp_path / "snap").write_bytes(_rewritten(data, parts))
    assert _falls_back(tmp_path).startswith(why)
    sup, _ = _sup(tmp_path)
    recover(sup)
    assert _figures(sup) == expected  # the journal's state, nothing of the snapshot's


def test_a_byte_flipped_in_a_part_is_refused_by_its_crc(
    tmp_path: Path, two_days: list[Event]
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    for part in (0, 1):
        parts = _parts(data)
        at = len(parts[part]) // 2
        parts[part] = parts[part][:at] + bytes([parts[part][at] ^ 1]) + parts[part][at + 1 :]
        (tmp_path / "snap").write_bytes(_rewritten(data, parts))  # the file's CRC made right
        assert "damaged (its CRC-32 does not match)" in _falls_back(tmp_path)


def test_halls_of_an_older_checkpoint_version_are_refused(
    tmp_path: Path, two_days: list[Event]
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    parts = _parts(data)
    parts[1] = parts[1][:12] + (codec.VERSION - 1).to_bytes(4, "big") + parts[1][16:]
    (tmp_path / "snap").write_bytes(_rewritten(data, parts))
    why = _falls_back(tmp_path)
    assert why == f"made by an older hallwatch (checkpoint version {codec.VERSION - 1})"


def test_nothing_under_runtime_metrics_alerts_pickles() -> None:
    """A snapshot never runs code when loaded: no pickle (nor its cousins) anywhere in
    the packages that make or read one."""
    root = Path(__file__).resolve().parents[2]
    loaders = re.compile(
        r"^\s*(import|from)\s+(c?pickle|_pickle|shelve|marshal|dill|cloudpickle|joblib)\b"
        r"|\bpickle\.\w+|allow_pickle\s*=\s*True|__reduce(_ex)?__",
        re.MULTILINE,
    )
    found = [
        f"{path.relative_to(root)}: {m.group(0).strip()}"
        for package in ("runtime", "metrics", "alerts")
        for path in sorted((root / package).rglob("*.py"))
        for m in loaders.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_rules_that_do_not_decode_after_good_halls_roll_the_halls_back(
    tmp_path: Path, two_days: list[Event]
) -> None:
    data = _saved(tmp_path, two_days[:2000])
    expected = _journal_only(tmp_path)
    parts = _parts(data)
    own = msgspec.msgpack.decode(bytes(unsealed(b"pipe", parts[0])))
    own["rules"] = b"\xc1 not msgpack"
    parts[0] = b"".join(sealed(b"pipe", [msgspec.msgpack.encode(own)]))
    (tmp_path / "snap").write_bytes(_rewritten(data, parts))
    assert _falls_back(tmp_path).startswith("rule memory undecodable")
    sup, _ = _sup(tmp_path)
    recover(sup)
    assert _figures(sup) == expected
