"""Alert rules: waiting overtime (yellow, then red) and complaints (red until settled).

Rules get two inputs: the changes of each applied batch (``ApplyResult``: tickets that
left the queue, complaints opened or closed) and, on every publish tick, the frozen hall
snapshots (tickets still waiting). A ticket that crossed a threshold and left the queue
between two ticks is still alerted — fired at the hall time it crossed, resolved when it
left — so what fires never depends on how often the engine looks.

Imports: metrics (snapshots, apply results), alerts.book.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerts.book import AlertBook
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult

WAIT_OVERTIME = "wait_overtime"
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class WaitLimits:
    """Waiting-overtime thresholds (seed 001: yellow card near the limit, red past it)."""

    limit_s: float = 1800.0
    """Default zone limit: 30 minutes of hall time."""
    yellow_share: float = 0.8
    """Yellow from this share of the limit."""
    zones: Mapping[str, float] = field(default_factory=dict)
    """Per-zone limits in seconds, by zone id."""

    def limit_ms(self, zone: str) -> int:
        return int(self.zones.get(zone, self.limit_s) * 1000)


class WaitOvertimeRule:
    """A ticket waiting past its zone's limit: yellow at a share of it, red past it."""

    def __init__(self, limits: WaitLimits | None = None) -> None:
        self.limits = limits or WaitLimits()

    def _judge(
        self,
        book: AlertBook,
        hall: str,
        ticket: str,
        zone: str,
        queued_ms: int,
        waited_ms: int,
    ) -> None:
        limit = self.limits.limit_ms(zone)
        yellow = int(limit * self.limits.yellow_share)
        scope = f"{zone}/{ticket}"
        if waited_ms >= yellow:
            book.fire(
                WAIT_OVERTIME,
                hall,
                scope,
                "yellow",
                queued_ms + yellow,
                f"ticket {ticket} ({zone}) waiting over {yellow // 60000} min",
            )
        if waited_ms >= limit:
            book.fire(
                WAIT_OVERTIME,
                hall,
                scope,
                "red",
                queued_ms + limit,
                f"ticket {ticket} ({zone}) waiting over {limit // 60000} min",
            )

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for d in result.departures:
            self._judge(book, d.hall, d.ticket, d.zone, d.queued_ms, d.left_ms - d.queued_ms)
            book.resolve(WAIT_OVERTIME, d.hall, f"{d.zone}/{d.ticket}", d.left_ms)

    def on_tick(self, book: AlertBook, halls: Mapping[str, HallSnapshot]) -> None:
        queued: set[tuple[str, str]] = set()
        for name, hall in halls.items():
            now = hall.now_ms
            for q in hall.queue:
                queued.add((name, f"{q.zone}/{q.ticket}"))
                self._judge(book, name, q.ticket, q.zone, q.queued_ms, now - q.queued_ms)
        # A ticket can vanish without leaving the queue (the service day ended under it).
        for rule, hall_name, scope in list(book.open):
            if rule == WAIT_OVERTIME and (hall_name, scope) not in queued and hall_name in halls:
                book.resolve(rule, hall_name, scope, halls[hall_name].now_ms)


class ComplaintRule:
    """Every complaint is a red alert at once, open until the complaint is settled."""

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for c in result.complaints:
            if c.opened:
                where = f" at window {c.window}" if c.window else ""
                book.fire(
                    COMPLAINT,
                    c.hall,
                    c.complaint,
                    "red",
                    c.ts,
                    f"complaint {c.complaint} via {c.channel}{where}",
                )
            else:
                book.resolve(COMPLAINT, c.hall, c.complaint, c.ts)

    def on_tick(self, book: AlertBook, halls: Mapping[str, HallSnapshot]) -> None:
        return None


class AlertEngine:
    """The rules and the book they write to."""

    def __init__(self, wait_limits: WaitLimits | None = None) -> None:
        self.book = AlertBook()
        self.rules: list[WaitOvertimeRule | ComplaintRule] = [
            WaitOvertimeRule(wait_limits),
            ComplaintRule(),
        ]

    def on_batch(self, result: ApplyResult) -> None:
        for rule in self.rules:
            rule.on_batch(self.book, result)

    def on_tick(self, halls: Mapping[str, HallSnapshot]) -> None:
        for rule in self.rules:
            rule.on_tick(self.book, halls)
