"""Alerts of the province to an Alertmanager cluster, once, though a shard dies mid-day.

Three shards (``serve --nats``, each with ``[outbound] alertmanager`` = every peer of a
stub Alertmanager cluster, and a ``--data-dir`` for its read model of the alerts
stream) run four demo feeds of three halls; the busiest shard is killed (-9) at midday.
The stub cluster is three small HTTP servers on 127.0.0.1, one of them dead from the
start: each live peer records what it is posted and the cluster forwards each alert
state — (labels, ``startsAt``, ``endsAt``): its fingerprint and its firing or resolved
state — to one receiver once, as Alertmanager's cluster de-duplicates its peers'
notifications (the notification log they gossip). The new owners of the dead shard's
partitions re-derive, and post again, what it had already sent.

Then: each alert state of the alerts stream reached the receiver, once, and nothing
else did; the alerts stream holds no transition id twice; ``audit verify`` passes on
every node's read model, and every node's audit chain is the same one (the dead node's
a part of it).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.model import kind_of
from alerts.outbound import NOTIFY
from feeds.hallclock import HALL_TZ
from province.local import LocalCluster, free_port
from province.outbox import Transition
from tests.province.procs import (
    ROOT,
    alert_transitions,
    busiest_at,
    demo_feed,
    feed_last_seq,
    key_dir,
    kill9,
    owned,
    python,
    scrape,
    series,
    stopping,
    until,
)

pytestmark = pytest.mark.timeout(360)

FEEDS = 4
PARTITIONS = 4
#: An alert state as Alertmanager tells one from another: labels, startsAt, endsAt.
State = tuple[tuple[tuple[str, str], ...], str, str | None]


def state_of(alert: dict[str, Any]) -> State:
    return tuple(sorted(alert["labels"].items())), alert["startsAt"], alert.get("endsAt")


def rfc3339(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def expected_state(t: Transition) -> State:
    """What the shard posts for a notable transition (docs/alerts.md, "Outbound"): the
    labels, the hall time it fired, and the one it resolved at."""
    labels = {"alertname": t.rule, "hall": t.hall, "scope": t.scope, "severity": t.severity,
              "kind": kind_of(t.severity), "source": "hallwatch"}  # fmt: skip
    ends = rfc3339(t.at_ms) if t.state == "resolved" else None
    return tuple(sorted(labels.items())), rfc3339(t.fired_ms), ends


class Server:
    """A ThreadingHTTPServer on 127.0.0.1 whose POSTs go to ``handle(path, body)``."""

    def __init__(self, handle: Any) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                handle(self.path, body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


class StubAlertmanagerCluster:
    """Peers that record every POST of ``/api/v2/alerts`` and share a notification log:
    the first peer to get an alert state forwards it to the receiver (a webhook, as an
    Alertmanager receiver gets it); a state already notified is dropped."""

    def __init__(self, peers: int) -> None:
        self.lock = threading.Lock()
        self.notified: set[State] = set()
        self.posted: list[list[State]] = [[] for _ in range(peers)]
        self.received: list[State] = []
        self.receiver = Server(lambda path, body: self.received.extend(
            state_of(a) for a in body["alerts"]))  # fmt: skip
        self.peers = [Server(lambda path, body, i=i: self._post(i, path, body))
                      for i in range(peers)]  # fmt: skip

    def _post(self, peer: int, path: str, alerts: list[dict[str, Any]]) -> None:
        assert path == "/api/v2/alerts", path
        fresh = []
        with self.lock:
            for alert in alerts:
                state = state_of(alert)
                self.posted[peer].append(state)
                if state not in self.notified:
                    self.notified.add(state)
                    fresh.append(alert)
        if fresh:
            told = [{**a, "status": "resolved" if a.get("endsAt") else "firing"} for a in fresh]
            status = {"version": "4", "alerts": told}
            request = urllib.request.Request(
                self.receiver.url, json.dumps(status).encode(), method="POST",
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=5):
                pass

    def close(self) -> None:
        for server in (*self.peers, self.receiver):
            server.close()


@contextmanager
def stub_alertmanager(peers: int) -> Iterator[StubAlertmanagerCluster]:
    cluster = StubAlertmanagerCluster(peers)
    try:
        yield cluster
    finally:
        cluster.close()


def audit_chain(db: Path) -> list[str]:
    """The hashes of a read model's audit trail, in order (read-only, beside its writer)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT hash FROM audit ORDER BY seq")]


