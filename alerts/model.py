"""What an alert is: its fields, states and timers, silences, and the change record the
store keeps. The book (``alerts.book``) runs the lifecycle over these.

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

SEVERITIES: Final = ("yellow", "red")
_RANK: Final = {name: i for i, name in enumerate(SEVERITIES)}
STATES: Final = ("pending", "firing", "acknowledged", "resolved")
#: The actor of changes the engine makes by itself (rules, timers).
SYSTEM: Final = "system"

Key = tuple[str, str, str]


class ActionError(ValueError):
    """A person's action cannot be done (unknown alert, missing note, bad silence)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Lifecycle timers (hall milliseconds); see docs/alerts.md."""

    ack_timeout_ms: int = 30 * 60_000
    """An acknowledged alert not resolved within this goes back to firing (PagerDuty)."""
    escalate_after_ms: int = 15 * 60_000
    """An unacknowledged red card escalates one level after this, and again after each."""
    max_level: int = 2
    """Escalation levels above the duty director (e.g. 1: centre director, 2: leader)."""


@dataclass(slots=True)
class Alert:
    id: int
    rule: str
    hall: str
    scope: str
    severity: str
    fired_ms: int
    summary: str
    state: str = "firing"
    """pending | firing | acknowledged | resolved"""
    raised_ms: int | None = None
    """When it rose to red (None if it fired red or stayed yellow)."""
    resolved_ms: int | None = None
    previous: int | None = None
    """The alert of the same identity that resolved before this one fired."""
    history: list[tuple[int, str]] = field(default_factory=list)
    """(hall ms, what happened), in order."""
    ack_by: str | None = None
    ack_ms: int | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    """``system`` when the condition cleared, else the person who resolved it."""
    resolve_note: str | None = None
    level: int = 0
    """Escalation level: 0 the duty director, then one up per ``escalate_after``."""
    escalated_ms: int | None = None
    silenced_by: int | None = None
    """The id of the silence that covers it now, if any."""
    due_ms: int | None = None
    """For alerts that wait for a person (a rectification note): when it is due."""
    pending_since: int | None = None
    for_ms: int = 0
    clearing_since: int | None = None
    """The condition cleared at this time; resolution waits out the hold time."""
    hold_ms: int = 0

    @property
    def key(self) -> Key:
        return (self.rule, self.hall, self.scope)

    @property
    def open(self) -> bool:
        return self.state in ("firing", "acknowledged")


@dataclass(slots=True)
class Silence:
    """Mutes matching alerts until ``until_ms`` (hall time). Who, why and until are required."""

    id: int
    hall: str
    rule: str | None
    """None: every rule."""
    scope_prefix: str
    created_by: str
    reason: str
    created_ms: int
    until_ms: int
    ended_ms: int | None = None

    def matches(self, alert: Alert) -> bool:
        return (
            alert.hall == self.hall
            and (self.rule is None or alert.rule == self.rule)
            and alert.scope.startswith(self.scope_prefix)
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One state change of an alert, as the audit trail records it."""

    alert: Alert
    what: str
    at_ms: int
    actor: str
    note: str | None = None


class Sink(Protocol):
    """Where changes go (the SQLite store): each in one transaction with its audit record."""

    def alert_changed(self, change: Change) -> None: ...

    def silence_changed(self, silence: Silence, what: str, actor: str, at_ms: int) -> None: ...

    def last_resolved(self, key: Key) -> tuple[int, int] | None: ...


Listener = Callable[[Change], None]
