"""The NATS side every province process shares: connecting to the cluster, and the
stream, the lease bucket and the checkpoint store, made on first use.

The stream keeps every hall feed and the operators' commands (``province.wire``,
``province.commands``): file storage, replicas 3 on a cluster of three or more nodes
(as many as there are below that), a de-duplication window for ``Nats-Msg-Id``, direct
gets off, kept 45 days (the 30-day second-trip rule looks back 30 days, and a day or two
of takeovers and late archives on top; docs/scale.md) and refusing deletes and purges
(``deny_delete``, ``deny_purge``: a message is gone only when it ages out, so no client
can cut a hole in a feed's sequence). A stream made before these settings gets them when
a process starts (``durable``). Durability on disk is the servers' part: each runs
with ``jetstream { sync_interval: always }`` (docs/scale.md; without it an acknowledged
write can be lost when nodes die together). The number of partitions is fixed in the
stream's metadata when the stream is made: a gateway or shard given another number is
refused, since every feed would then be read from the wrong partition.

The lease bucket has a bucket-wide TTL: a lease renewed with ``update`` keeps it (a
per-key TTL given at ``create`` is lost at the first ``update``; docs/scale.md). Its TTL is
set when the bucket is made; a process given another ``--lease-seconds`` says so and
uses the bucket's.

Imports: province.wire, nats, structlog, the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from province.wire import CHECKPOINTS, LEASES, OPS_SUBJECTS, PARTITIONS_KEY, STREAM, SUBJECTS

log = structlog.get_logger("hallwatch.cluster")
T = TypeVar("T")

#: How long the stream keeps a message: the second-trip rule's 30 days (docs/alerts.md)
#: and two weeks for the archiver to run late (issue 14: 45 days).
MAX_AGE_DAYS: Final = 45.0
#: Seconds within which the stream drops a re-published ``Nats-Msg-Id``.
DUPLICATE_WINDOW_S: Final = 120.0
#: A connection's same error is logged at most once this often (with a count).
ERROR_EVERY_S: Final = 30.0
#: Every JetStream request (publish, get, KV) gives up after this long; callers retry.
REQUEST_TIMEOUT_S: Final = 2.0
#: Errors of a cluster that is electing a leader, restarting or unreachable: retried.
TRANSIENT: Final = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.NoStreamResponseError,
    asyncio.TimeoutError,
    OSError,
)


class ClusterError(Exception):
    """The cluster's setup disagrees with this process (partitions), or it cannot be
    reached at start."""


@dataclass(frozen=True, slots=True)
class Layout:
    """What every process must agree on."""

    partitions: int
    """Fixed when the stream is made."""
    lease_s: float
    """The lease bucket's TTL."""
    replicas: int


