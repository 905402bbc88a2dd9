"""The supervision console: a Textual app over the pipeline's published ``View``.

The app runs the ``Supervisor`` (feeds → state → alerts) as a worker in its own event
loop and repaints from one timer at a steady rate (4 Hz by default), only when a new
``View`` was published, inside ``batch_update``, and only the screen on show. Widgets
read frozen snapshots only; nothing here touches live state. ``p`` pauses the view (not
the ingest) and counts what arrives meanwhile. Every action has a key, a line in the
``?`` help and an entry in the command palette (ctrl+p).

Imports: textual, rich, runtime, console.*.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import ContentSwitcher, DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from alerts.book import ActionError
from alerts.store import StoreError
from console.board import CYCLE_S, Board
from console.dialogs import (
    NoteDialog,
    OperatorDialog,
    ReportDialog,
    SilenceDialog,
    TimelineDialog,
)
from console.duty import DutyPanel
from console.tables import TABLE_SCREENS, AlertsTable, CityTable
from console.text import Lang, Words, default_lang, summary
from console.widgets import (
    AlertTable,
    CityStrip,
    FeedBar,
    Headline,
    ViewTable,
    WindowGrid,
    ZoneTable,
)
from feeds.replay import ReplayDriver
from runtime.supervisor import AlertView, Supervisor, View

WAIT_RULE = "wait_overtime"
#: Rules whose scope starts with a window: their card colours the window's tile.
WINDOW_RULES = frozenset({"service_overtime", "long_pause", "idle_window"})
_CARD_RANK = {"yellow": 1, "red": 2}


@dataclass(frozen=True, slots=True)
class Key:
    """One key of the console: what it does, in the help, the footer and the palette."""

    key: str
    action: str
    words: str
    """``Words`` key of its description."""
    display: str | None = None
    footer: str | None = None
    """``Words`` key of its short label in the footer; None: not in the footer."""


#: Screens in the order of their keys; "overview" is the hall's overview.
SCREEN_KEYS: tuple[tuple[str, str], ...] = (
    ("c", "city"),
    ("o", "overview"),
    ("w", "windows"),
    ("u", "queue"),
    ("a", "alerts"),
    ("k", "cases"),
    ("m", "complaints"),
    ("f", "feeds"),
    ("d", "duty"),
    ("b", "board"),
)
#: Actions that act on the selected alert, and the screens where one can be selected.
ALERT_ACTIONS = frozenset({"acknowledge", "resolve", "silence", "timeline"})
DUTY_ACTIONS = frozenset({"handover", "accept_handover"})

KEYS: tuple[Key, ...] = (
    Key("q", "quit", "key_quit", footer="f_quit"),
    Key("question_mark", "help", "key_help", "?", footer="f_help"),
    Key("f1", "help", "key_help"),
    *(Key(k, f"screen('{name}')", f"screen_{name}") for k, name in SCREEN_KEYS),
    Key("right_square_bracket", "hall(1)", "key_next_hall", "]", footer="f_next_hall"),
    Key("left_square_bracket", "hall(-1)", "key_prev_hall", "["),
    Key("slash", "filter", "key_filter", "/", footer="f_filter"),
    Key("s", "sort", "key_sort"),
    Key("S", "sort_reverse", "key_sort_reverse"),
    Key("p", "pause", "key_pause", footer="f_pause"),
    Key("l", "language", "key_lang"),
    Key("escape", "close_filter", "key_escape"),
    Key("A", "acknowledge", "key_ack", footer="f_ack"),
    Key("R", "resolve", "key_resolve", footer="f_resolve"),
    Key("X", "silence", "key_silence", footer="f_silence"),
    Key("t", "timeline", "key_timeline", footer="f_timeline"),
    Key("H", "handover", "key_handover", footer="f_handover"),
    Key("G", "accept_handover", "key_accept", footer="f_accept"),
    Key("space", "replay_pause", "key_replay_pause", "space", footer="f_replay_pause"),
    Key("full_stop", "replay_step(60)", "key_replay_step", ".", footer="f_replay_step"),
    Key(
        "greater_than_sign",
        "replay_step(900)",
        "key_replay_forward",
        ">",
        footer="f_replay_forward",
    ),
    Key("less_than_sign", "replay_step(-900)", "key_replay_back", "<", footer="f_replay_back"),
    Key("plus", "replay_speed(2)", "key_replay_faster", "+"),
    Key("minus", "replay_speed(0.5)", "key_replay_slower", "-"),
)
REPLAY_ACTIONS = frozenset({"replay_pause", "replay_step", "replay_speed"})


class HelpScreen(ModalScreen[None]):
    """Every key of the console, in the current language."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", show=False),
        Binding("question_mark", "dismiss", show=False),
        Binding("f1", "dismiss", show=False),
        Binding("q", "dismiss", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: auto; max-width: 90%; height: auto; max-height: 90%; padding: 1 2;
        border: round $accent; background: $surface;
    }
    HelpScreen Static { width: auto; }
    """

    def __init__(self, words: Words) -> None:
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        w = self.words
        text = Text()
        text.append(w["help_title"] + "\n\n", "bold")
        rows: list[tuple[str, str]] = []
        for k in KEYS:
            if k.key in ("f1", "escape"):
                continue
            rows.append((k.display or k.key, w[k.words]))
            if k.key == "left_square_bracket":
                rows.append(("1 … 9", w["key_hall_n"]))
        rows += [("Enter", w["key_enter"]), ("Esc", w["key_escape"]), ("ctrl+p", w["key_palette"])]
        for key, what in rows:
            text.append(f"  {key:<7} ", "bold")
            text.append(what + "\n")
        text.append("\n" + w["close_help"], "dim")
        with VerticalScroll():
            yield Static(text, id="help-text")


class ConsoleCommands(Provider):
    """Every key's action in the command palette, in the current language."""

    def _commands(self) -> list[tuple[str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, HallwatchApp)
        out: list[tuple[str, Callable[[], object]]] = []
        for k in KEYS:
            if k.key in ("f1", "escape"):
                continue
            out.append(
                (f"{app.words[k.words]} ({k.display or k.key})", partial(app.run_action, k.action))
            )
        for n, name in enumerate(app.hall_names, start=1):
            out.append((f"{app.words['hall']} {n}: {name}", partial(app.action_hall_number, n)))
        return out

    async def discover(self) -> AsyncIterator[DiscoveryHit]:
        for text, command in self._commands():
            yield DiscoveryHit(text, command, text=text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for text, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text)


class HallwatchApp(App[None]):
    """The console. ``supervisor`` is run here unless ``run_supervisor`` is False."""

    TITLE = "hallwatch"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    CSS = """
    Screen { layout: vertical; }
    CityStrip { height: 1; background: $boost; }
    Headline { height: auto; max-height: 4; padding: 0 1; }
    ContentSwitcher { height: 1fr; }
    #overview { height: 1fr; }
    ZoneTable { height: auto; max-height: 14; margin: 0 0 1 0; }
    WindowGrid { margin: 0 1 1 1; }
    AlertTable { height: auto; max-height: 12; }
    .section { height: 1; padding: 0 1; color: $text-muted; text-style: bold; }
    FeedBar { height: auto; max-height: 4; padding: 0 1; }
    ViewTable { height: 1fr; }
    .big-screen CityStrip, .big-screen Headline { display: none; }
    #filter { dock: bottom; display: none; }
    #filter.active { display: block; }
    """

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        title: str | None = None,
        lang: Lang | None = None,
        refresh_hz: float = 4.0,
        run_supervisor: bool = True,
        replay: ReplayDriver | None = None,
        rebuild: Callable[[], Supervisor] | None = None,
        big_screen: bool = False,
        choose_operator: Sequence[tuple[str, str]] = (),
        theme: str | None = None,
    ) -> None:
        super().__init__()
        self._textual_bindings: BindingsMap = self._bindings.copy()
        """Textual's own keys, before ours are added in the current language."""
        self.supervisor = supervisor
        if title:
            self.title = title
        self.words = Words(lang or default_lang())
        self.refresh_interval = 1.0 / refresh_hz
        self.run_supervisor = run_supervisor
        self.hall: str | None = None
        """The hall shown; the first one seen until the user picks another."""
        self.screen_name = "overview"
        self.paused_at: int | None = None
        """``events_total`` when the view was paused; None while live."""
        self.shown: View | None = None
        """The view on screen now."""
        self.hall_names: list[str] = []
        self._banner_count = -1
        self.replay = replay
        """The recording being replayed (``console --replay``), or None on live feeds."""
        self._rebuild = rebuild
        """Makes a fresh pipeline on the same replay, for a seek back in time."""
        self._pipeline: Worker[None] | None = None
        self.choose_operator = tuple(choose_operator)
        """(person id, name) of the roster: asked at start when no --operator was given."""
        self.initial_theme = theme
        """A Textual theme (``textual-light`` for a light terminal, …); None: the default."""
        self.big_screen = big_screen
        """The wall display: the board, turning to the next hall every CYCLE_S seconds."""

    def compose(self) -> ComposeResult:
        yield CityStrip(id="city-strip")
        yield Headline(id="headline")
        with ContentSwitcher(initial="overview"):
            with VerticalScroll(id="overview"):
                yield ZoneTable(id="zones", cursor_type="row", zebra_stripes=True)
                yield WindowGrid(id="window-grid")
                yield Static(id="alerts-title", classes="section")
                yield AlertTable(id="overview-alerts", cursor_type="row")
                yield FeedBar(id="feed-bar")
            for name, table in TABLE_SCREENS.items():
                yield table(id=name)
            yield DutyPanel(id="duty")
            yield Board(id="board")
        yield Input(id="filter", disabled=True)  # enabled (focusable) only while filtering
        yield Footer()

    def on_mount(self) -> None:
        self._set_language()
        if self.initial_theme:
            if self.initial_theme in self.available_themes:
                self.theme = self.initial_theme
            else:
                known = ", ".join(sorted(self.available_themes))
                self.notify(f"unknown theme {self.initial_theme!r}; known: {known}", timeout=10)
        self.query_one(ZoneTable).focus()
        if self.run_supervisor:
            self._start_pipeline()
        self.set_interval(self.refresh_interval, self.refresh_view)
        if self.choose_operator:
            self.push_screen(OperatorDialog(self.choose_operator, self.words), self._set_operator)
        if self.big_screen:
            self.add_class("big-screen")
            self.action_screen("board")
            self.set_interval(CYCLE_S, partial(self.action_hall, 1))
        self.refresh_view()

    # --- refresh -------------------------------------------------------------------------

    def refresh_view(self, *, force: bool = False) -> None:
        """Repaint from the latest published view, if it is new (or ``force``)."""
        view = self.supervisor.view
        if self.paused_at is not None:
            # Frozen view; only the banner's count of what arrived meanwhile moves.
            if self.supervisor.events_total != self._banner_count or force:
                self._banner_count = self.supervisor.events_total
                self._render(self.shown or view)
            return
        if view is self.shown and not force:
            return
        self._render(view)

    def _render(self, view: View) -> None:
        halls = view.city.halls
        self.hall_names = list(halls)
        if self.hall not in halls and halls:
            self.hall = self.hall_names[0]
        words = self.words
        hall = halls.get(self.hall) if self.hall else None
        with self.batch_update():
            self.shown = view
            self.query_one(CityStrip).show(halls, self.hall, view.alerts, words)
            if hall is not None:
                self.query_one(Headline).show(hall, words, self._pause_banner())
            if self.screen_name == "overview":
                self._render_overview(view, words)
            else:
                panel = self.query_one(f"#{self.screen_name}", ViewTable | DutyPanel | Board)
                panel.show(view, hall, words)

    def _render_overview(self, view: View, words: Words) -> None:
        hall = view.city.halls.get(self.hall) if self.hall else None
        if hall is not None:
            cards: dict[str, str] = {}
            for a in view.alerts:
                if a.hall == hall.hall and a.rule == WAIT_RULE:
                    zone = a.scope.split("/", 1)[0]
                    if _CARD_RANK[a.severity] > _CARD_RANK.get(cards.get(zone, ""), 0):
                        cards[zone] = a.severity
            self.query_one(ZoneTable).show(hall, cards)
            window_cards: dict[str, str] = {}
            for a in view.alerts:
                if a.hall == hall.hall and a.rule in WINDOW_RULES:
                    window = a.scope.split("/", 1)[0]
                    if _CARD_RANK[a.severity] > _CARD_RANK.get(window_cards.get(window, ""), 0):
                        window_cards[window] = a.severity
            self.query_one(WindowGrid).show(hall, words, window_cards)
        alerts = [a for a in view.alerts if self.hall is None or a.hall == self.hall]
        title = f"{words['alerts']} {len(alerts)}" if alerts else words["no_alerts"]
        self.query_one("#alerts-title", Static).update(title)
        self.query_one(AlertTable).show(alerts, words)
        self.query_one(FeedBar).show(view.city.feeds, words)

    def _pause_banner(self) -> str | None:
        words = self.words
        parts = []
        if self.replay is not None:
            speed = "max" if self.replay.speed is None else f"{self.replay.speed:g}x"
            state = words["replay_paused"] if self.replay.paused else f"▶ {speed}"
            parts.append(f" {words['replay']} {state} ")
        if self.paused_at is not None:
            arrived = self.supervisor.events_total - self.paused_at
            parts.append(f" {words['paused_view']} · {arrived} {words['arrived_meanwhile']} ")
        return " ".join(parts) or None

    def _set_language(self) -> None:
        words = self.words
        self.query_one(ZoneTable).set_language(words)
        self.query_one(AlertTable).set_language(words)
        for table in self.query(ViewTable):
            table.set_language(words)
        self.query_one("#filter", Input).placeholder = words["filter_placeholder"]
        # Textual's own keys (ctrl+q, ctrl+p for the palette …) stay; ours get the words
        # of the current language in the footer.
        bindings = self._textual_bindings.copy()
        ours = [
            Binding(
                k.key,
                k.action,
                words[k.footer or k.words],
                show=k.footer is not None,
                key_display=k.display,
            )
            for k in KEYS
        ]
        ours += [Binding(str(n), f"hall_number({n})", show=False) for n in range(1, 10)]
        for binding in ours:
            bindings.key_to_bindings[binding.key] = [binding]
        self._bindings = bindings
        self.refresh_bindings()

    def _show_now(self) -> None:
        view = self.shown if self.paused_at is not None and self.shown else self.supervisor.view
        self._render(view)

    def _table(self) -> ViewTable | None:
        if self.screen_name not in TABLE_SCREENS:
            return None
        return self.query_one(f"#{self.screen_name}", ViewTable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Alert keys only where an alert can be selected; duty keys on the duty screen."""
        if action in ALERT_ACTIONS:
            return self.screen_name in ("alerts", "overview")
        if action in DUTY_ACTIONS:
            return self.screen_name == "duty"
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        return True

    # --- actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.words))

    def action_screen(self, name: str) -> None:
        self.screen_name = name
        self.query_one(ContentSwitcher).current = name
        table = self._table()
        if table is not None:
            table.focus()
        elif name == "overview":
            self.query_one(ZoneTable).focus()
        self.refresh_bindings()
        self._show_now()

    # --- replay (console --replay): the data's clock, not the view's ----------------------

    def _set_operator(self, person: str | None) -> None:
        if person:
            self.supervisor.operator = person
            self.notify(f"{self.words['operator']}: {person}")

    def _start_pipeline(self) -> None:
        self._pipeline = self.run_worker(self.supervisor.run(), name="pipeline", exit_on_error=True)

    def action_replay_pause(self) -> None:
        if self.replay is not None:
            (self.replay.resume if self.replay.paused else self.replay.pause)()
            self._render(self.supervisor.view)

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
        self.supervisor.close()
        self.supervisor = self._rebuild()
        self.shown = None
        self._start_pipeline()

    def action_replay_speed(self, factor: float) -> None:
        if self.replay is not None and self.replay.speed is not None:
            self.replay.set_speed(min(max(self.replay.speed * factor, 1.0), 100_000.0))
            self._render(self.supervisor.view)

    # --- alert and duty actions: each goes through the Supervisor, as the operator -------

    def _selected_alert(self) -> AlertView | None:
        """The alert under the cursor of the alerts table on show (or the first one)."""
        table: DataTable[str | Text] = (
            self.query_one(AlertsTable)
            if self.screen_name == "alerts"
            else self.query_one(AlertTable)
        )
        if table.row_count == 0 or self.shown is None:
            self.notify(self.words["no_alert_selected"], severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        every = (*self.shown.alerts, *self.shown.resolved)
        return next((a for a in every if str(a.id) == key), None)

    def _act(self, what: Callable[[], object]) -> bool:
        """Run a supervisor action; a refusal is shown, never raised into the screen."""
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
            if note is not None and self._act(lambda: self.supervisor.acknowledge(alert.id, note)):
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
            if note and self._act(lambda: self.supervisor.resolve(alert.id, note)):
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
                if self._act(lambda: self.supervisor.silence(alert.hall, why, minutes, alert.rule)):
                    self.notify(f"{self.words['silenced']} {minutes:g} min")

        self.push_screen(SilenceDialog(title, self.words), done)

    def action_timeline(self) -> None:
        alert = self._selected_alert()
        if alert is not None:
            records = self.supervisor.timeline(alert.id)
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
            if self._act(lambda: report.append(self.supervisor.write_handover(hall, notes))):
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
                lambda: self.supervisor.accept_handover(handover_id, note or None)
            ):
                self.notify(f"#{handover_id} {self.words['accepted']}")

        self.push_screen(NoteDialog(f"{self.words['key_accept']} #{handover_id}", self.words), done)

    def action_hall(self, step: int) -> None:
        if self.hall_names:
            i = self.hall_names.index(self.hall) if self.hall in self.hall_names else 0
            self.hall = self.hall_names[(i + step) % len(self.hall_names)]
            self._show_now()

    def action_hall_number(self, n: int) -> None:
        if 0 < n <= len(self.hall_names):
            self.hall = self.hall_names[n - 1]
            self._show_now()

    def action_pause(self) -> None:
        self.paused_at = None if self.paused_at is not None else self.supervisor.events_total
        self._show_now()

    def action_language(self) -> None:
        self.words = Words("en" if self.words.lang == "zh" else "zh")
        self._set_language()
        self._show_now()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        table = self._table()
        box.value = table.filter_text if table else ""
        box.disabled = False
        box.add_class("active")
        box.focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("active"):
            self._close_filter(box)

    def action_sort(self) -> None:
        if (table := self._table()) is not None:
            table.cycle_sort(self.words)
            self._show_now()

    def action_sort_reverse(self) -> None:
        if (table := self._table()) is not None:
            table.cycle_sort(self.words, reverse=True)
            self._show_now()

    # --- events --------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        if (table := self._table()) is not None:
            table.filter_text = event.value
            self._show_now()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self._close_filter(event.input)

    def _close_filter(self, box: Input) -> None:
        """Hide the filter box; the filter stays applied (``/`` then Enter on empty clears)."""
        box.remove_class("active")
        box.disabled = True
        (self._table() or self.query_one(ZoneTable)).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter opens: a hall of the city table, the timeline of an alert."""
        if isinstance(event.data_table, CityTable) and event.row_key.value in self.hall_names:
            self.hall = event.row_key.value
            self.action_screen("overview")
        elif isinstance(event.data_table, AlertsTable | AlertTable):
            self.action_timeline()
