"""Province scale: hall feeds on a NATS JetStream cluster (docs/scale.md).

``wire`` says how a feed's batches look on the stream; ``cluster`` connects and makes the
stream, the lease bucket and the checkpoint store; ``lease`` holds a key of the lease
bucket; ``gateway`` publishes hall feeds into the stream; ``reader`` reads it in order
through node failures; ``partition`` runs one partition's pipeline from it, with its
``checkpoint`` (and ``alertbook``) in the object store and its alert transitions through
the ``outbox`` into the alerts stream, and from there to every Alertmanager peer
(``alertmanager``) and into each node's alert store (``readmodel``); ``shard`` shares the
partitions among the shards and serves their /metrics (``exposition``) and, to the
consoles (``consoles``), its halls by ``places`` in the province: their ``views``, and the
operators' ``commands`` it appends to the stream for the partitions to carry out; a
console follows what its credentials (``access``) let it see (``watch``); ``archive``
turns days of the stream into journal files; ``local`` starts nats-server processes on loopback
(tests, ``demo``: ``make cluster-demo``).

Sits above runtime and below cli (import-linter contract in pyproject.toml). Everything
but ``wire``, ``exposition``, ``local``, ``places``, ``access`` and ``views`` needs nats-py (the
``cluster`` extra).
"""
