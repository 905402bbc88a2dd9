"""Restart benchmark: a state snapshot against replaying the journal.

One service day of 100 halls x 30 windows (``bench.figures.big_hall_day``, merged in
hall-clock order) goes through ``Pipeline.apply`` with a real journal on disk. Then it
measures, in one run: saving the state snapshot (and the most it allocates meanwhile,
traced once more), loading it back into a new pipeline (``Snapshots.load`` and
``Pipeline.restore_state``), a restart from it (load + nothing left to replay), and a
restart without it (the whole day replayed from the journal, which is what every earlier
day would cost too before snapshots). Best of ``--runs``.

    python bench/snapshot.py
    python bench/snapshot.py --halls 20 --runs 3 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import city_day

from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.replay import renumber
from feeds.source import Batch, MemorySource
from runtime import logs
from runtime.pipeline import Pipeline
from runtime.recovery import recover
from runtime.snapshot import Snapshots


def _sup(data: Path) -> tuple[Pipeline, MemorySource]:
    source = MemorySource("bench", [], FrameDecoder(lambda p: p))
    journal = Journal(data / "journal")
    return Pipeline([source], journal=journal, snapshots=Snapshots(data / "snap")), source


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--halls", type=int, default=100)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON line for bench/table.py")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        logs.configure(data / "bench.log")
        events = renumber(city_day(0, args.halls))
        sup, source = _sup(data)
        for i in range(0, len(events), 1000):
            sup.apply(source.status, Batch("bench", events[i : i + 1000]))
        sup.publish()
        assert sup.snapshots is not None
        save = min(_timed(sup.save_snapshot) for _ in range(args.runs))
        tracemalloc.start()
        sup.save_snapshot()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = (data / "snap").stat().st_size
        sup.close()
        restore = min(_timed(lambda: _restored(data)) for _ in range(args.runs))
        load = min(_timed(lambda: recover(_sup(data)[0])) for _ in range(args.runs))
        (data / "snap").rename(data / "snap.kept")
        replay = min(_timed(lambda: recover(_sup(data)[0])) for _ in range(args.runs))
    result = {
        "halls": args.halls,
        "events": len(events),
        "snapshot_mb": size / 1e6,
        "save_s": save,
        "save_peak_mb": peak / 1e6,
        "load_s": restore,
        "restart_from_snapshot_s": load,
        "restart_replaying_the_day_s": replay,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.halls} halls, one day: {len(events):,} events; snapshot {size / 1e6:.1f} MB")
    print(
        f"  save the snapshot:            {save:6.2f} s  (allocating {peak / 1e6:.0f} MB at most)"
    )
    print(f"  load it into a new pipeline:  {restore:6.2f} s")
    print(f"  restart from the snapshot:    {load:6.2f} s")
    print(f"  restart replaying the day:    {replay:6.2f} s  ({replay / load:.0f}x)")


def _restored(data: Path) -> None:
    sup = _sup(data)[0]
    assert sup.snapshots is not None
    found = sup.snapshots.load()
    assert found is not None
    sup.restore_state(found[1])


def _timed(work: object) -> float:
    assert callable(work)
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
