"""``hallwatch gateway`` on a three-node JetStream cluster: two gateways on one demo feed;
the active one is killed (-9), then the node leading the stream: the feed's seqs in the
stream still run 1..last, each once, in order, and no raw ID is in it."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import nats.js.errors
import pytest

from feeds.protocol import CaseSubmitted, TicketIssued
from province.cluster import TRANSIENT, connect
from province.local import LocalCluster
from province.reader import StreamReader
from province.wire import LEASES, STREAM, Mark, decode, subject
from tests.province.procs import demo_feed, feed_last_seq, key_dir, kill9, python, stopping, until

pytestmark = pytest.mark.timeout(90)
ID_NUMBER = re.compile(rb"(?<![0-9a-f])[0-9]{17}[0-9X](?![0-9a-f])")


async def test_failover_keeps_every_seq_once(tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "nats") as cluster, stopping([]) as procs:
        feed, url = demo_feed("--speed", "max", "--date", "2025-11-24", "--seed", "3")
        procs.append(feed)
        gateways = {}
        for name in ("a", "b"):
            gateways[name] = python(
                "gateway", "--feed", f"demo={url}", "--nats", cluster.nats_arg,
                "--partitions", "8", "--lease-seconds", "2", "--max-events", "3",
                "--data-dir", str(key_dir(tmp_path / f"gw-{name}")),
                "--log-file", str(tmp_path / f"gw-{name}.log"),
            )  # fmt: skip
            procs.append(gateways[name])
        nc = await connect(cluster.urls, "test")
        try:
            js = nc.jetstream(timeout=2)
            subj = subject("demo", 8)

            async def published() -> int | None:
                try:
                    msg = await js.get_last_msg(STREAM, subj)
                except (*TRANSIENT, nats.js.errors.APIError):
                    return None
                return Mark.of(msg.headers).seq

            async def active_pid() -> int | None:
                try:
                    kv = await js.key_value(LEASES)
                    entry = await kv.get("gw.demo")
                except (*TRANSIENT, nats.js.errors.Error):
                    return None
                return int(json.loads(entry.value or b"{}")["owner"].rsplit(":", 1)[1])

            # The active gateway dies a fifth of the way in (the day has ~14 700 events; three
            # a message keeps it publishing for several seconds).
            await until(lambda: _at_least(published, 3000), 30, "first fifth published")
            pid = await until(active_pid, 10, "the active gateway")
            first = next(p for p in gateways.values() if p.pid == pid)
            second = next(p for p in gateways.values() if p.pid != pid)
            at_kill = await published()
            kill9(first)
            # The other takes over and goes on; then the node leading the stream dies.
            assert at_kill is not None
            await until(lambda: _at_least(published, at_kill + 1000), 30, "the standby goes on")
            assert await active_pid() == second.pid
            leader = (await js.stream_info(STREAM)).cluster.leader
            cluster.kill(cluster.node_of(leader))

            async def everything() -> int | None:
                last = await feed_last_seq(url)  # (the demo has sent its whole day by now)
                return last if await _at_least(published, last) else None

            last = await until(everything, 60, "everything published")
            assert last > 10_000

            reader = StreamReader(js, subj)
            info = await js.stream_info(STREAM)
            end = info.state.last_seq
            seqs: list[int] = []
            marks: list[Mark] = []
            async for batch in reader.batches():
                for msg in batch:
                    assert not ID_NUMBER.search(msg.data), "a raw ID number in the stream"
                    marks.append(Mark.of(msg.headers))
                    carried = decode(msg.data)
                    seqs += [ev.seq for ev in carried.events if ev.seq is not None]
                    for ev in carried.events:
                        if isinstance(ev, TicketIssued | CaseSubmitted) and ev.person:
                            assert ev.person.startswith("p-"), ev.person
                if reader.last >= end:
                    break
        finally:
            await nc.close()
        assert seqs == list(range(1, last + 1))
        # Each message follows the one before it: the headers say so too.
        for before, after in itertools.pairwise(marks):
            assert after.prev == before.seq and after.epoch == before.epoch == 0
        assert "gateway_active" in (tmp_path / f"gw-{_name(gateways, second)}.log").read_text()


async def _at_least(published, value: int) -> bool:  # type: ignore[no-untyped-def]
    got = await published()
    return got is not None and got >= value


def _name(gateways: dict, proc) -> str:  # type: ignore[no-untyped-def,type-arg]
    return next(n for n, p in gateways.items() if p is proc)
