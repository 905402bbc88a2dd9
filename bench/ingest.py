"""Ingest benchmark: events/s through everything `serve` does, against a bare client.

A sender subprocess speaks protocol v1 on loopback and sends a pre-encoded stream (so the
sender is never the bottleneck). In this process, on one core, two clients consume the
same stream in turn:
- bare: WebSocket receive + one msgspec decode per frame (the transport ceiling);
- full: the real pipeline — WebSocketFeed (decode, pseudonymize, seq checks) → Pipeline
  (journal to disk, hall state, alert rules, publishing snapshots).
Each configuration runs several times; the table shows median [min-max] and the ratio of
full to bare measured in the same run. ``measure`` also takes the peer (``bench/peer.py``:
a hand-written per-event consumer with prometheus_client) for ``bench/table.py``.

    python bench/ingest.py                 # default: 200 000 events, 3 runs
    python bench/ingest.py --events 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.client import WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.privacy import Pseudonymizer
from feeds.protocol import (
    Event,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
)
from runtime import logs
from runtime.pipeline import Pipeline

T0 = 1763946000000


def stream(n: int, halls: int = 100, windows: int = 30) -> list[Event]:
    """A plausible mix: each ticket is issued, called, started, finished, often rated."""
    out: list[Event] = []
    i = 0
    seq = 0
    while len(out) < n:
        hall = f"h{i % halls:03d}"
        window = f"W{(i // halls) % windows:02d}"
        ticket = f"T{i // halls:06d}"
        zone = f"z{i % 4}"
        base = T0 + (i // halls) * 1000
        for ev in (
            TicketIssued(seq=0, ts=base, hall=hall, ticket=ticket, zone=zone,
                         person=f"37010219900101{i % 10000:04d}"),
            TicketCalled(seq=0, ts=base + 60_000, hall=hall, ticket=ticket, window=window),
            ServiceStarted(seq=0, ts=base + 90_000, hall=hall, ticket=ticket, window=window),
            ServiceFinished(seq=0, ts=base + 280_000, hall=hall, ticket=ticket, window=window,
                            outcome="done"),
            Rating(seq=0, ts=base + 290_000, hall=hall, window=window, score=5,
                   channel="device"),
        ):  # fmt: skip
            seq += 1
            ev.seq = seq
            out.append(ev)
        i += 1
    return out[:n]


# --- sender (subprocess) ----------------------------------------------------------------


def sender(port: int, n: int, frame: int, feeds: int) -> None:
    from websockets.asyncio.server import serve

    events = stream(n)
    per_feed = n // feeds
    encode = msgspec.json.encode
    chunks = []
    for f in range(feeds):
        part = events[f * per_feed : (f + 1) * per_feed]
        for k, ev in enumerate(part, 1):
            ev.seq = k
        chunks.append(
            [
                encode(part[j]) if frame == 1 else encode(part[j : j + frame])
                for j in range(0, len(part), frame)
            ]
        )
    counter = iter(range(10**9))

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        mine = chunks[next(counter) % feeds]
        await ws.send(b'{"op":"hello","protocol":1,"feed":"bench","halls":[],'
                      b'"first_seq":1,"last_seq":%d}' % per_feed)  # fmt: skip
        await ws.recv()
        for data in mine:
            await ws.send(data)
        await ws.wait_closed()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, max_size=None):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())


# --- receivers --------------------------------------------------------------------------


async def bare(url: str, expect: int) -> float:
    from websockets.asyncio.client import connect

    decoder = msgspec.json.Decoder(list[Event] | Event)  # type: ignore[arg-type]
    start = time.perf_counter()
    got = 0
    async with connect(url, compression=None, proxy=None, max_size=None) as ws:
        await ws.recv()
        await ws.send(b'{"op":"subscribe","since":0}')
        while got < expect:
            out = decoder.decode(await ws.recv())
            got += len(out) if isinstance(out, list) else 1
    return time.perf_counter() - start


async def full(urls: list[str], expect: int, data_dir: Path) -> float:
    pseudo = Pseudonymizer.from_data_dir(data_dir)
    feeds = [WebSocketFeed(u, FrameDecoder(pseudo), name=f"f{i}") for i, u in enumerate(urls)]
    sup = Pipeline(feeds, journal=Journal(data_dir / "journal"))
    start = time.perf_counter()
    task = asyncio.create_task(sup.run())
    seen, progress = 0, start
    while sup.events_total < expect:
        await asyncio.sleep(0.002)
        now = time.perf_counter()
        if sup.events_total > seen:
            seen, progress = sup.events_total, now
        elif task.done() or now - progress > 30:  # say why rather than hang
            states = [(f.status.connects, f.status.last_error, dict(f.status.rejected))
                      for f in feeds]  # fmt: skip
            error = task.exception() if task.done() else None
            raise RuntimeError(f"full pipeline stuck at {seen}/{expect}: {error!r} {states}")
    elapsed = time.perf_counter() - start
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sup.close()
    return elapsed


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(
    n: int, frame: int, conns: int, runs: int, consumers: tuple[str, ...] = ("bare", "full")
) -> dict[str, list[float]]:
    """Events/s of each of ``consumers`` ("bare", "full", "peer": ``bench/peer.py``) on
    the same stream from one sender, taken in turn within each of ``runs`` runs."""
    from peer import peer

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--sender",
            str(port),
            "--events",
            str(n),
            "--frame",
            str(frame),
            "--conns",
            str(conns),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        url = f"ws://127.0.0.1:{port}"
        total = (n // conns) * conns
        rates: dict[str, list[float]] = {name: [] for name in consumers}

        async def clients(client: Callable[[str, int], Awaitable[float]]) -> float:
            start = time.perf_counter()
            await asyncio.gather(*(client(url, n // conns) for _ in range(conns)))
            return time.perf_counter() - start

        for _ in range(runs):
            for name in consumers:
                if name == "full":
                    with tempfile.TemporaryDirectory() as tmp:
                        elapsed = asyncio.run(full([url] * conns, total, Path(tmp)))
                else:
                    elapsed = asyncio.run(clients(bare if name == "bare" else peer))
                rates[name].append(total / elapsed)
        return rates
    finally:
        proc.kill()
        proc.wait()


def fmt(rates: list[float]) -> str:
    med = statistics.median(rates)
    return f"{med / 1e3:8.0f}k [{min(rates) / 1e3:.0f}-{max(rates) / 1e3:.0f}k]"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sender", type=int, help=argparse.SUPPRESS)
    p.add_argument("--frame", type=int, default=100, help=argparse.SUPPRESS)
    p.add_argument("--conns", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.sender:
        sender(args.sender, args.events, args.frame, args.conns)
        return
    logs.configure(Path(tempfile.gettempdir()) / "hallwatch-bench.log")
    print(f"ingest: {args.events} events, {args.runs} runs each, pid {os.getpid()}, "
          f"{os.cpu_count()} cores; events/s median [min-max]")  # fmt: skip
    print(
        f"{'frame':>6} {'conns':>5} | {'bare receive+decode':>22} | {'full pipeline':>22} | ratio"
    )
    configs = [(1, 1), (100, 1), (1000, 1), (1, 50), (100, 50)]
    for frame, conns in configs:
        n = args.events if frame > 1 else min(args.events, 100_000)
        rates = measure(n, frame, conns, args.runs)
        b, f = rates["bare"], rates["full"]
        ratio = statistics.median(f) / statistics.median(b)
        print(f"{frame:>6} {conns:>5} | {fmt(b):>22} | {fmt(f):>22} | {ratio:5.0%}", flush=True)


if __name__ == "__main__":
    main()
