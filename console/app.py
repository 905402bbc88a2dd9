"""The supervision console: a Textual app over the pipeline's published ``View``.

The app runs the ``Supervisor`` (feeds → state → alerts) as a worker in its own event
loop and repaints from one timer at a steady rate (4 Hz by default), only when a new
``View`` was published, inside ``batch_update``. Widgets read frozen snapshots only;
nothing here touches live state. ``p`` pauses the view (not the ingest) and counts what
arrives meanwhile.

Imports: textual, runtime, console.*.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from console.text import Lang, Words, default_lang
from console.widgets import AlertTable, CityStrip, FeedBar, Headline, WindowGrid, ZoneTable
from runtime.supervisor import Supervisor, View

WAIT_RULE = "wait_overtime"
_CARD_RANK = {"yellow": 1, "red": 2}


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
    HelpScreen > Static {
        width: auto; max-width: 90%; height: auto; padding: 1 2;
        border: round $accent; background: $surface;
    }
    """

    def __init__(self, words: Words) -> None:
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        w = self.words
        keys = [
            ("q", w["key_quit"]),
            ("? / F1", w["key_help"]),
            ("]", w["key_next_hall"]),
            ("[", w["key_prev_hall"]),
            ("1 … 9", w["key_hall_n"]),
            ("p", w["key_pause"]),
            ("l", w["key_lang"]),
        ]
        text = Text()
        text.append(w["help_title"] + "\n\n", "bold")
        for key, what in keys:
            text.append(f"  {key:<8} ", "bold")
            text.append(what + "\n")
        text.append("\n" + w["close_help"], "dim")
        yield Static(text, id="help-text")


class HallwatchApp(App[None]):
    """The console. ``supervisor`` is run here unless ``run_supervisor`` is False."""

    TITLE = "hallwatch"
    CSS = """
    Screen { layout: vertical; }
    CityStrip { height: 1; background: $boost; }
    Headline { height: auto; max-height: 4; padding: 0 1; }
    #body { height: 1fr; }
    ZoneTable { height: auto; max-height: 14; margin: 0 0 1 0; }
    WindowGrid { margin: 0 1 1 1; }
    AlertTable { height: auto; max-height: 12; }
    .section { height: 1; padding: 0 1; color: $text-muted; text-style: bold; }
    FeedBar { height: auto; max-height: 4; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("f1", "help", "Keys", show=False),
        Binding("right_square_bracket", "hall(1)", "Next hall", key_display="]"),
        Binding("left_square_bracket", "hall(-1)", "Prev hall", key_display="[", show=False),
        Binding("p", "pause", "Pause view"),
        Binding("l", "language", "中文/EN"),
        *(Binding(str(n), f"hall_number({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        title: str | None = None,
        lang: Lang | None = None,
        refresh_hz: float = 4.0,
        run_supervisor: bool = True,
    ) -> None:
        super().__init__()
        self.supervisor = supervisor
        if title:
            self.title = title
        self.words = Words(lang or default_lang())
        self.refresh_interval = 1.0 / refresh_hz
        self.run_supervisor = run_supervisor
        self.hall: str | None = None
        """The hall shown; the first one seen until the user picks another."""
        self.paused_at: int | None = None
        """``events_total`` when the view was paused; None while live."""
        self.shown: View | None = None
        """The view on screen now."""
        self._hall_names: list[str] = []
        self._banner_count = -1

    def compose(self) -> ComposeResult:
        yield CityStrip(id="city")
        yield Headline(id="headline")
        with VerticalScroll(id="body"):
            yield ZoneTable(id="zones", cursor_type="row", zebra_stripes=True)
            yield WindowGrid(id="windows")
            yield Static(id="alerts-title", classes="section")
            yield AlertTable(id="alerts", cursor_type="row")
            yield FeedBar(id="feeds")
        yield Footer()

    def on_mount(self) -> None:
        self._set_language()
        if self.run_supervisor:
            self.run_worker(self.supervisor.run(), name="pipeline", exit_on_error=True)
        self.set_interval(self.refresh_interval, self.refresh_view)
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
        self._hall_names = list(halls)
        if self.hall not in halls and halls:
            self.hall = self._hall_names[0]
        words = self.words
        with self.batch_update():
            self.shown = view
            self.query_one(CityStrip).show(halls, self.hall, view.alerts, words)
            hall = halls.get(self.hall) if self.hall else None
            if hall is not None:
                self.query_one(Headline).show(hall, words, self._pause_banner())
                cards: dict[str, str] = {}
                for a in view.alerts:
                    if a.hall == hall.hall and a.rule == WAIT_RULE:
                        zone = a.scope.split("/", 1)[0]
                        if _CARD_RANK[a.severity] > _CARD_RANK.get(cards.get(zone, ""), 0):
                            cards[zone] = a.severity
                self.query_one(ZoneTable).show(hall, cards)
                self.query_one(WindowGrid).show(hall, words)
            alerts = [a for a in view.alerts if self.hall is None or a.hall == self.hall]
            title = f"{words['alerts']} {len(alerts)}" if alerts else words["no_alerts"]
            self.query_one("#alerts-title", Static).update(title)
            self.query_one(AlertTable).show(alerts, words)
            self.query_one(FeedBar).show(view.city.feeds, words)

    def _pause_banner(self) -> str | None:
        if self.paused_at is None:
            return None
        arrived = self.supervisor.events_total - self.paused_at
        return f" {self.words['paused_view']} · {arrived} {self.words['arrived_meanwhile']} "

    def _set_language(self) -> None:
        self.query_one(ZoneTable).set_language(self.words)
        self.query_one(AlertTable).set_language(self.words)

    # --- actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.words))

    def action_hall(self, step: int) -> None:
        if self._hall_names:
            i = self._hall_names.index(self.hall) if self.hall in self._hall_names else 0
            self.hall = self._hall_names[(i + step) % len(self._hall_names)]
            self._show_now()

    def action_hall_number(self, n: int) -> None:
        if 0 < n <= len(self._hall_names):
            self.hall = self._hall_names[n - 1]
            self._show_now()

    def action_pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = self.supervisor.events_total
        else:
            self.paused_at = None
        self._show_now()

    def action_language(self) -> None:
        self.words = Words("en" if self.words.lang == "zh" else "zh")
        self._set_language()
        self._show_now()

    def _show_now(self) -> None:
        view = self.shown if self.paused_at is not None and self.shown else self.supervisor.view
        self._render(view)
