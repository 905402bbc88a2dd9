"""What every alert rule is: a ``Rule`` reads the transitions of each applied batch and
the clock ticks (``Tick``), and writes to the alert book. The rule families live beside
it (``rules``, ``window_rules``, ``staffing_rules``, ``case_rules``, ``people_rules``,
``duty``); the engine that runs them is ``alerts.rules.AlertEngine``. What a rule
remembers goes into a state snapshot (``Memory``).

Imports: alerts.book, feeds.source (feed snapshots), metrics (snapshots, apply results,
the checkpoint codec).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Protocol

from alerts.book import AlertBook
from feeds.source import FeedSnapshot
from metrics.codec import CheckpointError, Codec, attributes, set_attributes
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult

_CODEC: Final = Codec()


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

    def memory(self) -> bytes:
        """What the rule remembers, for a state snapshot (``Memory``)."""
        ...

    def restore_memory(self, data: bytes) -> None:
        """Take back ``memory()`` (``Memory``)."""


class Memory:
    """A rule's own memory (pending timers, the history behind second trips) for a state
    snapshot: every attribute of the rule but those it takes from its configuration
    (``configured``: the same configuration rebuilds them), saved by ``metrics.codec``.
    Generic, like the hall's: a new attribute is saved too, and one of a type the codec
    does not know fails the checkpoint instead of being left out."""

    configured: ClassVar[tuple[str, ...]] = ()
    """The attributes set from the configuration: not saved."""

    def _remembered(self) -> dict[str, Any]:
        return {k: v for k, v in attributes(self).items() if k not in self.configured}

    def memory(self) -> bytes:
        """The rule's memory as bytes (``restore_memory`` takes them back).

        Raises:
            CheckpointError: an attribute (named) of a type the codec does not know.
        """
        return _CODEC.dump(self._remembered())

    def restore_memory(self, data: bytes) -> None:
        """Take back ``memory()`` of this rule (made with this configuration).

        Raises:
            CheckpointError: garbage, or the memory of a rule of other attributes
                (nothing is taken then).
        """
        values = _CODEC.load(data)
        mine = self._remembered().keys()
        if values.keys() != mine:
            raise CheckpointError(
                f"{type(self).__name__}: a memory of {sorted(values)}, not of {sorted(mine)}"
            )
        set_attributes(self, values)
