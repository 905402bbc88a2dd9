"""``hallwatch serve --nats``: a shard. The shards of a province share the stream's
partitions through leases and take over each other's when one dies.

Each shard holds a presence lease (``shard.<id>``) and, for every partition it runs, the
partition's lease (``part.<n>``), each renewed every third of the lease TTL by a task of
its own (``province.lease``). About as often, the shard looks at how many shards are
present and aims at its fair share, ceil(partitions / shards): under it, it takes free
partitions (``create``: only one shard can), in an order of its own (rendezvous hashing:
each shard prefers other partitions, so they rarely contend); over it — a shard has
joined — it gives back the ones it prefers least, cleanly: checkpoint, then release,
so the next owner replays nothing. A dead shard's leases lapse after the TTL and the
others take its partitions: each restores the partition's latest checkpoint and
replays the stream after it (``province.partition``). A shard that could not renew a
lease in time stops that partition at once, without a checkpoint.

A new shard waits one TTL after announcing itself before it takes anything, so that the
shards already there count it and make room instead of racing it.

With the NATS connection (``nc``), the shard serves the consoles its partitions' halls:
summaries, whole views, operators' commands (``province.consoles``), each hall under its
place in the province (``places``, from the config: ``province.places``).

/metrics: the halls, feeds and alerts of the partitions this shard runs (their views
merged: each hall and feed lives in one partition) plus ``hall_partition_owned``, one
series per partition, 1 for the ones this shard runs: summed over the shards it is 1
for every partition. No label names the shard; Prometheus adds ``instance``.

Imports: alerts.outbound, metrics.snapshot, feeds.source, runtime.pipeline, province
(cluster, consoles, exposition, lease, partition, places, wire), nats, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from alerts.outbound import Outbound
from feeds.source import FeedSnapshot
from metrics.snapshot import CitySnapshot, HallSnapshot
from province.cluster import TRANSIENT, Layout
from province.consoles import ShardConsoles
from province.exposition import shard_body
from province.lease import Lease
from province.partition import Partition
from province.places import Places
from province.wire import LEASES
from runtime.pipeline import Pipeline

log = structlog.get_logger("hallwatch.shard")

#: How often the shard merges its partitions' views for /metrics.
PUBLISH_S: Final = 0.25
#: A partition given back cleanly gets this long to checkpoint.
RELEASE_S: Final = 30.0
EMPTY: Final = CitySnapshot({}, ())


@dataclass
class Running:
    """A partition this shard holds: its pipeline, its lease and their tasks."""

    partition: Partition
    lease: Lease
    task: asyncio.Task[None]
    keeper: asyncio.Task[None]
    taken_wall: float


class Shard:
    """One shard: the partitions it holds and their merged view."""

    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        store: ObjectStore,
        layout: Layout,
        *,
        pipeline: Callable[[], Pipeline],
        config_digest: str,
        owner: str,
        checkpoint_every_s: float = 600.0,
        outbound: Outbound | None = None,
        nc: Client | None = None,
        places: Places | None = None,
    ) -> None:
        self.js = js
        self.consoles = (
            ShardConsoles(nc, js, places or Places(), self.partitions) if nc is not None else None
        )
        """The consoles' side (summaries out, hall views and commands in), with ``nc``."""
        self.outbound = outbound
        """Alertmanager peers the partitions notify (``[outbound]``), or None."""
        self.kv = kv
        self.store = store
        self.layout = layout
        self.make_pipeline = pipeline
        self.config_digest = config_digest
        self.owner = owner
        self.key = re.sub(r"[^A-Za-z0-9_-]", "-", owner)
        self.checkpoint_every_s = checkpoint_every_s
        self.presence = Lease(kv, f"shard.{self.key}", owner, layout.lease_s)
        self.running: dict[int, Running] = {}
        self.shards = 1
        """Shards present at the last look."""
        self.city: CitySnapshot = EMPTY
        """The merged view of the partitions run (read by the /metrics thread)."""
        self.owned: frozenset[int] = frozenset()
        self._merged: tuple[object, ...] = ()

    @property
    def ttl(self) -> float:
        return self.layout.lease_s

    def preference(self) -> list[int]:
        """Every partition, the ones this shard prefers first (rendezvous hashing)."""
        return sorted(
            range(self.layout.partitions),
            key=lambda p: zlib.crc32(f"{self.key}/{p}".encode()),
            reverse=True,
        )

    # --- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Join, then keep a fair share of the partitions, until cancelled (then every
        partition is checkpointed and given back)."""
        publisher = asyncio.create_task(self._publisher())
        consoles = asyncio.create_task(self.consoles.run()) if self.consoles else None
        try:
            while not await self.presence.take():
                await asyncio.sleep(self.ttl / 3)
            log.info("shard_joined", shard=self.key, partitions=self.layout.partitions)
            await asyncio.sleep(self.ttl)  # let the shards already there count us
            while True:
                await self.balance()
                await asyncio.sleep(self.ttl / 3)
        finally:
            publisher.cancel()
            if consoles is not None:
                consoles.cancel()
            await asyncio.shield(self._leave())

    async def balance(self) -> None:
        """One look: renew the presence, count the shards, take or give back."""
        if not await self.presence.renew():
            await self.presence.take()
        for number, running in list(self.running.items()):
            if running.task.done():  # it failed (a stop goes through give_back)
                error = None if running.task.cancelled() else running.task.exception()
                log.error("partition_failed", partition=number, error=repr(error)[:300])
                await self.give_back(number)
        self.shards = await self._count_shards()
        fair = math.ceil(self.layout.partitions / max(1, self.shards))
        mine = len(self.running)
        if mine > fair:
            ranked = [p for p in self.preference() if p in self.running]
            for number in ranked[fair:][::-1]:
                log.info("partition_rebalanced", partition=number, shards=self.shards)
                await self.give_back(number)
        elif mine < fair:
            for number in self.preference():
                if len(self.running) >= fair:
                    break
                if number in self.running:
                    continue
                lease = Lease(self.kv, f"part.{number}", self.owner, self.ttl)
                if await lease.take():
                    self._start(number, lease)

    async def _count_shards(self) -> int:
        """Shards whose presence key is in the bucket (a dead one's lapses with its TTL)."""
        try:
            info = await self.js.stream_info(
                f"KV_{LEASES}", subjects_filter=f"$KV.{LEASES}.shard.>"
            )
        except (*TRANSIENT, nats.js.errors.APIError):
            return self.shards
        return max(1, len(info.state.subjects or {}))

    def _start(self, number: int, lease: Lease) -> None:
        partition = Partition(
            number,
            self.make_pipeline,
            js=self.js,
            store=self.store,
            partitions=self.layout.partitions,
            config_digest=self.config_digest,
            checkpoint_every_s=self.checkpoint_every_s,
            outbound=self.outbound,
        )
        task = asyncio.create_task(self._run_partition(partition))
        keeper = asyncio.create_task(self._keep(number, lease))
        self.running[number] = Running(partition, lease, task, keeper, time.time())
        self.owned = frozenset(self.running)
        log.info("partition_taken", partition=number, shard=self.key)

    async def _run_partition(self, partition: Partition) -> None:
        started = time.monotonic()
        await partition.restore()
        partition.on_caught_up = lambda replayed: log.info(
            "partition_caught_up",
            partition=partition.number,
            replayed=replayed,
            restored_from=partition.restored_from,
            seconds=round(time.monotonic() - started, 3),
        )
        await partition.run()

    async def _keep(self, number: int, lease: Lease) -> None:
        """Renew a partition's lease; when it is lost, stop the partition at once."""
        await lease.keep()
        running = self.running.get(number)
        if running is not None and running.lease is lease:
            log.warning("partition_lost", partition=number, shard=self.key)
            self._forget(number)
            running.task.cancel()

    def partitions(self) -> dict[int, Partition]:
        """The partitions this shard runs now."""
        return {n: r.partition for n, r in self.running.items()}

    def _forget(self, number: int) -> None:
        self.running.pop(number, None)
        self.owned = frozenset(self.running)

    async def give_back(self, number: int) -> None:
        """Checkpoint the partition, stop it and release its lease."""
        running = self.running.get(number)
        if running is None:
            return
        running.partition.stop()
        try:
            await asyncio.wait_for(asyncio.shield(running.task), RELEASE_S)
        except (TimeoutError, asyncio.CancelledError):
            running.task.cancel()
        except Exception as error:  # a partition that failed: given back all the same
            log.error("partition_failed", partition=number, error=repr(error)[:300])
        self._forget(number)
        running.keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running.keeper
        await running.lease.release()
        outbox = running.partition.outbox
        log.info("partition_given_back", partition=number, shard=self.key,
                 alerts_sent=outbox.sent, alerts_duplicate=outbox.duplicates)  # fmt: skip

    async def _leave(self) -> None:
        await asyncio.gather(*(self.give_back(n) for n in list(self.running)))
        await self.presence.release()
        log.info("shard_left", shard=self.key)

    # --- the view ---------------------------------------------------------------------------

    async def _publisher(self) -> None:
        """Merge the partitions' views when one changed (one reference swap)."""
        while True:
            self.publish()
            await asyncio.sleep(PUBLISH_S)

    def publish(self) -> CitySnapshot:
        views = [(n, r.partition.pipeline.view) for n, r in sorted(self.running.items())]
        identity = (self.owned, *(id(v) for _, v in views))
        if identity != self._merged:
            self._merged = identity
            self.city = merge([v.city for _, v in views])
        return self.city

    def metrics(self, city: CitySnapshot) -> bytes:
        """The /metrics body: the halls' families and the partitions'."""
        return shard_body(city, self.layout.partitions, self.owned)


def merge(cities: list[CitySnapshot]) -> CitySnapshot:
    """One snapshot of several partitions' (each hall and feed is in one of them)."""
    if len(cities) == 1:
        return cities[0]
    halls: dict[str, HallSnapshot] = {}
    alerts: dict[tuple[str, str, str], int] = {}
    shed: dict[str, int] = {}
    feeds: list[FeedSnapshot] = []
    for city in cities:
        halls.update(city.halls)
        alerts.update(city.alerts_active)
        shed.update(city.alerts_shed)
        feeds.extend(city.feeds)
    return CitySnapshot(
        halls=dict(sorted(halls.items())),
        feeds=tuple(sorted(feeds, key=lambda f: f.name)),
        alerts_active=alerts,
        alerts_shed=shed,
    )
