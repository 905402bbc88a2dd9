"""Start-up recovery: rebuild the hall state, then resume each feed where it stopped.

Run once, after the ``Pipeline`` is built and before it connects (``run.py serve`` and
``console``). With a usable state snapshot (``runtime.snapshot``: saved as each feed's
day ends and at a clean stop), the state is the snapshot's, and each feed's journal is
read back from the snapshot's position on (``feeds.journal.read_after``). Without one
(first start, other code or config), each feed's newest journaled service day — and the
days before it, ``--recover-days`` — is read back (``feeds.journal.recover_day``). Either
way torn tails are cut and damage counted, and the events are applied through the same
path as live batches — state, event-driven rules, feed counters — but not journaled
again. The feed then subscribes with ``since`` = the last seq applied, so the server
sends exactly what was never applied: a restart, clean or ``kill -9``, ends the day
with the figures of an uninterrupted run, cases and complaints of earlier days included.
Alerts rebuilt this way dedup against the ones the alert store kept open
(``alerts.book``).

What was cut or damaged is logged once per feed and counted on the feed's rejections
(``journal_torn_tail``, ``journal_damaged``), so it shows on /metrics and in the console.

Imports: feeds.journal, feeds.source, runtime (pipeline, storage), structlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import structlog

from feeds.journal import read_after, recover_day
from feeds.source import Batch
from runtime.pipeline import Pipeline
from runtime.storage import starting

log = structlog.get_logger("hallwatch.recovery")

#: Journaled events applied per batch while rebuilding.
CHUNK: Final = 2000


@runtime_checkable
class Resumable(Protocol):
    """A source that can be told where to resume before it connects."""

    def resume(self, since: int) -> None:
        """Subscribe from ``since`` (the last seq already applied)."""
        ...


@dataclass(frozen=True, slots=True)
class Recovered:
    """What start-up recovery did for one feed."""

    feed: str
    day: str | None
    events: int
    resume_since: int
    cut_bytes: int
    damaged: int
    bad_lines: int
    from_snapshot: bool = False
    """Rebuilt from a state snapshot plus what was journaled after it."""


def recover(sup: Pipeline, days: int = 1) -> list[Recovered]:
    """Rebuild ``sup``'s state from its journal and set each feed's resume seq.

    Args:
        sup: A supervisor that has not started yet.
        days: Without a usable snapshot, replay the newest journaled day and the days
            before it up to this many calendar days in all (``--recover-days``): cases
            opened on those days and still open are rebuilt too; each 100-hall day costs
            ~8 s. Unused when a snapshot is loaded (it holds every earlier day).

    Returns:
        One ``Recovered`` per source (none when the supervisor has no journal).

    Raises:
        DataDirError: a journal file cannot be read or repaired (it names the file and
            what to do).
    """
    if sup.journal is None:
        return []
    loaded = _restored(sup)
    out: list[Recovered] = []
    for source in sup.sources:
        status = source.status
        position = loaded.get(status.name) if loaded is not None else None
        with starting(sup.journal.root, "the journal"):  # unreadable: the file, what to do
            if loaded is not None and position is not None:
                rec = read_after(sup.journal.root, status.name, *position[:2])
            else:  # no snapshot, or a feed that had journaled nothing when it was saved
                rec = recover_day(sup.journal.root, status.name, days)
        applied = 0
        for _, events in rec.batches(CHUNK):
            sup.apply(status, Batch(status.name, events), journaled=True)
            applied += len(events)
        since = rec.last_seq or (position[2] if position is not None else 0)
        if since and isinstance(source, Resumable):
            source.resume(since)
        if rec.cut_bytes:
            status.rejected["journal_torn_tail"] += 1
        if rec.damaged or rec.bad_lines:
            status.rejected["journal_damaged"] += rec.damaged + rec.bad_lines
        done = Recovered(
            status.name,
            rec.day,
            applied,
            since,
            rec.cut_bytes,
            rec.damaged,
            rec.bad_lines,
            position is not None,
        )
        out.append(done)
        log.info(
            "journal_recovered",
            feed=done.feed,
            day=done.day,
            events=done.events,
            resume_since=done.resume_since,
            cut_bytes=done.cut_bytes,
            damaged=done.damaged,
            bad_lines=done.bad_lines,
            from_snapshot=done.from_snapshot,
        )
    return out


def _restored(sup: Pipeline) -> dict[str, tuple[str, int, int]] | None:
    """Put the newest usable snapshot back into ``sup``: the journal positions it was
    saved at, or None (then the journal is replayed from its newest days)."""
    snapshots = sup.snapshots
    found = snapshots.load() if snapshots is not None else None
    if snapshots is None or found is None:
        return None
    positions, data = found
    try:
        sup.restore_state(data)
    except ValueError as error:
        snapshots.skipped(str(error))
        return None
    return positions
