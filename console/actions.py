"""What the person at the console does to the data: the replay's clock (``console
--replay``), signing in and out, and alerts and duty through the desk, as the operator
signed in (read-only until then: an action says "sign in to act"). A mixin of
``HallwatchApp``: the app owns the state these read (``desk``, ``sign_in``, ``shown``,
``words``).

Imports: textual, alerts (errors), runtime, feeds.replay, console.*.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

from textual.worker import Worker, WorkerCancelled, WorkerFailed

from alerts.book import ActionError
from alerts.store import StoreError
from console.dialogs import (
    NoteDialog,
    ReportDialog,
    SignInDialog,
    SilenceDialog,
    SortDialog,
    TimelineDialog,
)
from console.grid import KeyedTable
from console.tables import AlertsTable, BacklogTable
from console.text import Words
from console.widgets import AlertTable
from feeds.replay import ReplayDriver
from runtime.desk import Desk
from runtime.signin import SignIn
from runtime.view import AlertView, View


class OperatorActions:
    """Replay, alert and duty actions of the console (mixed into ``HallwatchApp``, which
    provides the Textual side: ``notify``, ``push_screen``, ``query_one``, ``run_worker``)."""

    desk: Desk
    sign_in: SignIn
    replay: ReplayDriver | None
    _rebuild: Callable[[], Desk] | None
    _pipeline: Worker[None] | None
    words: Words
    shown: View | None
    screen_name: str
    hall: str | None

    # --- signing in and out ---------------------------------------------------------------

    def _sign_in_at_start(self) -> None:
        """By itself when the OS account maps to a person (or in the demo), never in a
        browser; the password dialog when ``--operator`` named someone else."""
        if self.desk.session is not None:
            return
        if self.sign_in.auto is not None and not self.is_web:
            self._signed_in(self.sign_in.sign_in_auto(self.desk))
        elif self.sign_in.ask is not None and self.sign_in.has_passwords:
            self.action_sign_in()

    def _signed_in(self, done: bool = True) -> None:
        session = self.desk.session
        if done and session is not None:
            name = self.desk.roster.name_of(session.person)
            how = self.words[f"by_{session.method}"]
            self.notify(f"{self.words['signed_in_as']} {name} ({how})")
        self.refresh_bindings()
        self._show_now()

    def _signed_out(self, why: str) -> None:
        self.desk.sign_out(why)
        self.notify(self.words["signed_out_idle" if why == "idle" else "signed_out"],
                    timeout=30 if why == "idle" else 5)  # fmt: skip
        self.refresh_bindings()

    def action_sign_in(self) -> None:
        if self.desk.session is not None:
            return
        if self.sign_in.auto is not None and not self.is_web:
            self._signed_in(self.sign_in.sign_in_auto(self.desk))
            return
        if not self.sign_in.has_passwords:
            self.notify(self.words["no_passwords"], severity="warning", timeout=10)
            return

        async def check(who: str, password: str) -> str | None:
            refusal = await self.sign_in.attempt(self.desk, who, password)
            if refusal is None:
                return None
            if refusal == "wait":
                return f"{self.words['sign_in_wait']} {math.ceil(self.sign_in.wait_s())} s"
            return self.words[f"sign_in_{refusal}"]

        def done(person: str | None) -> None:
            if person is not None:
                self._signed_in()

        dialog = SignInDialog(self.sign_in.people(), self.words, check, self.sign_in.ask or "")
        self.push_screen(dialog, done)

    def action_sign_out(self) -> None:
        if self.desk.session is not None:
            self._signed_out("signed out")
            self._show_now()

    def _may_act(self) -> bool:
        """Whether someone is signed in; if not, say so (nothing is written)."""
        if self.desk.session is None:
            self.notify(self.words["sign_in_to_act"], severity="warning")
            return False
        return True

    # --- replay (console --replay): the data's clock, not the view's ----------------------

    def _start_pipeline(self) -> None:
        self._pipeline = self.run_worker(
            self.desk.pipeline.run(), name="pipeline", exit_on_error=True
        )

    def action_replay_pause(self) -> None:
        if self.replay is not None:
            (self.replay.resume if self.replay.paused else self.replay.pause)()
            self._render(self.desk.pipeline.view)

    async def action_replay_step(self, seconds: float) -> None:
        """Move the replay's hall clock; back in time rebuilds the pipeline from the start
        of the recording (state cannot be un-applied), forward releases what lies between."""
        replay = self.replay
        if replay is None:
            return
        if seconds >= 0:
            replay.step(seconds)
            return
        target = max(
            replay.events[0].ts if replay.events else 0, replay.hall_ms + int(seconds * 1000)
        )
        if self._rebuild is None:
            return
        # Stop the old pipeline before the seek, or its source would take the events the
        # seek releases again.
        if self._pipeline is not None:
            self._pipeline.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await self._pipeline.wait()
        replay.seek(target)
        self.desk.pipeline.close()
        session = self.desk.session
        self.desk = self._rebuild()
        self.desk.session = session  # the same person goes on acting on the new pipeline
        self.shown = None
        self._start_pipeline()

    def action_replay_speed(self, factor: float) -> None:
        if self.replay is not None and self.replay.speed is not None:
            self.replay.set_speed(min(max(self.replay.speed * factor, 1.0), 100_000.0))
            self._render(self.desk.pipeline.view)

    # --- tables -----------------------------------------------------------------------------

    def action_sort_by(self) -> None:
        """``s``: the sort menu of the table on screen; a column's key sorts by it (the
        current column again reverses the order), ``0`` goes back to the natural order."""
        table = self._table()
        if table is None:
            return
        words = self.words
        headings = [words[c] for c in table.COLUMNS]

        def done(column: int | None) -> None:
            if column is None:
                return
            if column < 0:
                table.sort_column, table.sort_reverse = None, False
            elif column == table.sort_column:
                table.sort_reverse = not table.sort_reverse
            else:
                table.sort_column, table.sort_reverse = column, False
            table.set_language(self.words)
            self._show_now()

        dialog = SortDialog(headings, words, table.sort_column, table.sort_reverse)
        self.push_screen(dialog, done)

    # --- alert and duty actions: each goes through the desk, as the operator ------------

    def _selected_alert(self) -> AlertView | None:
        """The alert under the cursor of the alert table the user is looking at: the
        alerts or the backlog screen's, or the overview's alert list once it has the
        focus (it may be below the fold: an action never lands on an alert nobody can
        see)."""
        table: KeyedTable
        if self.screen_name == "alerts":
            table = self.query_one(AlertsTable)
        elif self.screen_name == "backlog":
            table = self.query_one(BacklogTable)
        else:
            table = self.query_one(AlertTable)
            if not table.has_focus:
                self.notify(self.words["no_alert_selected"], severity="warning")
                return None
        if table.row_count == 0 or self.shown is None:
            self.notify(self.words["no_alert_selected"], severity="warning")
            return None
        key = table.cursor_key
        every = (*self.shown.alerts, *self.shown.resolved)
        return next((a for a in every if str(a.id) == key), None)

    def _act(self, what: Callable[[], object]) -> bool:
        """Run a desk action; a refusal is shown, never raised into the screen."""
        try:
            what()
        except (ActionError, StoreError, ValueError) as error:
            self.notify(str(error), severity="error", timeout=8)
            return False
        return True

    def action_acknowledge(self) -> None:
        alert = self._selected_alert()
        if alert is None or not self._may_act():
            return
        title = f"{self.words['key_ack']}: #{alert.id} {self.words.alert(alert)}"

        def done(note: str | None) -> None:
            if note is not None and self._act(lambda: self.desk.acknowledge(alert.id, note)):
                self.notify(f"#{alert.id} {self.words['acknowledged']}")

        self.push_screen(NoteDialog(title, self.words), done)

    def action_resolve(self) -> None:
        alert = self._selected_alert()
        if alert is None or not self._may_act():
            return
        title = f"{self.words['key_resolve']}: #{alert.id} {self.words.alert(alert)}"

        def done(note: str | None) -> None:
            if note and self._act(lambda: self.desk.resolve(alert.id, note)):
                self.notify(f"#{alert.id} {self.words['resolved']}")

        self.push_screen(NoteDialog(title, self.words, required=True), done)

    def action_silence(self) -> None:
        alert = self._selected_alert()
        if alert is None or not self._may_act():
            return
        w = self.words
        hall, rule = w.hall(alert.hall), w[alert.rule]
        title = f"{w['key_silence']}: #{alert.id} {hall} · {rule}"
        whole = w["silence_whole_rule"].format(rule=rule, hall=hall)

        def done(answer: tuple[float, str, bool] | None) -> None:
            if answer is None:
                return
            minutes, why, whole_rule = answer
            # One alert: its rule and scope; the rule: every alert of it in the hall.
            scope = "" if whole_rule else alert.scope
            if self._act(lambda: self.desk.silence(alert.hall, why, minutes, alert.rule, scope)):
                what = whole if whole_rule else w["silence_this_alert"].format(id=alert.id)
                self.notify(f"{w['silenced']} {minutes:g} min: {what}")

        self.push_screen(SilenceDialog(title, w, whole), done)

    def action_timeline(self) -> None:
        alert = self._selected_alert()
        if alert is not None:
            records = self.desk.timeline(alert.id)
            self.push_screen(
                TimelineDialog(f"#{alert.id} {self.words.alert(alert)}", records, self.words)
            )

    def action_handover(self) -> None:
        if self.hall is None or not self._may_act():
            return
        hall = self.hall

        def done(notes: str | None) -> None:
            if notes is None:
                return
            report: list[str] = []
            if self._act(lambda: report.append(self.desk.write_handover(hall, notes))):
                self.push_screen(ReportDialog(report[0]))

        title = f"{self.words['key_handover']}: {self.words.hall(hall)}"
        self.push_screen(NoteDialog(title, self.words), done)

    def action_accept_handover(self) -> None:
        if not self._may_act():
            return
        waiting = self.shown.handovers_unaccepted if self.shown else ()
        if not waiting:
            self.notify(self.words["no_handover"], severity="warning")
            return
        handover_id = waiting[0][0]

        def done(note: str | None) -> None:
            if note is not None and self._act(
                lambda: self.desk.accept_handover(handover_id, note or None)
            ):
                self.notify(f"#{handover_id} {self.words['accepted']}")

        self.push_screen(NoteDialog(f"{self.words['key_accept']} #{handover_id}", self.words), done)
