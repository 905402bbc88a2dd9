"""What every alert rule is: a ``Rule`` reads the transitions of each applied batch and
the clock ticks (``Tick``), and writes to the alert book. The rule families live beside
it (``rules``, ``window_rules``, ``staffing_rules``, ``case_rules``, ``people_rules``,
``duty``); the engine that runs them is ``alerts.rules.AlertEngine``.

Imports: alerts.book, feeds.source (feed snapshots), metrics (snapshots, apply results).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.book import AlertBook
from feeds.source import FeedSnapshot
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult


@dataclass(frozen=True, slots=True)
class Tick:
    """What the time-driven rules see at one publish."""

    halls: Mapping[str, HallSnapshot]
    feeds: Sequence[FeedSnapshot] = ()
    wall: float = 0.0
    """Wall clock (seconds): only the stalled-feed rule may read it — a stalled feed
    stops the hall clock, so silence can only be seen on the wall clock."""


class Rule(Protocol):
    """A rule reads what the hall state says changed (``ApplyResult``: its transitions)
    and the clock ticks; never raw events, and it keeps no copy of the hall: only memory
    of its own (pending timers, the history behind second trips)."""

    name: str

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        """Event-driven part: the transitions of one applied batch."""

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        """Time-driven part: the hall snapshots at a publish."""
