"""How a hall feed travels on the stream: its subject, its messages, their headers.

One subject per feed, ``hw.ev.<partition>.<feed>``, the partition a stable hash of the
feed's name (CRC-32, the same in every process and release) modulo the stream's fixed
number of partitions. A message carries what one decoded batch of the feed held: its
events (``person`` already pseudonymized by the gateway's decoder: no raw ID is ever
published), its rejections and its gaps, msgpack-encoded with the protocol's own
Structs. Its headers say where it sits in the feed:

- ``Hw-Epoch``: the feed's run, counted by the gateways: it goes up by one each time the
  hall feed's seqs restart (a vendor restart, a new service day; docs/protocol-notes.md);
- ``Hw-Prev`` / ``Hw-Seq``: the feed's last seq before this message and after it, so a
  reader checks that each message follows the one before (``Hw-Prev`` is the previous
  message's ``Hw-Seq``, or 0 at a new epoch);
- ``Hw-Wall``: the gateway's wall time when the batch arrived (latency, feed health);
- ``Nats-Msg-Id``: the feed, the epoch and the seqs covered: a re-publish of the same
  message (a lost ack) is a duplicate the stream drops;
- ``Nats-Expected-Last-Subject-Sequence``: the stream sequence of the subject's last
  message as the gateway knows it: a second writer on the feed is refused.

Imports: feeds.protocol, feeds.decode (Rejection), msgspec, the standard library.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Final

import msgspec

from feeds.decode import Rejection
from feeds.protocol import Event

STREAM: Final = "HALLWATCH_EVENTS"
"""The stream of every hall feed."""
SUBJECTS: Final = "hw.ev.>"
LEASES: Final = "hallwatch_leases"
"""KV bucket of the gateways' and shards' leases (bucket-wide TTL)."""
CHECKPOINTS: Final = "hallwatch_checkpoints"
"""Object store of the partitions' checkpoints."""
PARTITIONS_KEY: Final = "hallwatch_partitions"
"""Stream metadata: the number of partitions, fixed when the stream is made."""

H_EPOCH: Final = "Hw-Epoch"
H_PREV: Final = "Hw-Prev"
H_SEQ: Final = "Hw-Seq"
H_WALL: Final = "Hw-Wall"
H_FEED: Final = "Hw-Feed"
MSG_ID: Final = "Nats-Msg-Id"
EXPECTED_LAST: Final = "Nats-Expected-Last-Subject-Sequence"

#: A feed's name is one subject token: letters, digits, ``_`` and ``-``.
FEED_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_feed_name(name: str) -> str:
    """``name`` if it can be a subject token, else ValueError saying what to do."""
    if not FEED_NAME.fullmatch(name):
        raise ValueError(
            f"feed name {name!r}: on the stream a feed is named by 1-64 letters, digits, "
            "'_' or '-' (give --feed NAME=URL)"
        )
    return name


def partition_of(feed: str, partitions: int) -> int:
    """The partition of ``feed``: stable across processes, machines and releases."""
    return zlib.crc32(feed.encode()) % partitions


def subject(feed: str, partitions: int) -> str:
    """The subject ``feed`` is published on."""
    return f"hw.ev.{partition_of(feed, partitions)}.{feed}"


def partition_filter(partition: int) -> str:
    """The subjects of every feed of ``partition``."""
    return f"hw.ev.{partition}.*"


OPS_SUBJECTS: Final = "hw.op.>"
"""Operators' commands (``province.commands``), in the same stream as the feeds: one
subject per partition, read by the partition with its feeds, in stream order."""


def ops_subject(partition: int) -> str:
    """The subject of the operators' commands to the halls of ``partition``."""
    return f"hw.op.{partition}"


def feed_of(subject_name: str) -> str:
    """The feed a subject carries."""
    return subject_name.rsplit(".", 1)[-1]


class Carried(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    """One message's body: a decoded batch of a feed."""

    events: list[Event]
    """Kept events in seq order, heartbeats included (pseudonymized)."""
    rejected: list[tuple[str, str, int | None, int | None]] = []
    """Rejections: (reason, detail, index in frame, seq) — ``feeds.decode.Rejection``."""
    gaps: int = 0
    """Seqs known lost with this batch."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Carried)


def encode(events: list[Event], rejections: list[Rejection], gaps: int) -> bytes:
    """A message body."""
    rejected = [(r.reason, r.detail, r.index, r.seq) for r in rejections]
    return _encoder.encode(Carried(events, rejected, gaps))


def decode(body: bytes) -> Carried:
    """A message body back (msgspec validates every event as the feed decoder does).

    Raises:
        msgspec.DecodeError: not a body of this format.
    """
    return _decoder.decode(body)


def rejections(carried: Carried) -> list[Rejection]:
    return [Rejection(*r) for r in carried.rejected]


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a message leaves its feed: the epoch and the last seq covered."""

    epoch: int
    seq: int
    prev: int
    wall: float

    @classmethod
    def of(cls, headers: dict[str, str] | None) -> Mark:
        """The mark in a message's headers.

        Raises:
            ValueError: a header is missing or not a number.
        """
        h = headers or {}
        try:
            return cls(int(h[H_EPOCH]), int(h[H_SEQ]), int(h[H_PREV]), float(h[H_WALL]))
        except (KeyError, ValueError) as error:
            raise ValueError(f"not a hallwatch feed message: {error}") from None

    def headers(self, feed: str, expected_last: int, msg_id: str) -> dict[str, str]:
        return {
            H_FEED: feed,
            H_EPOCH: str(self.epoch),
            H_PREV: str(self.prev),
            H_SEQ: str(self.seq),
            H_WALL: f"{self.wall:.6f}",
            MSG_ID: msg_id,
            EXPECTED_LAST: str(expected_last),
        }
