"""What a shard adds to /metrics (docs/metrics.md, "Province shards"), and its body.

Imports: metrics (exposition, promtext, snapshot), feeds.source; never nats (the metrics
docs test renders it without a cluster).
"""

from __future__ import annotations

from metrics.exposition import render
from metrics.promtext import Text
from metrics.snapshot import CitySnapshot


def partition_families(partitions: int, owned: frozenset[int]) -> bytes:
    """``hall_partition_owned``: 1 for each partition this shard runs, 0 for the rest."""
    text = Text()
    text.family(
        "hall_partition_owned",
        "gauge",
        "1 for each partition of the stream this shard runs (holds the lease of); summed "
        "over the shards, 1 for every partition.",
    )
    for p in range(partitions):
        text.sample("hall_partition_owned", f'partition="{p}"', 1.0 if p in owned else 0.0)
    return bytes(text)


def shard_body(city: CitySnapshot, partitions: int, owned: frozenset[int]) -> bytes:
    """A shard's /metrics: its halls' families, then its partitions'."""
    return render(city) + partition_families(partitions, owned)
