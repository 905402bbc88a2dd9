"""What readers see: a frozen ``View`` of the city at one moment, with frozen copies of
its alerts. The pipeline publishes a new one a few times a second (one reference swap);
the console's refresh timer and the /metrics thread only ever read the latest.

Imports: alerts (the book's types, the roster's OnDuty), metrics.snapshot, msgspec.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

import msgspec

from alerts.book import Alert, Silence
from alerts.duty import OnDuty
from metrics.snapshot import CitySnapshot


class AlertView(msgspec.Struct, frozen=True, gc=False):
    """A frozen copy of one alert.

    A msgspec Struct, not a dataclass: ~40x cheaper to create, and untracked by the
    garbage collector (only ints, strs and None inside) — a flood keeps thousands open,
    and every full collection scanned them all (bench/ui.py, loop stall).
    """

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
    escalated_role: str | None = None
    """The role the last escalation went to (``department``, ``supervision`` …)."""
    escalated_target: str | None = None
    """Who that is (the case's department, the office the config names)."""
    silenced_by: int | None = None
    """The silence that mutes it now (it stays open and counted)."""
    due_ms: int | None = None
    """When a person's action is due (a bad rating's rectification note)."""
    resolved_by: str | None = None
    resolve_note: str | None = None

    @classmethod
    def of(cls, a: Alert) -> AlertView:
        return cls(*ALERT_FIELDS(a))


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
    on_duty: OnDuty | None = None
    """The duty director now (by the roster, on the newest hall clock), if rostered."""
    silences: tuple[Silence, ...] = ()
    """Live silences (who, why, until). Treat as read-only."""
    handovers_unaccepted: tuple[tuple[int, str, str, int], ...] = ()
    """(id, hall, written by, written hall ms) of shift reports not yet accepted."""


ALERT_FIELDS = attrgetter(*AlertView.__struct_fields__)
"""An alert's values for its ``AlertView``, in field order, in one C call."""

EMPTY_VIEW = View(CitySnapshot({}, ()), (), (), 0, 0.0, 0)
