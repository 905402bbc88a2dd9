"""Alerts exactly once: each partition's alert transitions, published by its owner into
the alerts stream, each under an id derived from the transition itself.

A partition's alert book runs only where the partition runs, so only its owner emits.
A transition (fired, raised, resolved, escalated …) gets the id of what happened — rule,
hall, scope, when the condition began, what, when — never the book's running number, so
the owner that replays the stream after a takeover derives the same ids for what the
dead owner already emitted, and the stream drops them (``Nats-Msg-Id`` within the alerts
stream's de-duplication window, an hour: well over a checkpoint interval and a
takeover). Transitions not yet acknowledged by the stream travel in the partition's
checkpoint, so one made before a checkpoint and lost with its shard is sent by the next.

A partition that starts without a checkpoint (a first start, an upgrade) replays what
the stream keeps, which no window covers: meanwhile it emits nothing, and once caught up
it emits the history of the alerts then open (``open_alerts``: each step under the id it
had when it happened, with the alert's current severity and state), then goes on as
usual. A step older than the window is then in the stream twice, under one id: a reader
that keeps ids sees it once.

Subject ``hw.alerts.<partition>``; the body a JSON ``Transition`` (for Alertmanager
bridges, consoles and audits); fold a partition's transitions in order to get its open
alerts.

Imports: alerts.model, province (cluster, wire), nats, msgspec, structlog.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Iterable
from typing import Final

import msgspec
import nats.js.errors
import structlog
from nats.js import JetStreamContext, api

from alerts.model import SYSTEM, Alert, Change
from province.cluster import TRANSIENT, durable, retrying

log = structlog.get_logger("hallwatch.outbox")

ALERTS_STREAM: Final = "HALLWATCH_ALERTS"
ALERTS_SUBJECTS: Final = "hw.alerts.>"
#: Seconds within which a transition's id is remembered by the stream.
ALERTS_DUPLICATE_WINDOW_S: Final = 3600.0
#: How long the alerts stream keeps a transition: a year of 督办 history, and some.
ALERTS_MAX_AGE_S: Final = 400 * 86400.0
OPEN_STATES: Final = frozenset({"firing", "acknowledged"})


class Transition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One change of one alert, as it was when it happened."""

    id: str
    rule: str
    hall: str
    scope: str
    severity: str
    state: str
    """The alert's state after the change: ``firing``/``acknowledged`` are open."""
    what: str
    at_ms: int
    fired_ms: int
    summary: str
    actor: str
    note: str | None = None
    partition: int = -1


_json = msgspec.json.Encoder()


def transition_id(rule: str, hall: str, scope: str, fired_ms: int, what: str, at_ms: int) -> str:
    """What happened, as an id: the same in every process that derives it."""
    text = "\x1f".join((rule, hall, scope, str(fired_ms), what, str(at_ms)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def subject(partition: int) -> str:
    return f"hw.alerts.{partition}"


class Outbox:
    """A partition's transitions waiting to be published, in order."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.unsent: deque[Transition] = deque()
        self.enabled = True
        """False while a partition without a checkpoint replays (see the module doc)."""
        self.sent = 0
        self.duplicates = 0
        self._ready = asyncio.Event()

    def changed(self, change: Change) -> None:
        """The book's listener: note the transition as it is now."""
        if self.enabled:
            self._add(change.alert, change.what, change.at_ms, change.actor, change.note)

    def open_alerts(self, alerts: Iterable[Alert]) -> None:
        """Emit the history of ``alerts`` (open ones, after a replay that emitted
        nothing), oldest first."""
        for a in sorted(alerts, key=lambda a: a.fired_ms):
            for at_ms, what in a.history:
                self._add(a, what, at_ms, SYSTEM, None)

    def _add(self, a: Alert, what: str, at_ms: int, actor: str, note: str | None) -> None:
        self.unsent.append(
            Transition(
                id=transition_id(a.rule, a.hall, a.scope, a.fired_ms, what, at_ms),
                rule=a.rule,
                hall=a.hall,
                scope=a.scope,
                severity=a.severity,
                state=a.state,
                what=what,
                at_ms=at_ms,
                fired_ms=a.fired_ms,
                summary=a.summary,
                actor=actor,
                note=note,
                partition=self.partition,
            )
        )
        self._ready.set()

    async def run(self, js: JetStreamContext) -> None:
        """Publish what waits, oldest first, retrying while the cluster does not answer;
        until cancelled."""
        while True:
            while self.unsent:
                t = self.unsent[0]
                try:
                    ack = await js.publish(
                        subject(self.partition),
                        _json.encode(t),
                        headers={"Nats-Msg-Id": t.id},
                    )
                except (*TRANSIENT, nats.js.errors.APIError) as error:
                    log.info("alert_not_sent", partition=self.partition, error=type(error).__name__)
                    await asyncio.sleep(0.25)
                    continue
                self.unsent.popleft()
                self.sent += 1
                self.duplicates += bool(ack.duplicate)
            self._ready.clear()
            await self._ready.wait()

    async def drain(self, js: JetStreamContext, timeout: float) -> None:
        """Publish what waits (a partition given back), for at most ``timeout`` s."""
        task = asyncio.create_task(self.run(js))
        try:
            async with asyncio.timeout(timeout):
                while self.unsent:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
        finally:
            task.cancel()


async def alerts_stream(js: JetStreamContext, replicas: int) -> None:
    """The alerts stream, made if missing."""

    async def attempt() -> None:
        try:
            info = await js.stream_info(ALERTS_STREAM)
        except nats.js.errors.NotFoundError:
            pass
        else:
            if (wanted := durable(info.config, ALERTS_MAX_AGE_S)) is not None:
                await js.update_stream(wanted)  # made by an older hallwatch
            return
        config = api.StreamConfig(
            name=ALERTS_STREAM,
            description="hallwatch: every alert transition of every partition, once",
            subjects=[ALERTS_SUBJECTS],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            num_replicas=replicas,
            max_age=ALERTS_MAX_AGE_S,
            discard=api.DiscardPolicy.OLD,
            duplicate_window=ALERTS_DUPLICATE_WINDOW_S,
            deny_delete=True,  # the audit chain follows the stream: no hole may be cut
            deny_purge=True,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:  # made by another shard meanwhile
            await js.stream_info(ALERTS_STREAM)

    await retrying("alerts stream", attempt)


def fold(transitions: list[Transition]) -> dict[tuple[str, str, str], int]:
    """(hall, rule, severity) → open alerts, from transitions in stream order (what
    ``hall_alerts_active`` says at the end)."""
    current: dict[tuple[str, str, str], str | None] = {}
    for t in transitions:
        key = (t.rule, t.hall, t.scope)
        current[key] = t.severity if t.state in OPEN_STATES else None
    out: dict[tuple[str, str, str], int] = {}
    for (rule, hall, _), severity in current.items():
        if severity is not None:
            out[(hall, rule, severity)] = out.get((hall, rule, severity), 0) + 1
    return out
