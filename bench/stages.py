"""Stage benchmark: where one event's time goes in ``serve``'s pipeline, without sockets.

The bench stream of ``bench/ingest.py`` (100 halls x 30 windows, issue/call/start/finish/
rating) is pre-encoded into frames; each stage then runs over all of them in turn, in one
process, exactly as ``Pipeline.apply`` chains them:

- decode: ``FrameDecoder.decode`` (msgspec, pseudonymize) per frame;
- seq: ``SeqGuard.check`` per decoded frame;
- journal: ``Journal.append`` to a temporary folder;
- state: ``CityState.apply`` (handlers; numpy flushes as in production);
- alerts: ``AlertEngine.on_batch``;
- publish: one ``Pipeline.publish`` (100 hall snapshots, the time-driven rules) at the end,
  in ms, and the share of a core it takes at the publisher's pace under a flood.

The table shows ns per event, median [min-max] of several runs. Use it for A/B runs of
an optimization: it isolates each stage from transport noise.

    python bench/stages.py                      # 100 000 events, frames of 100, 5 runs
    python bench/stages.py --frame 1000 --events 200000
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import stream

from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.privacy import Pseudonymizer
from feeds.source import SeqGuard
from runtime.pipeline import Pipeline

STAGES = ("decode", "seq", "journal", "state", "alerts", "total")


def one_run(frames: list[bytes], n: int) -> dict[str, float]:
    """ns per event of each stage, and the publish cost in ms, for one pass."""
    out: dict[str, float] = {}
    decoder = FrameDecoder(Pseudonymizer(b"bench-key-0123456789abcdef"))
    t = time.perf_counter()
    decoded = [decoder.decode(f) for f in frames]
    out["decode"] = time.perf_counter() - t
    guard = SeqGuard()
    t = time.perf_counter()
    batches = [guard.check("bench", d) for d in decoded]
    out["seq"] = time.perf_counter() - t
    # The whole stream decoded up front is the bench's own input: serve never holds it
    # (a batch lives as long as its apply). Out of the collector's sight, as serve's
    # start-up objects are (Pipeline.run freezes them): else every full collection
    # scans ~100 k event Structs and bills the state stage ~1.5 us/event for it.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory() as tmp:
        sup = Pipeline(journal=Journal(Path(tmp) / "journal"))
        journal = sup.journal
        assert journal is not None
        t = time.perf_counter()
        for b in batches:
            journal.append("bench", b.events)
        out["journal"] = time.perf_counter() - t
        t = time.perf_counter()
        results = [sup.state.apply(b.events) for b in batches]
        out["state"] = time.perf_counter() - t
        t = time.perf_counter()
        for r in results:
            sup.alerts.on_batch(r)
        out["alerts"] = time.perf_counter() - t
        t = time.perf_counter()
        sup.publish()
        out["publish_ms"] = (time.perf_counter() - t) * 1e3
        sup.close()
    gc.unfreeze()
    per = {k: v / n * 1e9 for k, v in out.items() if k != "publish_ms"}
    per["total"] = sum(per.values())
    per["publish_ms"] = out["publish_ms"]
    return per


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--frame", type=int, default=100)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    events = stream(args.events)
    encode = msgspec.json.encode
    frames = [encode(events[j : j + args.frame]) for j in range(0, len(events), args.frame)]
    rows = [one_run(frames, len(events)) for _ in range(args.runs)]
    print(f"stages: {len(events)} events in frames of {args.frame}, {args.runs} runs; "
          "ns/event median [min-max]")  # fmt: skip
    for k in STAGES:
        v = [r[k] for r in rows]
        print(f"{k:>8} {statistics.median(v):8.0f} [{min(v):.0f}-{max(v):.0f}]")
    v = [r["publish_ms"] for r in rows]
    print(f"{'publish':>8} {statistics.median(v):8.1f} ms [{min(v):.1f}-{max(v):.1f}] "
          f"(100 halls; {1e9 / statistics.median([r['total'] for r in rows]) / 1e3:.0f}k ev/s "
          "without publish)")  # fmt: skip


if __name__ == "__main__":
    main()
