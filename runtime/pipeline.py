"""The supervision pipeline: feeds → hall state → alerts → a published, frozen ``View``.

One asyncio task per feed applies each batch as it arrives (journal first, then state,
then the event-driven rules). A publisher task builds a frozen ``View`` a few times a
second: hall snapshots, the time-driven rules, feed status and alert counts. Readers —
the console's refresh timer and the /metrics thread — only ever read the latest ``View``
(one reference swap), never the live arrays.

What an operator does (acknowledge, resolve, silence, handover) is the desk's
(``runtime.desk``); the publish path never touches the alert store: the hall clocks
other processes need and the shift reports are synced by their own task.

A store that cannot be written (a full disk) stops nothing: the journal falls behind and
catches up from the feed, alert changes are held in order, the snapshot waits, all
retried until written (``runtime.storage``, ``backfill``, ``held_alerts``, ``repair``).

Imports: feeds, metrics, alerts, runtime (view, snapshot, storage, backfill, held_alerts,
repair), structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

import structlog

from alerts.book import Alert
from alerts.duty import Roster, hall_figures
from alerts.names import NO_NAMES, Names
from alerts.rules import AlertEngine
from alerts.store import AlertStore
from feeds.hallclock import day_start_ms, service_day
from feeds.journal import Journal
from feeds.retention import Retention, RetentionRun, apply_retention
from feeds.source import Batch, FeedSource, FeedStatus
from metrics.snapshot import CitySnapshot, HallSnapshot
from metrics.state import CityState, HallSettings, Settings
from runtime.backfill import JournalKeeper
from runtime.datadir import DataDirLock
from runtime.held_alerts import WRITE_ERRORS, HeldChanges
from runtime.repair import Repairs
from runtime.snapshot import Snapshots
from runtime.storage import CheckedSnapshots, Storage, StorageAlarm
from runtime.view import ALERT_FIELDS, EMPTY_VIEW, AlertView, View

log = structlog.get_logger("hallwatch.pipeline")

_ALERT_ID = AlertView.__struct_fields__.index("id")
"""Where ``ALERT_FIELDS`` puts the alert's id."""


