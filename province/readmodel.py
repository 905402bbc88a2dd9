"""The alert store as a read model of the alerts stream: ``serve --nats --data-dir DIR``.

A shard's alert books live with its partitions and move between machines; what a node
keeps on its disk is ``<data dir>/alerts.db`` (``alerts.store``) written from the alerts
stream (``province.outbox``): every transition of every partition, in stream order, as
a change of the alert with its audit record, in one transaction. So the audit hash chain
follows stream order, and it is the same chain on every node that reads the stream: a
record's wall time is when the stream stored the transition, not when this node read it,
and an alert's number in the store is given in stream order (the partitions' own numbers
are per partition). ``hallwatch audit verify --data-dir DIR`` checks it as it checks a
single process's store.

A transition the store already holds (the same alert, the same change at the same hall
time: one id twice in the stream, or a batch applied again after a crash before the
position was saved) is skipped, so the trail never repeats one. The position read up to
is kept in the store's ``meta`` table (``alerts_stream_seq``).

The alert row is the alert as the transitions say it is: rule, hall, scope, severity,
state, summary, when it fired, rose, was acknowledged (who, note), escalated (the level,
and ``role: target`` in the note) and resolved (who, note). What only a book knows (the
alert before it, a due time, a hold time) is not on the stream and stays empty.

Imports: alerts (model, store), province (cluster, outbox, reader), msgspec, nats,
structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from typing import Final

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from alerts.model import Alert, Change
from alerts.store import ALERT_FIELDS, AlertStore, StoreError, recorded_at
from province.outbox import ALERTS_STREAM, ALERTS_SUBJECTS, Transition
from province.reader import StreamReader

log = structlog.get_logger("hallwatch.readmodel")

POSITION: Final = "alerts_stream_seq"
"""The ``meta`` key of the stream sequence read up to."""
RETRY_S: Final = 5.0
_LEVEL = re.compile(r"escalated to level (\d+)")
_decoder = msgspec.json.Decoder(Transition)


class AlertsReadModel:
    """Writes the alerts stream into ``store``, in order, each transition once."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store
        self.applied = 0
        """Transitions written by this run."""
        self.skipped = 0
        """Transitions the store already held."""

    @property
    def position(self) -> int:
        """The stream sequence of the last transition read into the store."""
        row = self.store.db.execute("SELECT value FROM meta WHERE key = ?", (POSITION,))
        found = row.fetchone()
        return int(found[0]) if found else 0

    async def run(self, js: JetStreamContext) -> None:
        """Follow the alerts stream from the stored position, until cancelled. A write
        that fails (a full disk) is logged and tried again, from the stored position,
        every ``RETRY_S``: the stream keeps what the store could not take meanwhile."""
        while True:
            reader = StreamReader(js, ALERTS_SUBJECTS, self.position + 1, stream=ALERTS_STREAM)
            log.info("read_model_follows", stream=ALERTS_STREAM, after=reader.last)
            try:
                async with contextlib.aclosing(reader.batches()) as batches:
                    async for msgs in batches:
                        self.apply(msgs)
                        await asyncio.sleep(0)
            except (sqlite3.Error, StoreError) as error:
                log.error("read_model_not_written", error=str(error)[:300], retry_s=RETRY_S)
                await asyncio.sleep(RETRY_S)

    def apply(self, msgs: list[Msg]) -> None:
        """Write these messages of the alerts stream (in stream order), then the position."""
        for msg in msgs:
            try:
                t = _decoder.decode(msg.data)
            except msgspec.DecodeError as error:
                log.error("transition_unreadable", seq=msg.metadata.sequence.stream,
                          error=str(error)[:200])  # fmt: skip
                continue
            stored = msg.metadata.timestamp
            wall = stored.strftime("%Y-%m-%dT%H:%M:%SZ") if stored is not None else None
            self.write(t, wall)
        if msgs:
            self.store.db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (POSITION, str(msgs[-1].metadata.sequence.stream)),
            )

    def write(self, t: Transition, wall: str | None) -> bool:
        """One transition into the store with its audit record; False if it holds it."""
        db = self.store.db
        row = db.execute(
            f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts WHERE rule = ? AND hall = ? AND "
            "scope = ? AND fired_ms = ? ORDER BY id DESC LIMIT 1",
            (t.rule, t.hall, t.scope, t.fired_ms),
        ).fetchone()
        if row is not None:
            alert = Alert(**dict(zip(ALERT_FIELDS, row, strict=True)))
            seen = db.execute(
                "SELECT 1 FROM audit WHERE subject = ? AND action = ? AND hall_ms = ? LIMIT 1",
                (f"alert {alert.id}", t.what, t.at_ms),
            ).fetchone()
            if seen:
                self.skipped += 1
                return False
        else:
            next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM alerts").fetchone()[0]
            alert = Alert(id=int(next_id), rule=t.rule, hall=t.hall, scope=t.scope,
                          severity=t.severity, fired_ms=t.fired_ms, summary=t.summary)  # fmt: skip
        fold(alert, t)
        change = Change(alert, t.what, t.at_ms, t.actor, t.note)
        if wall is None:
            self.store.alert_changed(change)
        else:
            with recorded_at(wall):
                self.store.alert_changed(change)
        self.applied += 1
        return True


def fold(alert: Alert, t: Transition) -> None:
    """``alert`` as ``t`` leaves it."""
    alert.severity, alert.state, alert.summary = t.severity, t.state, t.summary
    what = t.what
    if what.startswith("raised"):
        alert.raised_ms = t.at_ms
    elif what == "acknowledged":
        alert.ack_by, alert.ack_ms, alert.ack_note = t.actor, t.at_ms, t.note
    elif what == "acknowledgement expired":
        alert.escalated_ms = t.at_ms  # (the escalation clock restarts here, as in the book)
    elif (m := _LEVEL.match(what)) is not None:
        alert.level, alert.escalated_ms = int(m.group(1)), t.at_ms
    if t.state == "resolved":
        alert.resolved_ms, alert.resolved_by, alert.resolve_note = t.at_ms, t.actor, t.note
