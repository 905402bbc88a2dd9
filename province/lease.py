"""A lease: one key of the lease bucket, held by one process at a time.

Taken with ``create`` (fails while anyone holds it), renewed with ``update`` at the
revision this holder last wrote (fails once anyone else has taken it: a stale holder
learns it lost the lease at its next renewal), given back with ``delete`` at that
revision. It lapses by itself when nobody renews it for the bucket's TTL (the bucket-wide
``max_age``; docs/scale.md). The holder renews every third of the TTL and counts the
lease as lost once it could not renew for nine tenths of it, before anyone else can take
it: two holders never both think they hold it, unless a process stalls longer than that
between two checks — which is why every write the lease guards is fenced as well (the
stream's expected sequence for gateways; checkpoints carry their stream position).

Imports: province.cluster (transient errors), nats, the standard library.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Final

import nats.js.errors
from nats.js.kv import KeyValue

from province.cluster import TRANSIENT

#: Seconds a lease's give-back waits for the cluster (a KV request's own timeout is 2 s).
RELEASE_WAIT_S: Final = 0.5


class Lease:
    """One key of the lease bucket, as this process sees it."""

    def __init__(self, kv: KeyValue, key: str, owner: str, ttl_s: float) -> None:
        self.kv = kv
        self.key = key
        self.owner = owner
        self.ttl_s = ttl_s
        self.revision: int | None = None
        """The revision this process last wrote; None while not held."""
        self._renewed = 0.0
        """``time.monotonic()`` of the last write that succeeded (taken or renewed)."""

    @property
    def value(self) -> bytes:
        return json.dumps({"owner": self.owner}).encode()

    @property
    def held(self) -> bool:
        """Held, and renewed recently enough that nobody else can have taken it."""
        return self.revision is not None and time.monotonic() - self._renewed < 0.9 * self.ttl_s

    async def take(self) -> bool:
        """Take the lease if nobody holds it; True if this process now does."""
        started = time.monotonic()
        try:
            self.revision = await self.kv.create(self.key, self.value)
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        except (*TRANSIENT, nats.js.errors.APIError):
            return False  # the next try decides
        self._renewed = started
        return True

    async def renew(self) -> bool:
        """Renew the lease; False once it is lost (someone else took it, or it could not
        be renewed in time)."""
        if self.revision is None:
            return False
        started = time.monotonic()
        try:
            self.revision = await self.kv.update(self.key, self.value, last=self.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            self.revision = None
            return False
        except (*TRANSIENT, nats.js.errors.APIError):
            if not self.held:
                self.revision = None
                return False
            return True
        self._renewed = started
        return True

    async def keep(self) -> None:
        """Renew every third of the TTL; returns when the lease is lost."""
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            if not await self.renew():
                return

    async def release(self) -> None:
        """Give the lease back (others may take it at once); errors are ignored: it
        lapses by itself within the TTL. A cluster that does not answer within
        ``RELEASE_WAIT_S`` is not waited for (a stop must not hang on a dead node)."""
        revision, self.revision = self.revision, None
        if revision is None:
            return
        try:
            async with asyncio.timeout(RELEASE_WAIT_S):  # (wait_for can swallow a cancel)
                await self.kv.delete(self.key, last=revision)
        except (*TRANSIENT, nats.js.errors.APIError):
            pass
