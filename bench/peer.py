"""The peer: what a user would write instead of hallwatch, to hold its speed against.

A hand-written per-event consumer of the same protocol-v1 stream, reasonably written:
a ``websockets`` client (no compression offered, as the sender offers none), one
``json.loads`` per frame, a dict per event dispatched on ``kind``, and
``prometheus_client`` metrics updated per event with ``.labels(...)``:

- ``hall_queue_length{hall,zone}`` (Gauge): +1 when a ticket is issued, -1 when called;
- ``hall_tickets_issued_total{hall,zone}`` (Counter);
- ``hall_wait_seconds{hall,zone}`` (Histogram): issue to first call;
- ``hall_services_total{hall,window,outcome}`` (Counter), on ``service_finished``.

It keeps the issue time and zone of each waiting ticket in a dict, as it must to know
the wait. No journal, no pseudonymization, no seq checks, no alert rules, no snapshots:
a small fraction of what ``serve`` does, with no shortcut a user would not take either.
Serving ``/metrics`` (``start_http_server``) would cost at scrape time only: not done.

Imports: json, time, prometheus_client, websockets — nothing of hallwatch.

    python bench/peer.py                 # peer vs the bare client, 1000-event frames
    python bench/peer.py --frame 100 --events 100000
"""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

WAIT_BUCKETS = (60, 300, 600, 900, 1200, 1800, 2700, 3600, 7200)


class HallMetrics:
    """The peer's state: Prometheus metrics in a registry of its own, plus the tickets
    waiting (hall, ticket) -> (issue ts, zone)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue = Gauge("hall_queue_length", "Tickets waiting", ["hall", "zone"],
                           registry=self.registry)  # fmt: skip
        self.issued = Counter("hall_tickets_issued", "Tickets issued", ["hall", "zone"],
                              registry=self.registry)  # fmt: skip
        self.wait = Histogram("hall_wait_seconds", "Issue to first call", ["hall", "zone"],
                              buckets=WAIT_BUCKETS, registry=self.registry)  # fmt: skip
        self.services = Counter("hall_services", "Services finished",
                                ["hall", "window", "outcome"], registry=self.registry)  # fmt: skip
        self.waiting: dict[tuple[str, str], tuple[int, str]] = {}
        self.events = 0

    def apply(self, ev: dict[str, Any]) -> None:
        """One event (a dict as ``json.loads`` made it)."""
        self.events += 1
        kind = ev["kind"]
        if kind == "ticket_issued":
            hall, zone = ev["hall"], ev["zone"]
            self.waiting[hall, ev["ticket"]] = (ev["ts"], zone)
            self.issued.labels(hall, zone).inc()
            self.queue.labels(hall, zone).inc()
        elif kind == "ticket_called":
            hall = ev["hall"]
            issued = self.waiting.pop((hall, ev["ticket"]), None)
            if issued is not None:  # a recall, or a ticket issued before we connected
                ts, zone = issued
                self.queue.labels(hall, zone).dec()
                self.wait.labels(hall, zone).observe((ev["ts"] - ts) / 1000)
        elif kind == "service_finished":
            self.services.labels(ev["hall"], ev["window"], ev["outcome"]).inc()


async def peer(url: str, expect: int) -> float:
    """Consume ``expect`` events from ``url``; seconds from connect to the last applied."""
    from websockets.asyncio.client import connect

    metrics = HallMetrics()
    apply = metrics.apply
    start = time.perf_counter()
    async with connect(url, compression=None, proxy=None, max_size=None) as ws:
        json.loads(await ws.recv())  # hello
        await ws.send(json.dumps({"op": "subscribe", "since": 0}))
        while metrics.events < expect:
            frame = json.loads(await ws.recv())
            if isinstance(frame, list):
                for ev in frame:
                    apply(ev)
            elif "kind" in frame:
                apply(frame)
    return time.perf_counter() - start


def main() -> None:
    import argparse
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest import measure

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--frame", type=int, default=1000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    rates = measure(args.events, args.frame, 1, args.runs, consumers=("bare", "peer"))
    for name, values in rates.items():
        print(f"{name:>5}: {statistics.median(values) / 1e3:8.0f}k ev/s "
              f"[{min(values) / 1e3:.0f}-{max(values) / 1e3:.0f}k]")  # fmt: skip


if __name__ == "__main__":
    main()
