"""The supervision console: a Textual app over the pipeline's published ``View``.

The app runs the desk's ``Pipeline`` (feeds → state → alerts) as a worker in its own event
loop and repaints from one timer at a steady rate (4 Hz by default), only when a new
``View`` was published, inside ``batch_update``, and only the screen on show. Widgets
read frozen snapshots only; nothing here touches live state. ``p`` pauses the view (not
the ingest) and counts what arrives meanwhile. Every action has a key, a line in the
``?`` help and an entry in the command palette (ctrl+p).

The console is read-only until someone signs in (``i``; by itself when the OS account
maps to a roster person, or in the demo — never in a browser); ``I`` signs out, and so
does a key-less idle time (the sign-in gate, ``runtime.signin``, keeps the clock).

Imports: textual, rich, runtime, console.*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingsMap
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Input
from textual.worker import Worker

from console.actions import OperatorActions
from console.alarm import Alarm
from console.board import CYCLE_S, Board
from console.duty import DutyPanel
from console.grid import KeyedTable
from console.keys import (
    ALERT_ACTIONS,
    DUTY_ACTIONS,
    KEYS,
    REPLAY_ACTIONS,
    SESSION_ACTIONS,
    ConsoleCommands,
    HelpScreen,
    is_province_key,
    palette_binding,
    system_commands,
)
from console.tables import TABLE_SCREENS, AlertsTable, BacklogTable, CityTable, silence_ends
from console.text import Lang, Words, default_lang, newest_clock, when
from console.widgets import (
    AlertDetail,
    AlertsTitle,
    AlertTable,
    CityStrip,
    FeedBar,
    Headline,
    ViewTable,
    WindowGrid,
    ZoneTable,
    worst_cards,
)
from feeds.replay import ReplayDriver
from runtime.config import ConsoleConfig
from runtime.desk import Desk
from runtime.signin import SignIn
from runtime.view import AlertCounts, AlertView, View, alert_counts, live_order, split_live

#: Rules whose scope starts with a zone: their card colours the zone's longest wait.
ZONE_RULES = frozenset({"wait_overtime"})
#: Rules whose scope starts with a window: their card colours the window's tile.
WINDOW_RULES = frozenset({"service_overtime", "long_pause", "idle_window"})
#: Below this many rows the overview's alert list is shorter (80x24 keeps the zones).
SHORT_ROWS = 32
#: Below this many columns the key bar keeps the keys that act (A R X t) and drops the
#: ones the help and the palette still have (next hall, filter, pause).
NARROW_COLUMNS = 100
WIDE_ONLY_KEYS = frozenset({"hall(1)", "filter", "pause"})


class HallwatchApp(OperatorActions, App[None]):
    """The console: ``desk.pipeline`` is run here unless ``run_pipeline`` is False; actions
    go through ``desk``."""

    TITLE = "hallwatch"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    province: ClassVar[bool] = False
    """The console over the province's NATS cluster (``console.province``): its keys apply."""
    CSS = """
    Screen { layout: vertical; }
    CityStrip { height: 1; background: $boost; }
    Headline { height: 2; padding: 0 1; }
    ContentSwitcher { height: 1fr; }
    #overview { height: 1fr; }
    ZoneTable { height: auto; max-height: 14; margin: 1 0 1 0; }
    WindowGrid { margin: 0 1 1 1; }
    AlertTable { height: auto; max-height: 10; }
    .short AlertTable { max-height: 6; }
    .short AlertDetail { max-height: 1; }
    .section { height: 1; padding: 0 1; color: $text-muted; text-style: bold; }
    FeedBar { height: auto; max-height: 4; padding: 0 1; }
    ViewTable { height: 1fr; }
    .big-screen CityStrip, .big-screen Headline { display: none; }
    #filter { dock: bottom; display: none; }
    #filter.active { display: block; }
    """

    def __init__(
        self,
        desk: Desk,
        *,
        title: str | None = None,
        lang: Lang | None = None,
        refresh_hz: float = 4.0,
        run_pipeline: bool = True,
        replay: ReplayDriver | None = None,
        rebuild: Callable[[], Desk] | None = None,
        big_screen: bool = False,
        sign_in: SignIn | None = None,
        theme: str | None = None,
        alarm: ConsoleConfig | None = None,
        history_until_ms: int = 0,
    ) -> None:
        super().__init__()
        self._textual_bindings: BindingsMap = self._bindings.copy()
        """Textual's own keys, before ours are added in the current language."""
        self.desk = desk
        if title:
            self.title = title
        self.words = Words(lang or default_lang())
        self.refresh_interval = 1.0 / refresh_hz
        self.run_pipeline = run_pipeline
        self.hall: str | None = None
        """The hall shown; the first one seen until the user picks another."""
        self.screen_name = "overview"
        self.paused_at: int | None = None
        """``events_total`` when the view was paused; None while live."""
        self.shown: View | None = None
        """The view on screen now."""
        self._narrow = False
        """The key bar is in its narrow form (``NARROW_COLUMNS``)."""
        self._live: dict[str, AlertView] = {}
        """The overview's live alerts by row key, for the detail line."""
        self.hall_names: list[str] = []
        self._banner_count = -1
        self.replay = replay
        """The recording being replayed (``console --replay``), or None on live feeds."""
        self._rebuild = rebuild
        """Makes a fresh pipeline on the same replay, for a seek back in time."""
        self._pipeline: Worker[None] | None = None
        self.sign_in = sign_in or SignIn(desk.roster, auto=desk.session)
        """Who may sign in here and how; the idle clock (default: the desk's own person
        signs in again on ``i``, nobody by password)."""
        self.initial_theme = theme
        """A Textual theme (``textual-light`` for a light terminal, …); None: the default."""
        self.big_screen = big_screen
        """The wall display: the board, turning to the next hall every CYCLE_S seconds."""
        self.history_until_ms = history_until_ms
        """Events before this hall time are history the demo sends first (said on screen,
        and no bell for them)."""
        self.alarm = Alarm(alarm, history_until_ms)
        """Rings / flashes on a new red card or complaint (``[console]``)."""

    def compose(self) -> ComposeResult:
        yield CityStrip(id="city-strip")
        yield Headline(id="headline")
        with ContentSwitcher(initial="overview"):
            with VerticalScroll(id="overview"):
                # Live first: what is happening in the hall now, above the fold at 80x24.
                yield AlertsTitle(id="alerts-title", classes="section")
                yield AlertTable(id="overview-alerts")
                yield AlertDetail(id="alert-detail")
                yield ZoneTable(id="zones")
                yield FeedBar(id="feed-bar")
                yield WindowGrid(id="window-grid")
            for name, table in TABLE_SCREENS.items():
                yield table(id=name)
            yield DutyPanel(id="duty")
            yield Board(id="board")
        yield Input(id="filter", disabled=True)  # enabled (focusable) only while filtering
        yield Footer()

    def on_mount(self) -> None:
        self._narrow = self.size.width < NARROW_COLUMNS
        self.set_class(self.size.height < SHORT_ROWS, "short")
        self._set_language()
        if self.initial_theme:
            if self.initial_theme in self.available_themes:
                self.theme = self.initial_theme
            else:
                known = ", ".join(sorted(self.available_themes))
                self.notify(f"unknown theme {self.initial_theme!r}; known: {known}", timeout=10)
        self.query_one(ZoneTable).focus()
        if self.run_pipeline:
            self._start_pipeline()
        self.set_interval(self.refresh_interval, self.refresh_view)
        self._sign_in_at_start()
        if self.big_screen:
            self.add_class("big-screen")
            self.action_screen("board")
            self.set_interval(CYCLE_S, partial(self.action_hall, 1))
        self.refresh_view()

    # --- refresh -------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.sign_in.touch()  # idle means no key pressed
        await super().on_event(event)

    def refresh_view(self, *, force: bool = False) -> None:
        """Repaint from the latest published view, if it is new (or ``force``)."""
        if not self.is_running:
            return  # shutting down: the timer may fire once more while widgets go away
        if self.sign_in.idle(self.desk):
            self._signed_out("idle")
            force = True
        view = self.desk.pipeline.view
        if self.paused_at is not None:
            # Frozen view; only the banner's count of what arrived meanwhile moves.
            if self.desk.pipeline.events_total != self._banner_count or force:
                self._banner_count = self.desk.pipeline.events_total
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
        counts = alert_counts(view)
        words.names = view.names
        with self.batch_update():
            self.shown = view
            self.query_one(CityStrip).show(halls, self.hall, counts, words)
            if hall is not None:
                mine = counts.get(hall.hall) or AlertCounts()
                self.query_one(Headline).show(hall, words, self._pause_banner(), mine)
            elif self.history_until_ms:  # the demo simulates its earlier days first
                self.query_one(Headline).update(f" {words['loading_history']} … ")
            if self.screen_name == "overview":
                self._render_overview(view, words, counts)
            else:
                panel = self.query_one(f"#{self.screen_name}", ViewTable | DutyPanel | Board)
                if isinstance(panel, DutyPanel):
                    panel.show(view, hall, words, self.desk.session, self.desk.roster.name_of)
                else:
                    panel.show(view, hall, words)
        self.alarm.signal(self, view, words)  # a new red card or complaint: bell, flash

    def _render_overview(
        self, view: View, words: Words, counts: dict[str, AlertCounts] | None = None
    ) -> None:
        hall = view.city.halls.get(self.hall) if self.hall else None
        if hall is not None:
            zone_cards = worst_cards(view.alerts, hall.hall, ZONE_RULES)
            self.query_one(ZoneTable).show(hall, zone_cards)
            window_cards = worst_cards(view.alerts, hall.hall, WINDOW_RULES)
            self.query_one(WindowGrid).show(hall, words, window_cards)
        mine = (counts or alert_counts(view)).get(self.hall or "") or AlertCounts()
        now = hall.now_ms if hall is not None else 0
        live, _ = split_live((a for a in view.alerts if a.hall == self.hall), now)
        live.sort(key=live_order)
        self._live = {str(a.id): a for a in live}
        self.query_one(AlertsTitle).show(mine, words)
        table = self.query_one(AlertTable)
        table.show(live, words, now, silence_ends(view))
        self._show_detail()
        self.query_one(FeedBar).show(view.city.feeds, words)

    def _show_detail(self) -> None:
        """The highlighted live alert in full under the list."""
        table = self.query_one(AlertTable)
        alert: AlertView | None = None
        if table.row_count:
            alert = self._live.get(table.cursor_key or "")
        self.query_one(AlertDetail).show(alert, self.words)

    def _pause_banner(self) -> str | None:
        words = self.words
        parts = []
        if self.desk.session is None:
            parts.append(f" {words['read_only_banner']} ")
        if self.replay is not None:
            speed = "max" if self.replay.speed is None else f"{self.replay.speed:g}x"
            state = words["replay_paused"] if self.replay.paused else f"▶ {speed}"
            parts.append(f" {words['replay']} {state} ")
        if self.paused_at is not None:
            arrived = self.desk.pipeline.events_total - self.paused_at
            parts.append(f" {words['paused_view']} · {arrived} {words['arrived_meanwhile']} ")
        shown = self.shown
        clock = newest_clock(shown) if shown is not None else 0
        if clock and clock < self.history_until_ms:
            parts.append(f" {words['loading_history']} {when(clock, self.history_until_ms)} … ")
        return " ".join(parts) or None

    def _set_language(self) -> None:
        words = self.words
        self.query_one(ZoneTable).set_language(words)
        self.query_one(AlertTable).set_language(words)
        for table in self.query(ViewTable):
            table.set_language(words)
        self.query_one("#filter", Input).placeholder = words["filter_placeholder"]
        self._set_keys()

    def _set_keys(self) -> None:
        """Textual's own keys (ctrl+q, ctrl+p for the palette …) stay; ours get the words
        of the current language in the key bar, the acting keys kept where it is narrow."""
        words = self.words
        bindings = self._textual_bindings.copy()
        narrow = self._narrow
        ours = [
            Binding(
                k.key,
                k.action,
                words[k.footer or k.words],
                show=k.footer is not None and not (narrow and k.action in WIDE_ONLY_KEYS),
                key_display=k.display,
            )
            for k in KEYS
            if self.province or not is_province_key(k)
        ]
        ours += [Binding(str(n), f"hall_number({n})", show=False) for n in range(1, 10)]
        ours.append(palette_binding(words))  # "^p 命令面板", not Textual's English
        for binding in ours:
            bindings.key_to_bindings[binding.key] = [binding]
        self._bindings = bindings
        self.refresh_bindings()

    def _show_now(self) -> None:
        view = self.shown if self.paused_at is not None and self.shown else self.desk.pipeline.view
        self._render(view)

    def _table(self) -> ViewTable | None:
        if self.screen_name not in TABLE_SCREENS:
            return None
        return self.query_one(f"#{self.screen_name}", ViewTable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Alert keys only where an alert can be selected; duty keys on the duty screen."""
        if action in ALERT_ACTIONS:
            return self.screen_name in ("alerts", "backlog", "overview")
        if action in DUTY_ACTIONS:
            return self.screen_name == "duty"
        if action in REPLAY_ACTIONS:
            return self.replay is not None
        if action in SESSION_ACTIONS:  # the footer offers the one that applies
            return (self.desk.session is None) == (action == "sign_in")
        return True

    # --- actions -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        return system_commands(super().get_system_commands(screen))

    def action_help(self) -> None:
        self.push_screen(
            HelpScreen(self.words, replay=self.replay is not None, province=self.province)
        )

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
        self.paused_at = None if self.paused_at is not None else self.desk.pipeline.events_total
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
        """Esc: close the filter box (the filter stays, said on the table's edge); on a
        table with a filter and no box open, clear the filter."""
        box = self.query_one("#filter", Input)
        if box.has_class("active"):
            self._close_filter(box)
        elif (table := self._table()) is not None and table.filter_text:
            table.filter_text = ""
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

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        """Enter opens: a hall of the city table, the timeline of an alert."""
        if isinstance(event.table, CityTable) and event.key in self.hall_names:
            self.hall = event.key
            self.action_screen("overview")
        elif isinstance(event.table, AlertsTable | BacklogTable | AlertTable):
            self.action_timeline()

    @on(KeyedTable.RowHighlighted, "AlertTable")
    def alert_highlighted(self) -> None:
        self._show_detail()

    def on_resize(self, event: events.Resize) -> None:
        """A new terminal size: the alert list's height and the key bar (each line and
        table fits itself to its new width: ``console.widgets``)."""
        self.set_class(event.size.height < SHORT_ROWS, "short")
        narrow = event.size.width < NARROW_COLUMNS
        if narrow != self._narrow:
            self._narrow = narrow
            self._set_keys()