async def connect(
    urls: Sequence[str],
    name: str,
    *,
    wait_s: float = 30.0,
    user: str | None = None,
    password: str | None = None,
    inbox_prefix: str = "_INBOX",
) -> Client:
    """A connection that reconnects forever (to any node of the cluster), with nats-py's
    own error printing replaced by log lines. The first connection is retried for
    ``wait_s`` (a cluster starting with us). ``user``/``password``: credentials not in the
    URLs; ``inbox_prefix``: where replies come (a console's own, ``province.access``).

    Raises:
        ClusterError: no node answered within ``wait_s``.
    """

    # While no node answers, nats-py reports every attempt (4 a second): the first of a
    # kind is logged, then one line per ERROR_EVERY_S with how many came meanwhile.
    said: dict[str, float] = {}
    held: dict[str, int] = {}

    async def error_cb(error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"[:200]
        now = time.monotonic()
        if now - said.get(text, -ERROR_EVERY_S) < ERROR_EVERY_S:
            held[text] = held.get(text, 0) + 1
            return
        said[text] = now
        log.info("nats_error", error=text, repeated=held.pop(text, 0))

    async def disconnected_cb() -> None:
        log.info("nats_disconnected")

    async def reconnected_cb() -> None:
        said.clear()
        held.clear()
        log.info(
            "nats_reconnected", server=str(nc.connected_url.netloc if nc.connected_url else "")
        )

    deadline = time.monotonic() + wait_s
    while True:
        nc = Client()
        try:
            await nc.connect(
                servers=list(urls),
                name=name,
                error_cb=error_cb,
                disconnected_cb=disconnected_cb,
                reconnected_cb=reconnected_cb,
                connect_timeout=2,
                reconnect_time_wait=0.25,  # type: ignore[arg-type]  # (seconds, a float)
                max_reconnect_attempts=-1,
                ping_interval=5,
                max_outstanding_pings=2,
                allow_reconnect=True,
                user=user,
                password=password,
                inbox_prefix=inbox_prefix,
            )
            return nc
        except (nats.errors.NoServersError, *TRANSIENT) as error:
            with contextlib.suppress(Exception):
                await nc.close()
            if time.monotonic() > deadline:
                raise ClusterError(f"no NATS server answered at {', '.join(urls)}") from error
            await asyncio.sleep(0.25)


def cluster_size(nc: Client) -> int:
    """Nodes of the cluster this connection knows of (given and gossiped)."""
    return max(1, len({s.netloc for s in nc.servers}))


async def retrying(what: str, attempt: Callable[[], Awaitable[T]], *, wait_s: float = 30.0) -> T:
    """Await ``attempt()`` until it succeeds or ``wait_s`` is spent on transient errors
    (a cluster electing its meta leader at start)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await attempt()
        except (*TRANSIENT, nats.js.errors.APIError) as error:
            if time.monotonic() > deadline or (
                isinstance(error, nats.js.errors.APIError) and not _transient_api(error)
            ):
                raise
            log.info("cluster_not_ready", what=what, error=f"{type(error).__name__}")
            await asyncio.sleep(0.2)


def _transient_api(error: nats.js.errors.APIError) -> bool:
    # 503 / 10008 (no JetStream leader), 500 "no suitable peers", timeouts of raft.
    return error.code in (500, 503) or error.err_code in (10008, 10023)


async def setup(
    nc: Client,
    *,
    partitions: int | None,
    lease_s: float,
    replicas: int | None = None,
    max_age_days: float = MAX_AGE_DAYS,
) -> tuple[JetStreamContext, Layout]:
    """The stream, the lease bucket and the checkpoint store, made if missing.

    Args:
        partitions: the number of partitions (None: whatever the stream says; a new
            stream then gets 32).
        lease_s: the lease bucket's TTL, if this process makes it.
        replicas: copies of each (None: 3, or fewer on a smaller cluster).
        max_age_days: how long the stream keeps a message.

    Raises:
        ClusterError: the stream has another number of partitions.
    """
    js = nc.jetstream(timeout=REQUEST_TIMEOUT_S)
    copies = replicas or min(3, cluster_size(nc))
    info = await _stream(js, partitions or 32, copies, max_age_days)
    fixed = int((info.config.metadata or {}).get(PARTITIONS_KEY, "0"))
    if not fixed:
        raise ClusterError(f"stream {STREAM} was not made by hallwatch (no partitions)")
    if partitions is not None and partitions != fixed:
        raise ClusterError(
            f"--partitions {partitions}: stream {STREAM} was made with {fixed} partitions "
            "(a feed's partition is fixed with it; give the same number, or none)"
        )
    kv = await leases(js, lease_s, copies)
    ttl = (await kv.status()).ttl or lease_s
    if abs(ttl - lease_s) > 1e-3:
        log.warning("lease_ttl_differs", asked_s=lease_s, bucket_s=ttl)
    await checkpoints(js, copies)
    return js, Layout(partitions=fixed, lease_s=ttl, replicas=info.config.num_replicas or copies)


async def _stream(
    js: JetStreamContext, partitions: int, replicas: int, max_age_days: float
) -> api.StreamInfo:
    async def attempt() -> api.StreamInfo:
        try:
            info = await js.stream_info(STREAM)
        except nats.js.errors.NotFoundError:
            pass
        else:
            config = info.config
            subjects = config.subjects or []
            wanted = durable(config, max_age_days * 86400)
            if OPS_SUBJECTS not in subjects:  # made before operators' commands: add them
                wanted = wanted or config
                wanted.subjects = [*subjects, OPS_SUBJECTS]
            if wanted is not None:
                info = await js.update_stream(wanted)
                log.info("stream_updated", stream=STREAM, max_age_days=max_age_days)
            return info
        config = api.StreamConfig(
            name=STREAM,
            description="hallwatch: every hall feed, one subject per feed, and the "
            "operators' commands, one subject per partition",
            subjects=[SUBJECTS, OPS_SUBJECTS],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            max_age=max_age_days * 86400,
            discard=api.DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
            allow_direct=False,
            deny_delete=True,
            deny_purge=True,
            metadata={PARTITIONS_KEY: str(partitions)},
        )
        try:
            return await js.add_stream(config)
        except nats.js.errors.BadRequestError:  # made by another process meanwhile
            return await js.stream_info(STREAM)

    return await retrying("stream", attempt)


def durable(config: api.StreamConfig, max_age_s: float) -> api.StreamConfig | None:
    """``config`` with deletes and purges refused and kept at least ``max_age_s``, or None
    if it already is (a stream made by an older hallwatch is updated, never loosened)."""
    if config.deny_delete and config.deny_purge and (config.max_age or 0) >= max_age_s:
        return None
    config.deny_delete = True
    config.deny_purge = True
    config.max_age = max(config.max_age or 0, max_age_s)
    return config


async def leases(js: JetStreamContext, ttl_s: float, replicas: int) -> KeyValue:
    """The lease bucket (made with ``ttl_s`` if missing)."""

    async def attempt() -> KeyValue:
        try:
            return await js.key_value(LEASES)
        except nats.js.errors.BucketNotFoundError:
            pass
        try:
            return await js.create_key_value(
                bucket=LEASES,
                description="hallwatch: who publishes each feed, who runs each partition",
                ttl=ttl_s,
                history=1,
                replicas=replicas,
                storage=api.StorageType.FILE,
            )
        except nats.js.errors.BadRequestError:
            return await js.key_value(LEASES)

    return await retrying("lease bucket", attempt)


async def checkpoints(js: JetStreamContext, replicas: int) -> ObjectStore:
    """The object store of the partitions' checkpoints (made if missing)."""

    async def attempt() -> ObjectStore:
        try:
            return await js.object_store(CHECKPOINTS)
        except nats.js.errors.BucketNotFoundError:
            pass
        try:
            return await js.create_object_store(
                CHECKPOINTS,
                description="hallwatch: each partition's latest checkpoint",
                replicas=replicas,
                storage=api.StorageType.FILE,
            )
        except nats.js.errors.BadRequestError:
            return await js.object_store(CHECKPOINTS)

    return await retrying("checkpoint store", attempt)
