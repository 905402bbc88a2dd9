"""What an alert is: its fields, states and timers, silences, and the change record the
store keeps. The book (``alerts.book``) runs the lifecycle over these.

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

#: Cards (黄牌/红牌) are formal sanctions, and the documents give them for two things
#: only: a case about to run over or overdue, and materials or conditions added without
#: authority (seed 001: 对即将超时办理的事项,进行实时预警和黄牌警告 … 对超时未办的事项进行
#: 红牌警告和督办; 对擅自增加或改变申请材料、违规设置办理条件等行为,进行红牌警告).
CARD_SEVERITIES: Final = ("yellow", "red")
#: Everything else the hall shows live is a warning (预警), of two urgencies.
WARNING_SEVERITIES: Final = ("notice", "urgent")
SEVERITIES: Final = (*WARNING_SEVERITIES, *CARD_SEVERITIES)
KINDS: Final = ("card", "warning")
#: Rank within a kind: an alert rises notice → urgent or yellow → red, never falls back.
_RANK: Final = {"notice": 0, "urgent": 1, "yellow": 0, "red": 1}
#: One term per thing, wherever a severity is written in Chinese (console, shift report,
#: robot messages): the cards by the documents' words, the warnings as 预警.
SEVERITY_ZH: Final = {"yellow": "黄牌", "red": "红牌", "notice": "预警", "urgent": "紧急预警"}
#: The escalation roles the documents name, in Chinese; any other role is shown as given.
ROLE_ZH: Final = {"department": "承办部门", "supervision": "效能监督", "director": "中心主任"}
#: How alerts are listed: red cards, urgent warnings, yellow cards, then notices.
DISPLAY_RANK: Final = {"red": 0, "urgent": 1, "yellow": 2, "notice": 3}
STATES: Final = ("pending", "firing", "acknowledged", "resolved")
#: The actor of changes the engine makes by itself (rules, timers).
SYSTEM: Final = "system"

Key = tuple[str, str, str]


def kind_of(severity: str) -> str:
    """``card`` for yellow and red, ``warning`` for notice and urgent."""
    return "card" if severity in CARD_SEVERITIES else "warning"


def is_grave(severity: str) -> bool:
    """The higher severity of its kind: a red card or an urgent warning."""
    return _RANK[severity] == 1


class ActionError(ValueError):
    """A person's action cannot be done (unknown alert, missing note, bad silence)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Lifecycle timers (hall milliseconds); see docs/alerts.md."""

    ack_timeout_ms: int = 30 * 60_000
    """An acknowledged alert not resolved within this goes back to firing (PagerDuty)."""
    escalate_after_ms: int = 15 * 60_000
    """An unacknowledged red card escalates one level after this much duty time, and
    again after each (``Escalation`` says what counts as duty time and who is told)."""
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
    """When it rose (yellow → red, notice → urgent); None if it never did."""
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
    """Escalation level: 0 the duty director, then one up per ``escalate_after`` of duty
    time (red cards only: 督办)."""
    escalated_ms: int | None = None
    escalated_role: str | None = None
    """The role the last escalation went to (``department``, ``supervision`` …)."""
    escalated_target: str | None = None
    """Who that is: the case's department, the office named in ``[[duty.escalate_to]]``."""
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


def rectified(a: Alert) -> bool:
    """Resolved by a person (with the note resolving by hand requires), not by the
    system: for a bad rating, rectified (差评整改); the report counts these and the
    outbound sender feeds each back to the rating platform."""
    return a.state == "resolved" and a.resolved_by not in (None, SYSTEM)


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


class EscalationPolicy(Protocol):
    """When an unacknowledged red card climbs and to whom (``alerts.escalation``)."""

    @property
    def max_level(self) -> int: ...

    def due_ms(self, since_ms: int, period_ms: int) -> int | None:
        """When ``period_ms`` of duty time has passed after ``since_ms``."""
        ...

    def step(self, alert: Alert, level: int) -> tuple[str, str]:
        """(role, target) of ``level`` for ``alert``."""
        ...


class Sink(Protocol):
    """Where changes go (the SQLite store): each in one transaction with its audit record."""

    def alert_changed(self, change: Change) -> None: ...

    def silence_changed(self, silence: Silence, what: str, actor: str, at_ms: int) -> None: ...

    def last_resolved(self, key: Key) -> tuple[int, int] | None: ...


Listener = Callable[[Change], None]
