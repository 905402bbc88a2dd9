"""A partition's checkpoint in the cluster's object store: the state of its pipeline
(``Pipeline.checkpoint_state``: the halls, the rules' memory, the alert book's transient
part, the feeds' counters) and the stream position it holds exactly, so a new owner
restores it and replays the stream after that position only.

The bytes: a magic line, the length and msgpack of a ``Head`` (format, partition, the
stream sequence of the last message applied, each feed's place, the digests of the code
and configuration it was made with, the parts' lengths), then three sealed parts: the
pipeline's (``Saved``, as in a state snapshot: ``runtime.snapshot``), the alert book's
(``province.alertbook``: a shard has no alert store to keep it) and the halls'
(``CityState.checkpoint``). Nothing in them runs code when read (``metrics.codec``); the
object store checks their SHA-256 on the way back. One object per partition
(``partition-<n>``), replaced at each save: a kill while saving leaves the previous one.

A checkpoint made by other code or another configuration is not used (as a state
snapshot is not): the new owner replays what the stream keeps instead, logged.

Imports: metrics.codec (sealed parts), runtime.snapshot (Saved, digests), province
(cluster, wire), nats, msgspec, structlog.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import msgspec
import nats.js.errors
import structlog
from nats.js.object_store import ObjectStore

from metrics.codec import CheckpointError, sealed, unsealed
from province.cluster import TRANSIENT
from runtime.snapshot import Saved, code_digest

log = structlog.get_logger("hallwatch.checkpoint")

MAGIC: Final = b"hallwatch-partition\n"
FORMAT: Final = 1
_PIPELINE: Final = b"part"
_BOOK: Final = b"book"


class FeedPlace(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    """Where a feed stands in a checkpoint."""

    epoch: int
    seq: int
    """The feed's last seq applied (``hall_feed_last_seq``)."""
    halls: tuple[str, ...] = ()
    """The halls its events named."""


class Head(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    partition: int
    partitions: int
    stream_seq: int
    """The stream sequence of the last message applied."""
    code: str
    config: str
    saved_wall: float
    feeds: dict[str, FeedPlace]
    parts: list[int]


_HEAD: Final = msgspec.msgpack.Decoder(Head)
_SAVED: Final = msgspec.msgpack.Decoder(Saved)


def name(partition: int) -> str:
    """The object of ``partition``'s checkpoint."""
    return f"partition-{partition}"


def encode(head: Head, state: dict[str, Any], book: bytes) -> bytes:
    """The checkpoint's bytes (``state`` as ``Pipeline.checkpoint_state`` gives it, its
    halls' chunks taken before the state changes: call this between two batches; ``book``
    from ``province.alertbook.save``)."""
    own = Saved(**{k: v for k, v in state.items() if k != "halls"})
    pipeline = b"".join(sealed(_PIPELINE, [msgspec.msgpack.encode(own)]))
    alerts = b"".join(sealed(_BOOK, [book]))
    halls = b"".join(state["halls"])
    head = msgspec.structs.replace(head, parts=[len(pipeline), len(alerts), len(halls)])
    head_bytes = msgspec.msgpack.encode(head)
    return b"".join(
        (MAGIC, len(head_bytes).to_bytes(4, "big"), head_bytes, pipeline, alerts, halls)
    )


def decode(data: bytes) -> tuple[Head, dict[str, Any], memoryview]:
    """The head, the state (what ``Pipeline.restore_state`` takes) and the book's part.

    Raises:
        CheckpointError: not a checkpoint of this format, or damaged.
    """
    view = memoryview(data)
    if not data.startswith(MAGIC):
        raise CheckpointError("not a partition checkpoint")
    at = len(MAGIC)
    size = int.from_bytes(view[at : at + 4], "big")
    try:
        head = _HEAD.decode(view[at + 4 : at + 4 + size])
    except msgspec.DecodeError as error:
        raise CheckpointError(f"undecodable head: {error}") from None
    if head.format != FORMAT:
        raise CheckpointError(f"format {head.format}, not {FORMAT}")
    at += 4 + size
    if len(head.parts) != 3 or at + sum(head.parts) != len(data):
        raise CheckpointError("damaged (its parts do not add up)")
    pipe_end = at + head.parts[0]
    book_end = pipe_end + head.parts[1]
    try:
        own = _SAVED.decode(unsealed(_PIPELINE, view[at:pipe_end]))
    except msgspec.DecodeError as error:
        raise CheckpointError(f"undecodable: {error}") from None
    book = unsealed(_BOOK, view[pipe_end:book_end])
    return head, {"halls": view[book_end:], **msgspec.structs.asdict(own)}, book


def refused(head: Head, partition: int, partitions: int, config: str) -> str | None:
    """Why a checkpoint is not for this code, configuration and partition."""
    if head.partition != partition or head.partitions != partitions:
        return f"made for partition {head.partition} of {head.partitions}"
    if head.code != code_digest():
        return "made by other code"
    if head.config != config:
        return "made with another configuration"
    return None


async def load(
    store: ObjectStore, partition: int, partitions: int, config: str, *, wait_s: float = 30.0
) -> tuple[Head, dict[str, Any], memoryview] | None:
    """The partition's checkpoint, or None (none yet, or not usable: logged why).
    Retried while the cluster does not answer, up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            async with asyncio.timeout(10):  # (not wait_for: it can swallow a cancel)
                result = await store.get(name(partition))
            break
        except nats.js.errors.NotFoundError:  # (none saved yet, or deleted)
            return None
        except (*TRANSIENT, nats.js.errors.APIError) as error:
            if time.monotonic() > deadline:
                log.error("checkpoint_unreadable", partition=partition, error=repr(error))
                return None
            await asyncio.sleep(0.25)
    data = result.data or b""
    try:
        head, state, book = decode(data)
    except CheckpointError as error:
        log.warning("checkpoint_skipped", partition=partition, why=str(error))
        return None
    why = refused(head, partition, partitions, config)
    if why is not None:
        log.warning("checkpoint_skipped", partition=partition, why=why)
        return None
    return head, state, book


async def save(store: ObjectStore, partition: int, data: bytes) -> bool:
    """Put the checkpoint (replacing the previous one); False if the cluster would not
    take it (logged; the next one will try again)."""
    try:
        async with asyncio.timeout(30):  # (not wait_for: it can swallow a cancel)
            await store.put(name(partition), data)
    except (*TRANSIENT, nats.js.errors.Error) as error:
        log.warning("checkpoint_not_saved", partition=partition, error=repr(error)[:200])
        return False
    return True
