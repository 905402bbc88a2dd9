"""The duty director's desk: what an operator does to the alerts and the duty, each
carrying the operator's identity into the audit trail (全程留痕) — acknowledge, resolve
by hand, silence, write and accept the shift report (交接班), read an alert's timeline.
The pipeline ingests and publishes; the desk acts on what it published.

Who acts is the desk's ``session``: the person signed in and how (``SIGN_IN_METHODS``).
Without one the desk is read-only. Signing in and out goes through ``runtime.signin``
(which checks the password or the OS account); the desk records it in the audit trail,
and every action's audit record says how its person signed in.

Imports: alerts (book, duty, store), feeds.hallclock, runtime.pipeline.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from alerts.book import ActionError, Silence
from alerts.duty import HandoverBook, Roster, hall_figures, shift_report
from alerts.store import NOBODY, AlertStore, signed_in
from feeds.hallclock import day_start_ms, service_day
from runtime.pipeline import Pipeline

#: How a person came to act at a desk: their password, their OS account (mapped to a
#: roster person by ``os_user``), the demo's own operator, or given by the program
#: (tests, tools) — ``Desk(pipeline, operator=NAME)``.
SIGN_IN_METHODS: Final = ("password", "os_account", "demo", "given")


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in at a desk, and how."""

    person: str
    """A roster person (a key of ``[duty.people]``) or an operators-file name."""
    method: str
    """One of ``SIGN_IN_METHODS``."""


