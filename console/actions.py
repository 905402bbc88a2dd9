"""What the person at the console does to the data: the replay's clock (``console
--replay``), and alerts and duty through the desk, as the operator. A mixin of
``HallwatchApp``: the app owns the state these read (``desk``, ``shown``, ``words``).

Imports: textual, alerts (errors), runtime, feeds.replay, console.*.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from alerts.book import ActionError
from alerts.store import StoreError
from console.dialogs import NoteDialog, ReportDialog, SilenceDialog, TimelineDialog
from console.tables import AlertsTable
from console.text import Words, summary
from console.widgets import AlertTable
from feeds.replay import ReplayDriver
from runtime.desk import Desk
from runtime.view import AlertView, View


class OperatorActions:
    """Replay, alert and duty actions of the console (mixed into ``HallwatchApp``, which
    provides the Textual side: ``notify``, ``push_screen``, ``query_one``, ``run_worker``)."""

    desk: Desk
    replay: ReplayDriver | None
    _rebuild: Callable[[], Desk] | None
    _pipeline: Worker[None] | None
    words: Words
    shown: View | None
    screen_name: str
    hall: str | None

    # --- replay (console --replay): the data's clock, not the view's ----------------------

    def _set_operator(self, person: str | None) -> None:
        if person:
            self.desk.operator = person
            self.notify(f"{self.words['operator']}: {person}")

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
        self.desk = self._rebuild()
        self.shown = None
        self._start_pipeline()

    def action_replay_speed(self, factor: float) -> None:
        if self.replay is not None and self.replay.speed is not None:
            self.replay.set_speed(min(max(self.replay.speed * factor, 1.0), 100_000.0))
            self._render(self.desk.pipeline.view)

    # --- alert and duty actions: each goes through the desk, as the operator ------------

    def _selected_alert(self) -> AlertView | None:
        """The alert under the cursor of the alert table the user is looking at: the
        alerts screen's, or the overview's alert list once it has the focus (it may be
        below the fold: an action never lands on an alert nobody can see)."""
        table: DataTable[str | Text]
        if self.screen_name == "alerts":
            table = self.query_one(AlertsTable)
        else:
            table = self.query_one(AlertTable)
            if not table.has_focus:
                self.notify(self.words["no_alert_selected"], severity="warning")
                return None
        if table.row_count == 0 or self.shown is None:
            self.notify(self.words["no_alert_selected"], severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
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
        if alert is None:
            return
        title = f"{self.words['key_ack']}: #{alert.id} {summary(alert.summary, self.words.lang)}"

        def done(note: str | None) -> None:
            if note is not None and self._act(lambda: self.desk.acknowledge(alert.id, note)):
                self.notify(f"#{alert.id} {self.words['acknowledged']}")

        self.push_screen(NoteDialog(title, self.words), done)

    def action_resolve(self) -> None:
        alert = self._selected_alert()
        if alert is None:
            return
        title = (
            f"{self.words['key_resolve']}: #{alert.id} {summary(alert.summary, self.words.lang)}"
        )

        def done(note: str | None) -> None:
            if note and self._act(lambda: self.desk.resolve(alert.id, note)):
                self.notify(f"#{alert.id} {self.words['resolved']}")

        self.push_screen(NoteDialog(title, self.words, required=True), done)

    def action_silence(self) -> None:
        alert = self._selected_alert()
        if alert is None:
            return
        title = f"{self.words['key_silence']}: {alert.hall} · {self.words[alert.rule]}"

        def done(answer: tuple[float, str] | None) -> None:
            if answer is not None:
                minutes, why = answer
                if self._act(lambda: self.desk.silence(alert.hall, why, minutes, alert.rule)):
                    self.notify(f"{self.words['silenced']} {minutes:g} min")

        self.push_screen(SilenceDialog(title, self.words), done)

    def action_timeline(self) -> None:
        alert = self._selected_alert()
        if alert is not None:
            records = self.desk.timeline(alert.id)
            self.push_screen(
                TimelineDialog(
                    f"#{alert.id} {summary(alert.summary, self.words.lang)}", records, self.words
                )
            )

    def action_handover(self) -> None:
        if self.hall is None:
            return
        hall = self.hall

        def done(notes: str | None) -> None:
            if notes is None:
                return
            report: list[str] = []
            if self._act(lambda: report.append(self.desk.write_handover(hall, notes))):
                self.push_screen(ReportDialog(report[0]))

        self.push_screen(NoteDialog(f"{self.words['key_handover']}: {hall}", self.words), done)

    def action_accept_handover(self) -> None:
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
