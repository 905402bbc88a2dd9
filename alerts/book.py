"""The alert book: identity, dedup, severity that only rises, firing → resolved.

An alert is identified by rule + hall + scope (a ticket, a zone, a complaint). Dedup is
only against open alerts: a condition that comes back after its alert resolved opens a
new alert that links to the old one. Yellow rising to red is one alert, never falling
back. Every time is hall time, stamped from the condition itself rather than from when
the engine happened to look, so a replay at any speed gives the same alerts.

Imports: the standard library only.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

SEVERITIES: Final = ("yellow", "red")
_RANK: Final = {name: i for i, name in enumerate(SEVERITIES)}


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
    """firing | resolved"""
    raised_ms: int | None = None
    """When it rose to red (None if it fired red or stayed yellow)."""
    resolved_ms: int | None = None
    previous: int | None = None
    """The alert of the same identity that resolved before this one fired."""
    history: list[tuple[int, str]] = field(default_factory=list)
    """(hall ms, what happened), in order."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.hall, self.scope)


Listener = Callable[[Alert, str], None]


class AlertBook:
    """Open alerts by identity, plus a bounded tail of resolved ones."""

    def __init__(self, keep_resolved: int = 2000) -> None:
        self.open: dict[tuple[str, str, str], Alert] = {}
        self.resolved: deque[Alert] = deque(maxlen=keep_resolved)
        self._last_id: dict[tuple[str, str, str], int] = {}
        self._next_id = 1
        self.listeners: list[Listener] = []

    def _emit(self, alert: Alert, what: str, at_ms: int) -> None:
        alert.history.append((at_ms, what))
        for listener in self.listeners:
            listener(alert, what)

    def fire(
        self, rule: str, hall: str, scope: str, severity: str, at_ms: int, summary: str
    ) -> Alert:
        """Open the alert, or raise an open one's severity. Never lowers it."""
        key = (rule, hall, scope)
        alert = self.open.get(key)
        if alert is None:
            alert = Alert(
                id=self._next_id,
                rule=rule,
                hall=hall,
                scope=scope,
                severity=severity,
                fired_ms=at_ms,
                summary=summary,
                previous=self._last_id.get(key),
            )
            self._next_id += 1
            self.open[key] = alert
            self._emit(alert, f"fired {severity}", at_ms)
        elif _RANK[severity] > _RANK[alert.severity]:
            alert.severity = severity
            alert.raised_ms = at_ms
            alert.summary = summary
            self._emit(alert, f"raised to {severity}", at_ms)
        return alert

    def resolve(self, rule: str, hall: str, scope: str, at_ms: int) -> Alert | None:
        alert = self.open.pop((rule, hall, scope), None)
        if alert is None:
            return None
        alert.state = "resolved"
        alert.resolved_ms = at_ms
        self._last_id[alert.key] = alert.id
        if len(self._last_id) > 4 * (self.resolved.maxlen or 1):
            self._last_id.clear()  # links are a convenience; memory stays bounded
        self.resolved.append(alert)
        self._emit(alert, "resolved", at_ms)
        return alert

    def active(self) -> list[Alert]:
        """Open alerts, red first, then oldest first."""
        return sorted(self.open.values(), key=lambda a: (-_RANK[a.severity], a.fired_ms, a.id))

    def counts(self) -> Counter[tuple[str, str, str]]:
        """(hall, rule, severity) → open alerts."""
        return Counter((a.hall, a.rule, a.severity) for a in self.open.values())
