"""The duty director's desk: what an operator does to the alerts and the duty, each
carrying the operator's identity into the audit trail (全程留痕) — acknowledge, resolve
by hand, silence, write and accept the shift report (交接班), read an alert's timeline.
The pipeline ingests and publishes; the desk acts on what it published.

Imports: alerts (book, duty, store), feeds.hallclock, runtime.pipeline.
"""

from __future__ import annotations

import json

from alerts.book import ActionError, Silence
from alerts.duty import Roster, hall_figures, shift_report
from alerts.store import AlertStore
from feeds.hallclock import day_start_ms, service_day
from runtime.pipeline import Pipeline


class Desk:
    """One operator's desk on a pipeline (``operator`` None: read-only, every action is
    refused with the reason)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        operator: str | None = None,
        store: AlertStore | None = None,
        roster: Roster | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.operator = operator
        """Who acts here: every action carries it."""
        self.store = store if store is not None else pipeline.store
        self.roster = roster or pipeline.roster

    def _actor(self) -> str:
        if not self.operator:
            raise ActionError("no operator: start the console with --operator NAME")
        return self.operator

    def acknowledge(self, alert_id: int, note: str = "") -> None:
        """Acknowledge an open alert as the operator (hall time of its hall)."""
        self.pipeline.alerts.book.acknowledge(alert_id, self._actor(), note)
        self.pipeline.changed()

    def resolve(self, alert_id: int, note: str) -> None:
        """Resolve an open alert by hand; ``note`` says what was done (required)."""
        self.pipeline.alerts.book.resolve_by_hand(alert_id, self._actor(), note)
        self.pipeline.changed()

    def silence(self, hall: str, why: str, minutes: float, rule: str | None = None,
                scope_prefix: str = "") -> Silence:  # fmt: skip
        """Silence matching alerts of ``hall`` for ``minutes`` of hall time."""
        now = self.pipeline.alerts.book.now.get(hall, 0)
        s = self.pipeline.alerts.book.add_silence(
            hall, self._actor(), why, now + int(minutes * 60_000), rule, scope_prefix
        )
        self.pipeline.changed()
        return s

    def write_handover(self, hall: str, notes: str = "", incoming: str | None = None) -> str:
        """Write (and store, if there is a store) the shift report of ``hall``; Markdown."""
        who = self._actor()
        snap = self.pipeline.state.snapshots().get(hall)
        now = snap.now_ms if snap is not None else self.pipeline.alerts.book.now.get(hall, 0)
        duty = self.roster.on_duty(now)
        start = duty.start_ms if duty is not None else day_start_ms(service_day(now))
        if self.store is not None:
            alerts = [a for a in self.store.alerts(start, now) if a.hall == hall]
        else:
            every = [*self.pipeline.alerts.book.open.values(), *self.pipeline.alerts.book.resolved]
            alerts = [a for a in every if a.hall == hall and a.fired_ms <= now]
        figures = hall_figures(snap) if snap is not None else None
        report = shift_report(hall, who, start, now, alerts, figures, notes, incoming)
        if self.store is not None:
            self.store.write_handover(hall, who, now, start, report, incoming)
            self._handovers_changed()
        return report

    def accept_handover(self, handover_id: int, note: str | None = None) -> None:
        """Accept a shift report as the incoming director."""
        if self.store is None:
            raise ActionError("no store: handovers need a data dir")
        who = self._actor()
        found = next((h for h in self.store.handovers() if h["id"] == handover_id), None)
        if found is not None and found["written_by"] == who:
            raise ActionError("the incoming director accepts, not the one who wrote it")
        hall = found["hall"] if found is not None else ""
        now = self.pipeline.alerts.book.now.get(hall, 0)
        self.store.accept_handover(handover_id, who, now, note)
        self._handovers_changed()

    def _handovers_changed(self) -> None:
        """This desk wrote or accepted a shift report: the view and the rules see it now
        (another process's are seen at the next ``Pipeline.sync_store``)."""
        ledger = self.pipeline.alerts.handovers
        if ledger is not None:
            ledger.refresh()
        self.pipeline.changed()

    def timeline(self, alert_id: int) -> tuple[tuple[int, str, str, str], ...]:
        """One alert's trail, oldest first: (hall ms, who, what, note).

        From the audit trail when there is a store (it outlives the in-memory book),
        else from the book's own history.
        """
        if self.store is not None:
            return tuple(
                (
                    rec["hall_ms"],
                    rec["actor"],
                    rec["action"],
                    json.loads(rec["detail"]).get("note") or "",
                )
                for rec in self.store.trail(f"alert {alert_id}")
            )
        book = self.pipeline.alerts.book
        for alert in (*book.open.values(), *book.resolved):
            if alert.id == alert_id:
                return tuple((ms, "", what, "") for ms, what in alert.history)
        return ()
