"""Province scale: hall feeds on a NATS JetStream cluster (docs/scale.md).

``wire`` says how a feed's batches look on the stream; ``cluster`` connects and makes the
stream, the lease bucket and the checkpoint store; ``lease`` holds a key of the lease
bucket; ``gateway`` publishes hall feeds into the stream; ``reader`` reads it in order
through node failures; ``partition`` runs one partition's pipeline from it, with its
``checkpoint`` (and ``alertbook``) in the object store and its alert transitions through
the ``outbox`` into the alerts stream; ``shard`` shares the partitions among the shards
and serves their /metrics (``exposition``); ``local`` starts nats-server processes on
loopback (tests, ``demo``: ``make cluster-demo``).

Sits above runtime and below cli (import-linter contract in pyproject.toml). Everything
but ``wire``, ``exposition`` and ``local`` needs nats-py (the ``cluster`` extra).
"""