class Desk:
    """One operator's desk on a pipeline (``operator`` None: read-only, every action is
    refused with the reason). A desk given an ``operator`` is signed in as that person
    (``method``, default "given")."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        operator: str | None = None,
        method: str = "given",
        store: AlertStore | None = None,
        roster: Roster | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.session: Session | None = Session(operator, method) if operator else None
        """Who acts here, and how they signed in: every action carries it."""
        self.store = store if store is not None else pipeline.store
        self.roster = roster or pipeline.roster

    @property
    def operator(self) -> str | None:
        """The person signed in (None: read-only)."""
        return self.session.person if self.session is not None else None

    # --- signing in and out (checked by runtime.signin; recorded here) -------------------

    def _now(self) -> int:
        return max(self.pipeline.alerts.book.now.values(), default=0)

    def _record(self, actor: str, what: str, person: str, **detail: object) -> None:
        held = self.pipeline.held
        if held is not None and self.store is held.store:
            # In order with the alert changes: held too while the store cannot be written.
            held.session_changed(actor, what, person, self._now(), detail)
        elif self.store is not None:
            self.store.session_changed(actor, what, person, self._now(), detail)

    def _storing(self, what: str) -> contextlib.AbstractContextManager[None]:
        """Around a write of this desk's own (a shift report): refused, with why, while
        the store cannot be written (``HeldChanges.direct``)."""
        held = self.pipeline.held
        if held is not None and self.store is held.store:
            return held.direct(what)
        return contextlib.nullcontext()

    def sign_in(self, person: str, method: str) -> None:
        """``person`` acts here from now on (recorded: ``signed in``, and how)."""
        if method not in SIGN_IN_METHODS:
            raise ValueError(f"unknown sign-in method {method!r}")
        if self.session is not None:
            self.sign_out("another person signed in")
        self.session = Session(person, method)
        self._record(person, "signed in", person, signed_in_by=method)

    def sign_out(self, why: str = "signed out") -> None:
        """Back to read-only (recorded: ``signed out`` and why, e.g. idle)."""
        if self.session is None:
            return
        session, self.session = self.session, None
        self._record(session.person, "signed out", session.person, why=why,
                     signed_in_by=session.method)  # fmt: skip

    def refuse_sign_in(self, claimed: str, why: str) -> None:
        """A sign-in as ``claimed`` was refused (recorded, actor ``-``: nobody signed in)."""
        self._record(NOBODY, "sign-in refused", claimed, why=why)

    def _actor(self) -> str:
        if self.session is None:
            raise ActionError(
                "no operator: sign in to act (i in the console), or give --operator NAME"
            )
        return self.session.person

    @contextlib.contextmanager
    def _acting(self) -> Iterator[str]:
        """The person acting; their audit records say how they signed in."""
        who = self._actor()
        assert self.session is not None
        with signed_in(who, self.session.method):
            yield who

    def acknowledge(self, alert_id: int, note: str = "") -> None:
        """Acknowledge an open alert as the operator (hall time of its hall)."""
        with self._acting() as who:
            self.pipeline.alerts.book.acknowledge(alert_id, who, note)
        self.pipeline.changed()

    def resolve(self, alert_id: int, note: str) -> None:
        """Resolve an open alert by hand; ``note`` says what was done (required)."""
        with self._acting() as who:
            self.pipeline.alerts.book.resolve_by_hand(alert_id, who, note)
        self.pipeline.changed()

    def silence(self, hall: str, why: str, minutes: float, rule: str | None = None,
                scope_prefix: str = "") -> Silence:  # fmt: skip
        """Silence matching alerts of ``hall`` for ``minutes`` of hall time."""
        now = self.pipeline.alerts.book.now.get(hall, 0)
        with self._acting() as who:
            s = self.pipeline.alerts.book.add_silence(
                hall, who, why, now + int(minutes * 60_000), rule, scope_prefix
            )
        self.pipeline.changed()
        return s

    def write_handover(
        self, hall: str, notes: str = "", incoming: str | None = None, at_ms: int | None = None
    ) -> str:
        """Write (and store, if there is a store) the shift report of ``hall``; Markdown.
        The report names people by their roster name, the hall by its display name.
        ``at_ms``: the hall time it is written at (a command's: the operator's screen);
        default the hall's clock."""
        who = self._actor()
        snap = self.pipeline.state.snapshots().get(hall)
        now = snap.now_ms if snap is not None else self.pipeline.alerts.book.now.get(hall, 0)
        if at_ms is not None:
            now = at_ms
        duty = self.roster.on_duty(now)
        start = duty.start_ms if duty is not None else day_start_ms(service_day(now))
        if self.store is not None:
            with self._storing("the shift report"):  # (refused at once while it fails)
                alerts = [a for a in self.store.alerts(start, now) if a.hall == hall]
        else:
            every = [*self.pipeline.alerts.book.open.values(), *self.pipeline.alerts.book.resolved]
            alerts = [a for a in every if a.hall == hall and a.fired_ms <= now]
        figures = hall_figures(snap) if snap is not None else None
        report = shift_report(hall, who, start, now, alerts, figures, notes, incoming,
                              self.roster.name_of, self.pipeline.names)  # fmt: skip
        book = self._handover_book()
        if book is not None:
            with self._acting(), self._storing("the shift report"):
                book.write_handover(hall, who, now, start, report, incoming)
            self._handovers_changed()
        return report

    def accept_handover(self, handover_id: int, note: str | None = None) -> None:
        """Accept a shift report as the incoming director."""
        book = self._handover_book()
        if book is None:
            raise ActionError("no store: handovers need a data dir")
        who = self._actor()
        found = next((h for h in book.handovers() if h["id"] == handover_id), None)
        if found is not None and found["written_by"] == who:
            raise ActionError("the incoming director accepts, not the one who wrote it")
        hall = found["hall"] if found is not None else ""
        now = self.pipeline.alerts.book.now.get(hall, 0)
        with self._acting(), self._storing("accepting the shift report"):
            book.accept_handover(handover_id, who, now, note)
        self._handovers_changed()

    def _handover_book(self) -> HandoverBook | None:
        """Where shift reports are kept: the store, or else the pipeline's own book (a
        shard's partition: ``AlertRules.keep_handovers``); None: nowhere."""
        if self.store is not None:
            return self.store
        ledger = self.pipeline.alerts.handovers
        return ledger.store if ledger is not None else None

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
        else — or when the store has none of it (written later, or never: a full disk,
        ``storage_failed``), or cannot be read — from the book's own history.
        """
        if self.store is not None:
            try:
                trail = self.store.trail(f"alert {alert_id}")
            except sqlite3.Error:
                trail = []
            if trail:
                return tuple(
                    (
                        rec["hall_ms"],
                        rec["actor"],
                        rec["action"],
                        json.loads(rec["detail"]).get("note") or "",
                    )
                    for rec in trail
                )
        book = self.pipeline.alerts.book
        for alert in (*book.open.values(), *book.resolved):
            if alert.id == alert_id:
                return tuple((ms, "", what, "") for ms, what in alert.history)
        return ()