class Pipeline:
    """Runs the feeds into the state and alerts, publishes a ``View``, and checkpoints.
    What an operator does goes through the ``runtime.desk.Desk``."""

    def __init__(
        self,
        sources: Iterable[FeedSource] = (),
        *,
        settings: HallSettings | Settings | None = None,
        journal: Journal | None = None,
        publish_interval: float = 0.25,
        alerts: AlertEngine | None = None,
        store: AlertStore | None = None,
        roster: Roster | None = None,
        snapshots: Snapshots | None = None,
        lock: DataDirLock | None = None,
        retention: Retention | None = None,
        names: Names = NO_NAMES,
    ) -> None:
        self.sources = list(sources)
        self.names = names
        """Display names of halls, zones, items and departments, published in each view."""
        self.lock = lock
        """The data dir's writer lock, held until ``close``."""
        self.retention = retention if journal is not None else None
        """Applied to the journal's recorded days as each service day begins."""
        self._retained_day: date | None = None
        self.state = CityState(settings)
        """Each hall under its settings (``Config.hall_settings``: the same zone limits
        as the alerts' ``Config.hall_rules``)."""
        self.alerts = alerts or AlertEngine(sink=store)
        self.store = store
        self.roster = roster or Roster()
        self._clocks: dict[str, int] = {}
        """Hall clocks last written to the store (``sync_store``)."""
        self.journal = journal
        self.snapshots = snapshots if journal is not None else None
        """Saved as a feed's day ends and at close (``runtime.snapshot``); with a journal."""
        self._snapshot_due = False
        self.storage = Storage()
        """Each store's health: a store that cannot be written (a full disk) is survived,
        what it should hold kept and written later (``runtime.storage``)."""
        self.keeper = (
            JournalKeeper(journal, self.storage, self._source) if journal is not None else None
        )
        """Journals each applied batch; a feed whose write failed catches up later."""
        self.held: HeldChanges | None = None
        """The alert book's sink in front of ``store``: changes held while it fails."""
        if store is not None:
            self.held = HeldChanges(store, self.storage)
            if self.alerts.book.sink is store:
                self.alerts.book.sink = self.held
        checked = None
        if self.snapshots is not None and self.keeper is not None:
            checked = CheckedSnapshots(self.snapshots, self.storage, self.keeper.whole)
            self.snapshots = checked
        self.repairs = Repairs(self.storage, journal=self.keeper, held=self.held,
                               snapshots=checked, save_snapshot=self.save_snapshot)  # fmt: skip
        self._alarm = StorageAlarm(self.storage)
        self.publish_interval = publish_interval
        self.events_total = 0
        self.view: View = EMPTY_VIEW
        self._generation = 0
        self._alert_views: dict[int, tuple[tuple[Any, ...], AlertView]] = {}
        """Alert id → (its values, its frozen copy) at the last publish."""
        self._unlogged: dict[str, Counter[str]] = {}
        self._changed = asyncio.Event()
        self._ingest_open = asyncio.Event()
        """Cleared while the publisher builds snapshots in slices: ingest waits, so the
        state stands still and the view is still one moment."""
        self._ingest_open.set()

    def _source(self, name: str) -> FeedSource | None:
        """The source of the feed ``name`` (a journal gap is fetched again from it)."""
        return next((s for s in self.sources if s.status.name == name), None)

    def _last_try(self) -> None:
        """At a stop: the alert changes still held get one more try; what cannot be
        written is said (a restart raises the rules' alerts again from the events)."""
        assert self.held is not None
        if not self.held.flush():
            log.error(
                "alert_changes_not_written",
                changes=len(self.held.held),
                error=self.storage.error("alerts"),
            )

    # --- ingest --------------------------------------------------------------------------

    def apply(self, status: FeedStatus, batch: Batch, *, journaled: bool = False) -> None:
        """Apply one batch: journal, state, event-driven rules, feed counters.
        ``journaled``: the batch comes from the journal (start-up recovery): not again."""
        if self.journal is not None and batch.events and not journaled:
            if self.snapshots is not None and self.journal.rolls(status.name, batch.events):
                if self.snapshots.path.exists():
                    self._snapshot_due = True  # once the halls have left the old day
                else:
                    self.save_snapshot()  # the first: now, before the new day's batch
            if self.keeper is not None:  # (a failed write is survived: runtime.backfill)
                self.keeper.append(status.name, batch.events)
        result = self.state.apply(batch.events)
        self.alerts.on_batch(result)
        # hall_feed_events_total counts the feed's events; heartbeats only move clocks.
        status.events_total += result.applied - result.heartbeats
        status.gaps_total += batch.gaps
        self.events_total += result.applied - result.heartbeats
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
            if not self._ingest_open.is_set():
                await self._ingest_open.wait()
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
        self._alarm.judge(book, halls)  # storage_failed, in memory only
        self._generation += 1
        firing, resolved = self._frozen_alerts(book.active(), list(book.resolved)[-50:][::-1])
        self.view = View(
            city=CitySnapshot(
                halls=halls,
                feeds=feeds,
                alerts_active=dict(book.counts()),
                alerts_shed=dict(book.shed),
                storage=self.storage.snapshot(),
            ),
            alerts=firing,
            resolved=resolved,
            events_total=self.events_total,
            published_wall=time.time(),
            generation=self._generation,
            names=self.names,
            **self._duty_fields(halls),
        )
        self._log_rejections()
        if self._snapshot_due and self._day_turned():
            self._snapshot_due = False
            self.save_snapshot()
        return self.view

    def _day_turned(self) -> bool:
        """Every hall is on the newest service day (its old day's tickets and columns are
        dropped: a snapshot then is half the size), or an hour of it has gone by (a hall
        that stays silent must not hold the snapshot back)."""
        halls = self.state.halls.values()
        newest = max((h.day_ordinal for h in halls), default=0)
        if all(h.day_ordinal == newest for h in halls):
            return True
        clock = max(h.now_ms for h in halls)
        return clock >= day_start_ms(date.fromordinal(newest)) + 3_600_000

    def _frozen_alerts(
        self, active: Iterable[Alert], resolved: Iterable[Alert]
    ) -> tuple[tuple[AlertView, ...], tuple[AlertView, ...]]:
        """Frozen copies of the firing and of the recently resolved alerts. An alert
        whose values did not change since the last publish keeps its copy: a flood holds
        thousands open, and a new copy costs ~8 µs (10 000 alerts: 100 -> ~10 ms). The
        values it was made from are kept with it, so telling costs one read of the alert
        and one tuple comparison (10 000 alerts: ~19 -> ~4 ms)."""
        old = self._alert_views
        new: dict[int, tuple[tuple[Any, ...], AlertView]] = {}
        copies = []
        for alerts in (active, resolved):
            views = []
            for values in map(ALERT_FIELDS, alerts):
                alert_id = values[_ALERT_ID]
                seen = old.get(alert_id)
                if seen is None or seen[0] != values:
                    seen = (values, AlertView(*values))
                new[alert_id] = seen
                views.append(seen[1])
            copies.append(tuple(views))
        self._alert_views = new
        return copies[0], copies[1]

    def _duty_fields(self, halls: dict[str, HallSnapshot]) -> dict[str, Any]:
        """View fields about duty, from memory only: nothing here touches the store."""
        newest = max((h.now_ms for h in halls.values()), default=0)
        ledger = self.alerts.handovers
        return {
            "on_duty": self.roster.on_duty(newest) if newest else None,
            "silences": tuple(self.alerts.book.silences.values()),
            "handovers_unaccepted": tuple(
                (h["id"], h["hall"], h["written_by"], h["written_ms"]) for h in ledger.waiting
            )
            if ledger is not None
            else (),
        }

    def sync_store(self) -> None:
        """Off the publish path, about once a second: the hall clocks and headline
        figures for commands run in other processes (``hallwatch handover`` stamps hall
        time from them), at most every 5 s of hall time; and the shift reports again
        (another process may have written or accepted one)."""
        if self.store is None:
            return
        halls = self.view.city.halls
        changed = {
            name: h.now_ms
            for name, h in halls.items()
            if h.now_ms and h.now_ms - self._clocks.get(name, 0) >= 5000
        }
        if changed and self.held is not None:
            # (kept to be written later while the store fails: runtime.held_alerts)
            self.held.set_clocks(changed, {h: hall_figures(halls[h]) for h in changed})
            self._clocks.update(changed)
        if self.alerts.handovers is not None:
            try:
                self.alerts.handovers.refresh()
            except WRITE_ERRORS as error:  # a damaged store fails reads too
                self.storage.failed("alerts", error)

    def retain(self) -> RetentionRun | None:
        """Once per service day (the newest hall clock's), as the day begins: the
        recorded days past ``[retention]`` lose their pseudonyms, or go (feeds.retention).
        A failure is logged; ingest never waits for it."""
        if self.retention is None or self.journal is None:
            return None
        newest = max((h.now_ms for h in self.view.city.halls.values()), default=0)
        if not newest:
            return None
        today = service_day(newest)
        if today == self._retained_day:
            return None
        self._retained_day = today
        try:
            return apply_retention(
                self.journal.root,
                today,
                strip_after_days=self.retention.strip_after_days,
                delete_after_days=self.retention.delete_after_days,
            )
        except OSError as error:
            log.error("retention_failed", error=f"{type(error).__name__}: {error}")
            return None

    async def retention_keeper(self, every_s: float = 5.0) -> None:
        """``retain`` in a thread every few seconds (it acts once a day), until cancelled."""
        while True:
            await asyncio.to_thread(self.retain)
            await asyncio.sleep(every_s)

    async def store_syncer(self, every_s: float = 1.0) -> None:
        """``sync_store`` about once a second, until cancelled."""
        while True:
            await asyncio.sleep(every_s)
            self.sync_store()

    def changed(self) -> None:
        """Something an operator did changed the alerts: publish soon."""
        self._changed.set()

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
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
            # that lands as the wait completes, and a publisher that outlives its cancel
            # hangs the TaskGroup (bench/ingest.py hung that way).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._changed.wait()
            self._changed.clear()
            started = time.perf_counter()
            await self._snapshots_in_slices()
            self.publish()
            cost = time.perf_counter() - started
            await asyncio.sleep(max(self.publish_interval, 4 * cost))

    async def _snapshots_in_slices(self, slice_s: float = 0.005) -> None:
        """Build the changed halls' snapshots (cached in the state) a few at a time,
        giving the loop a turn every ``slice_s``: 100 busy halls take 100-300 ms, which
        in one piece would hold a key press that long. Ingest waits meanwhile, so
        ``publish`` then finds every snapshot cached and of one moment."""
        self._ingest_open.clear()
        try:
            state = self.state
            budget_end = time.perf_counter() + slice_s
            for name in sorted(state.halls):
                state.snapshot(name)
                if time.perf_counter() > budget_end:
                    await asyncio.sleep(0)
                    budget_end = time.perf_counter() + slice_s
        finally:
            self._ingest_open.set()

    async def run(self) -> None:
        """Consume every source and publish, until cancelled.

        What exists by now (modules, config, the console's widgets, a recovered state)
        lives for the whole run: after one collection it is frozen out of the garbage
        collector's sight, so the full collections a flood sets off scan only what the
        run adds (their pauses, felt as a late key press, ~60 -> ~30 ms; bench/ui.py).
        """
        gc.collect()
        gc.freeze()
        self.publish()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.publisher())
            if self.store is not None:
                group.create_task(self.store_syncer())
            if self.retention is not None:
                group.create_task(self.retention_keeper())
            if self.storage.snapshot():  # a data dir: its stores are retried as they fail
                group.create_task(self.repairs.run())
            for source in self.sources:
                group.create_task(self.consume(source))

    def save_snapshot(self) -> None:
        """Save the state with the journal positions it holds (``runtime.snapshot``). A
        failure (disk full) is logged and ingest goes on: the journal still has it all."""
        if self.snapshots is None or self.journal is None:
            return
        try:
            self.journal.sync()
            self.snapshots.save(self.journal.positions(), self.checkpoint_state())
        # ValueError: more feeds than the header's slot holds, or a value the checkpoint
        # cannot hold (metrics.codec.CheckpointError names it).
        except (OSError, ValueError) as error:
            log.error("snapshot_failed", error=f"{type(error).__name__}: {error}")

    def checkpoint_state(self) -> dict[str, Any]:
        """What a snapshot keeps (``runtime.snapshot``): the hall state, the hall rules'
        memory, the book's transient part, the feeds' counters."""
        feeds = {
            s.status.name: (
                s.status.events_total,
                dict(s.status.rejected),
                s.status.gaps_total,
                s.status.seq_restarts,
            )
            for s in self.sources
        }
        return {
            "halls": self.state.checkpoint_stream(),  # (encoded as the file takes it)
            "rules": self.alerts.rule_memory(),
            "book": self.alerts.book.transient(),
            "feeds": feeds,
            "events_total": self.events_total,
        }

    def restore_state(self, data: dict[str, Any]) -> None:
        """Take back what ``checkpoint_state`` gave (before the run starts), as
        ``Snapshots.load`` read it. All or nothing.

        Raises:
            ValueError: the snapshot's rules are not this configuration's, or a part of
                it does not decode (``metrics.codec.CheckpointError``).
        """
        city, rules = self.state.checkpoint(), self.alerts.rule_memory()  # (to roll back)
        try:
            self.state.restore(data["halls"])
            self.alerts.restore_rule_memory(data["rules"])
            self.alerts.book.restore_transient(data["book"])
        except ValueError:
            self.state.restore(city)
            self.alerts.restore_rule_memory(rules)
            raise
        self.events_total = data["events_total"]
        for source in self.sources:
            saved = data["feeds"].get(source.status.name)
            if saved is not None:
                status = source.status
                status.events_total, rejected, status.gaps_total, status.seq_restarts = saved
                status.rejected.update(rejected)

    def close(self) -> None:
        if self.journal is not None:
            self.save_snapshot()  # a clean stop restarts from here, with no replay
            if self.keeper is not None:
                self.keeper.close()  # (a journal behind says so: the restart fetches it)
            else:
                self.journal.close()
        self.alerts.close()  # forwarding, if any, gets one more try at what is queued
        if self.held is not None and (self.held.held or not self.storage.ok("alerts")):
            self._last_try()
        if self.store is not None:
            self.store.close()
        if self.lock is not None:
            self.lock.release()
