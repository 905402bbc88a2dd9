"""``serve --nats``: three shards share eight partitions of a 24-hall province (eight demo
feeds of three halls, one feed per partition, their days started once the gateway and
the reference both listen); the busiest shard is killed (-9) at 11:00 hall time. Every
partition ends run by one shard, restored from its checkpoint and the stream after it, and
the shards' /metrics together are a single ``serve --feed`` of the same feeds, series for
series and figure for figure (but the wall-clock lag); the alerts stream holds each
alert's transitions once, and folds to the alerts shown."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from feeds.hallclock import HALL_TZ
from province.local import LocalCluster, free_port
from province.outbox import OPEN_STATES, fold
from tests.province.procs import (
    Series,
    alert_transitions,
    busiest_at,
    demo_feeds,
    key_dir,
    kill9,
    owned,
    python,
    scrape,
    series,
    stopping,
    until,
)

pytestmark = pytest.mark.timeout(120)

FEEDS = 8
PARTITIONS = 8
#: Not figures of the halls: this machine's wall clock, the reference's own data dir,
#: and the shards' own family.
EXCLUDED = ("hall_feed_lag_seconds", "hall_storage_", "hall_partition_owned")


def figures(s: Series) -> Series:
    return {k: v for k, v in s.items() if not k[0].startswith(EXCLUDED)}


async def test_shards_take_over_and_add_up_to_one_process(tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "nats") as cluster, stopping([]) as procs:
        nats = ["--nats", cluster.nats_arg, "--partitions", str(PARTITIONS),
                "--lease-seconds", "2"]  # fmt: skip
        shards, ports = [], []
        for k in range(3):
            ports.append(free_port())
            shards.append(python(
                "serve", *nats, "--checkpoint-minutes", "0.02",
                "--metrics-port", str(ports[-1]), "--log-file", str(tmp_path / f"shard{k}.log"),
            ))  # fmt: skip
        procs += shards

        async def all_partitions_owned() -> bool:
            texts = [scrape(p) for p in ports]
            return None not in texts and sorted(p for t in texts for p in owned(t or "")) == list(
                range(PARTITIONS)
            )

        await until(all_partitions_owned, 30, "the shards share the partitions")

        # The feeds' days start once the gateway and the reference both listen to every
        # feed: a heartbeat is an hour of hall time here, and one joining a feed later in
        # its quiet evening would see its clock leap differently (tests.province.demo_feeds).
        proc, urls = demo_feeds(FEEDS, 2, "3600", "2025-11-24", "3")
        procs.append(proc)
        feeds = [arg for i, url in enumerate(urls) for arg in ("--feed", f"f{i}={url}")]
        procs.append(python(
            "gateway", *feeds, *nats, "--data-dir", str(key_dir(tmp_path / "gateway")),
            "--log-file", str(tmp_path / "gateway.log"),
        ))  # fmt: skip
        reference_port = free_port()
        procs.append(python(
            "serve", *feeds, "--data-dir", str(key_dir(tmp_path / "reference")),
            "--metrics-port", str(reference_port), "--log-file", str(tmp_path / "reference.log"),
        ))  # fmt: skip

        # 11:00 on the busiest shard's halls (the moment: the morning peak): it dies.
        eleven = dt.datetime(2025, 11, 24, 11, tzinfo=HALL_TZ).timestamp()

        async def busiest_at_eleven() -> int | None:
            found = await busiest_at(ports, eleven)
            return None if found is None else found + 1  # (0 would read as "not yet")

        victim = await until(busiest_at_eleven, 60, "11:00 on the busiest shard") - 1
        kill9(shards[victim])
        survivors = [p for k, p in enumerate(ports) if k != victim]

        # The survivors hold every partition once, and add up to the single process.
        last_diff: list[object] = []

        async def one_process() -> bool:
            texts = [scrape(p) for p in survivors]
            reference = scrape(reference_port)
            if None in texts or reference is None:
                return False
            held = [owned(t or "") for t in texts]
            if sorted(p for h in held for p in h) != list(range(PARTITIONS)):
                return False
            union: Series = {}
            for t in texts:
                union.update(series(t or ""))
            want, got = figures(series(reference)), figures(union)
            last_diff[:] = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
            return bool(want) and want == got

        try:
            await until(one_process, 60, "the shards add up to one process")
        except AssertionError:
            raise AssertionError(f"{len(last_diff)} series differ, e.g. {last_diff[:5]}") from None

        # Alerts exactly once: the alerts stream, folded, is what the shards show open, and
        # no alert fires again while it is open (a takeover re-derives what the dead owner
        # sent; the stream drops those by their ids).
        union: Series = {}
        for p in survivors:
            union.update(series(scrape(p) or ""))
        showing = {
            (dict(labels)["hall"], dict(labels)["rule"], dict(labels)["severity"]): int(v)
            for (name, labels), v in union.items()
            if name == "hall_alerts_active" and dict(labels)["rule"] != "feed_stalled" and v
        }
        transitions = await alert_transitions(cluster.urls)
        assert transitions, "no alert transition published"
        is_open: dict[tuple[str, str, str], bool] = {}
        for t in transitions:
            key = (t.rule, t.hall, t.scope)
            if t.what.startswith("fired"):
                assert not is_open.get(key), f"fired twice while open: {t}"
            is_open[key] = t.state in OPEN_STATES
        folded = {k: n for k, n in fold(transitions).items() if k[1] != "feed_stalled"}
        assert folded == showing

    # The dead shard's partitions were restored from their checkpoints, not replayed whole.
    lines = [json.loads(line) for k in range(3) if k != victim
             for line in (tmp_path / f"shard{k}.log").read_text().splitlines()]  # fmt: skip
    restored = [e for e in lines if e["event"] == "partition_restored"]
    assert restored, "no partition was taken over from a checkpoint"
