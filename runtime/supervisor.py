"""The supervision pipeline: feeds → hall state → alerts → a published, frozen ``View``.

One asyncio task per feed applies each batch as it arrives (journal first, then state,
then the event-driven rules). A publisher task builds a frozen ``View`` a few times a
second: hall snapshots, the time-driven rules, feed status and alert counts. Readers —
the console's refresh timer and the /metrics thread — only ever read the latest ``View``
(one reference swap), never the live arrays.

Imports: feeds, metrics, alerts, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from alerts.book import Alert
from alerts.rules import AlertEngine, WaitLimits
from feeds.journal import Journal
from feeds.source import Batch, FeedSource, FeedStatus
from metrics.snapshot import CitySnapshot
from metrics.state import CityState, Settings

log = structlog.get_logger("hallwatch.pipeline")


@dataclass(frozen=True, slots=True)
class AlertView:
    """A frozen copy of one alert."""

    id: int
    rule: str
    hall: str
    scope: str
    severity: str
    state: str
    fired_ms: int
    raised_ms: int | None
    resolved_ms: int | None
    summary: str
    previous: int | None
    ack_by: str | None = None
    """Who acknowledged it (state ``acknowledged``), when, and their note."""
    ack_ms: int | None = None
    ack_note: str | None = None
    level: int = 0
    """Escalation level: 0 the duty director, 1+ escalated (unacknowledged red card)."""
    silenced_by: int | None = None
    """The silence that mutes it now (it stays open and counted)."""
    due_ms: int | None = None
    """When a person's action is due (a bad rating's rectification note)."""
    resolved_by: str | None = None
    resolve_note: str | None = None

    @classmethod
    def of(cls, a: Alert) -> AlertView:
        return cls(
            a.id,
            a.rule,
            a.hall,
            a.scope,
            a.severity,
            a.state,
            a.fired_ms,
            a.raised_ms,
            a.resolved_ms,
            a.summary,
            a.previous,
            a.ack_by,
            a.ack_ms,
            a.ack_note,
            a.level,
            a.silenced_by,
            a.due_ms,
            a.resolved_by,
            a.resolve_note,
        )


@dataclass(frozen=True, slots=True)
class View:
    """Everything a reader needs, at one moment. Immutable: share it across threads."""

    city: CitySnapshot
    alerts: tuple[AlertView, ...]
    """Firing alerts, red first."""
    resolved: tuple[AlertView, ...]
    """The most recently resolved alerts, newest first."""
    events_total: int
    published_wall: float
    generation: int


EMPTY_VIEW = View(CitySnapshot({}, ()), (), (), 0, 0.0, 0)


class Supervisor:
    """Runs the feeds into the state and alerts; publishes a ``View``."""

    def __init__(
        self,
        sources: Iterable[FeedSource] = (),
        *,
        settings: Settings | None = None,
        wait_limits: WaitLimits | None = None,
        journal: Journal | None = None,
        publish_interval: float = 0.25,
    ) -> None:
        self.sources = list(sources)
        self.state = CityState(settings)
        self.alerts = AlertEngine(wait_limits)
        self.journal = journal
        self.publish_interval = publish_interval
        self.events_total = 0
        self.view: View = EMPTY_VIEW
        self._generation = 0
        self._unlogged: dict[str, Counter[str]] = {}
        self._changed = asyncio.Event()

    # --- ingest --------------------------------------------------------------------------

    def apply(self, status: FeedStatus, batch: Batch) -> None:
        """Apply one batch: journal, state, event-driven rules, feed counters."""
        if self.journal is not None and batch.events:
            self.journal.append(status.name, batch.events)
        result = self.state.apply(batch.events)
        self.alerts.on_batch(result, batch.events)
        status.events_total += result.applied
        status.gaps_total += batch.gaps
        self.events_total += result.applied
        rejections = batch.rejections + result.rejections
        if rejections:
            counts = self._unlogged.setdefault(status.name, Counter())
            for r in rejections:
                status.rejected[r.reason] += 1
                counts[r.reason] += 1
        self._changed.set()

    async def consume(self, source: FeedSource) -> None:
        """Apply every batch of one source until it ends (a live feed never does)."""
        budget_end = time.perf_counter() + 0.01
        async for batch in source.batches():
            self.apply(source.status, batch)
            # A backlog can arrive without the socket ever blocking: give the loop (the
            # console, the publisher) a turn every 10 ms of ingest.
            if time.perf_counter() > budget_end:
                await asyncio.sleep(0)
                budget_end = time.perf_counter() + 0.01

    # --- publish -------------------------------------------------------------------------

    def publish(self) -> View:
        """Build and publish a new ``View`` (runs the time-driven rules first)."""
        halls = self.state.snapshots()
        feeds = tuple(s.status.snapshot() for s in self.sources)
        self.alerts.on_tick(halls, feeds, time.time())
        book = self.alerts.book
        self._generation += 1
        self.view = View(
            city=CitySnapshot(
                halls=halls,
                feeds=feeds,
                alerts_active=dict(book.counts()),
            ),
            alerts=tuple(AlertView.of(a) for a in book.active()),
            resolved=tuple(AlertView.of(a) for a in list(book.resolved)[-50:][::-1]),
            events_total=self.events_total,
            published_wall=time.time(),
            generation=self._generation,
        )
        self._log_rejections()
        return self.view

    def _log_rejections(self) -> None:
        """Rejections are logged per publish tick, by reason: never a line per event."""
        for feed, counts in self._unlogged.items():
            if counts:
                log.warning("events_rejected", feed=feed, reasons=dict(counts))
        self._unlogged.clear()

    async def publisher(self) -> None:
        """Publish when something changed, at most every ``publish_interval`` seconds,
        and at least once a second (feed status changes without events). Under a flood of
        many halls a publish gets dear: it then waits 4x its own cost, so building
        snapshots never takes more than a fifth of the ingest core."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)
            self._changed.clear()
            started = time.perf_counter()
            self.publish()
            cost = time.perf_counter() - started
            await asyncio.sleep(max(self.publish_interval, 4 * cost))

    async def run(self) -> None:
        """Consume every source and publish, until cancelled."""
        self.publish()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.publisher())
            for source in self.sources:
                group.create_task(self.consume(source))

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