async def test_a_shard_killed_mid_day_each_alert_reaches_alertmanager_once(
    tmp_path: Path,
) -> None:
    dead_peer = f"http://127.0.0.1:{free_port()}"  # nothing listens: it holds back nobody
    with (
        LocalCluster(tmp_path / "nats") as cluster,
        stub_alertmanager(2) as am,
        stopping([]) as procs,
    ):
        config = tmp_path / "province.toml"
        peers = ", ".join(f'"{u}"' for u in [*(p.url for p in am.peers), dead_peer])
        config.write_text(f"[outbound]\nalertmanager = [{peers}]\nresend_seconds = 2\n"
                          "retries = 2\ntimeout_seconds = 2\n")  # fmt: skip
        nats = ["--nats", cluster.nats_arg, "--partitions", str(PARTITIONS),
                "--lease-seconds", "2"]  # fmt: skip
        shards, ports, dirs = [], [], []
        for k in range(3):
            ports.append(free_port())
            dirs.append(tmp_path / f"shard{k}")
            shards.append(python(
                "serve", *nats, "--config", str(config), "--data-dir", str(dirs[-1]),
                "--checkpoint-minutes", "0.02", "--metrics-port", str(ports[-1]),
                "--log-file", str(tmp_path / f"shard{k}.log"),
            ))  # fmt: skip
        procs += shards

        async def all_partitions_owned(among: list[int]) -> bool:
            texts = [scrape(p) for p in among]
            held = sorted(p for t in texts for p in owned(t or ""))
            return None not in texts and held == list(range(PARTITIONS))

        await until(lambda: all_partitions_owned(ports), 60, "the shards share the partitions")

        feeds, urls = [], []
        for i in range(FEEDS):
            proc, url = demo_feed("--speed", "3600", "--date", "2025-11-24", "--seed", str(i + 1),
                                  "--halls", "3", "--hall-prefix", f"h{i}")  # fmt: skip
            procs.append(proc)
            urls.append(url)
            feeds += ["--feed", f"f{i}={url}"]
        procs.append(python(
            "gateway", *feeds, *nats, "--data-dir", str(key_dir(tmp_path / "gateway")),
            "--log-file", str(tmp_path / "gateway.log"),
        ))  # fmt: skip

        noon = dt.datetime(2025, 11, 24, 12, tzinfo=HALL_TZ).timestamp()

        async def busiest_at_noon() -> int | None:
            found = await busiest_at(ports, noon)
            return None if found is None else found + 1

        victim = await until(busiest_at_noon, 60, "midday on the busiest shard") - 1
        kill9(shards[victim])
        assert am.received, "no alert reached Alertmanager in the morning"
        survivors = [p for k, p in enumerate(ports) if k != victim]
        await until(lambda: all_partitions_owned(survivors), 30, "the survivors take over")

        # The day is played out to its end and applied: every feed's last seq and every
        # hall's clock at midnight are on a survivor (nothing more can happen after).
        evening = dt.datetime(2025, 11, 25, tzinfo=HALL_TZ).timestamp() - 1

        async def day_applied() -> bool:
            union: dict[Any, float] = {}
            for p in survivors:
                union.update(series(scrape(p) or ""))
            clocks = [v for k, v in union.items() if k[0] == "hall_clock_seconds"]
            if len(clocks) != 3 * FEEDS or min(clocks) < evening:
                return False
            last = {dict(k[1])["feed"]: v for k, v in union.items()
                    if k[0] == "hall_feed_last_seq"}  # fmt: skip
            ends = [await feed_last_seq(u) for u in urls]
            return all(last.get(f"f{i}") == end for i, end in enumerate(ends))

        await until(day_applied, 60, "the day applied on the survivors")

        # Every alert state in the alerts stream reaches the receiver, once (read once the
        # stream has stopped growing: the outboxes have published everything).
        transitions: list[Transition] = []
        wanted: set[State] = set()

        changed = [time.monotonic()]

        async def receiver_has_all() -> bool:
            before = len(transitions)
            transitions[:] = await alert_transitions(cluster.urls)
            if len(transitions) != before:
                changed[0] = time.monotonic()
            wanted.clear()
            wanted.update(expected_state(t) for t in transitions if t.what.startswith(NOTIFY))
            quiet = time.monotonic() - changed[0] >= 3.0
            return quiet and bool(wanted) and set(am.received) >= wanted

        try:
            await until(receiver_has_all, 150, "every alert at the receiver")
        except AssertionError:
            missing = sorted(wanted - set(am.received), key=str)
            by = {expected_state(t): t for t in transitions}
            raise AssertionError(f"{len(missing)} of {len(wanted)} never reached it, e.g. "
                                 f"{[by[m] for m in missing[:3]]}") from None  # fmt: skip
        assert set(am.received) == wanted
        assert len(am.received) == len(set(am.received)), "an alert state notified twice"
        ids = [t.id for t in transitions]
        assert len(ids) == len(set(ids)), "a transition id twice in the alerts stream"
        # Both live peers were told everything (each peer gets every post); the cluster
        # had repeats to drop: the resends, and what the takeover re-derived.
        for posted in am.posted:
            assert set(posted) == wanted
        assert sum(len(p) for p in am.posted) > 2 * len(wanted)

        # Every node's read model: the whole stream, once each, in stream order.
        async def read_models_caught_up() -> bool:
            return all(len(audit_chain(dirs[k] / "alerts.db")) == len(ids)
                       for k in range(3) if k != victim)  # fmt: skip

        await until(read_models_caught_up, 60, "the read models caught up")
        chains = [audit_chain(d / "alerts.db") for d in dirs]
        living = [c for k, c in enumerate(chains) if k != victim]
        assert living[0] == living[1], "two nodes with different audit chains"
        assert chains[victim] == living[0][: len(chains[victim])], "the dead node's chain"
        assert chains[victim], "the dead node read nothing"

    for d in dirs:
        verify = subprocess.run(
            [sys.executable, "run.py", "audit", "verify", "--data-dir", str(d)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stderr
        n = len(ids) if d != dirs[victim] else len(chains[victim])
        assert verify.stdout.startswith(f"audit trail intact: {n} records"), verify.stdout
