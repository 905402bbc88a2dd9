"""The big-screen board (``--big-screen``, or ``b``): one hall in figures readable across
the hall — waiting now, the longest wait, served today, windows open — then one line per
zone and the live alerts, the gravest and newest first (the backlog as counts by kind).
With ``--big-screen`` the board turns to the next hall every ``CYCLE_S`` seconds (wall
time: it is a display choice, not a hall rule).

Imports: textual, rich, metrics.snapshot, runtime.view, console.text, console.widgets.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from console.text import Words, clock, duration, pad, when
from console.widgets import live_counts, topic_counts
from metrics.snapshot import HallSnapshot
from runtime.view import BACKLOG_ORDER, AlertCounts, View, alert_counts, live_order, split_live

#: A listed alert's line on the big screen: the grave ones in red.
BOARD_STYLE = {"red": "bold red", "urgent": "red", "yellow": "yellow", "notice": ""}

CYCLE_S = 15.0
FIGURES = ("waiting", "longest", "served", "windows_open")


class Figure(Vertical):
    """A label over big digits."""

    DEFAULT_CSS = """
    Figure { width: 1fr; height: auto; align-horizontal: center; }
    Figure > Static { width: 100%; text-align: center; color: $text-muted; }
    Figure > Digits { width: auto; }
    Figure.alarm > Digits { color: $error; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="label")
        yield Digits(id="value")

    def show(self, label: str, value: str, alarm: bool = False) -> None:
        self.query_one("#label", Static).update(label)
        self.query_one("#value", Digits).update(value)
        self.set_class(alarm, "alarm")


class Board(Vertical):
    """The hall in big figures, its zones and its live alerts."""

    DEFAULT_CSS = """
    Board { height: 1fr; padding: 1 2; }
    Board #board-title { height: 1; text-style: bold; }
    Board Horizontal { height: auto; margin: 1 0; }
    Board #board-zones { height: auto; margin: 1 0; }
    Board #board-alerts { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="board-title")
        with Horizontal():
            for key in FIGURES:
                yield Figure(id=f"fig-{key}")
        yield Static(id="board-zones")
        yield Static(id="board-alerts")

    def show(self, view: View, hall: HallSnapshot | None, words: Words) -> None:
        if hall is None:
            self.query_one("#board-title", Static).update(words["no_halls"])
            return
        title = Text()
        title.append(f"{words.hall(hall.hall)}   ", "bold")
        title.append(f"{words['hall_clock']} {clock(hall.now_ms)}", "cyan")
        self.query_one("#board-title", Static).update(title)
        limit = max((z.wait_limit_s for z in hall.zones), default=1800.0)
        values = {
            "waiting": (str(hall.waiting), False),
            "longest": (duration(hall.longest_wait_s), hall.longest_wait_s >= limit),
            "served": (str(hall.served_today), False),
            "windows_open": (str(hall.windows_open), hall.windows_open == 0 and hall.waiting > 0),
        }
        for key in FIGURES:
            value, alarm = values[key]
            self.query_one(f"#fig-{key}", Figure).show(words[key], value, alarm)
        zones = []
        for z in hall.zones:
            line = Text()
            line.append(pad(words.zone(hall.hall, z.name), 12), "bold")
            line.append(f"{words['waiting']} {z.waiting:>3}   ")
            line.append(
                f"{words['longest']} {duration(z.longest_wait_s) if z.waiting else '–':>6}   "
            )
            line.append(f"{words['expected']} {duration(z.expected_wait_s):>6}   ")
            line.append(f"{words['windows_open']} {z.windows_open}")
            if z.windows_needed is not None and z.windows_needed > z.windows_open:
                line.append(f"  {words['needed']} {z.windows_needed}", "bold red")
            zones.append(line)
        self.query_one("#board-zones", Static).update(Group(*zones))
        # Live first: what is happening in the hall now, the gravest and newest on top;
        # the backlog (the back office's cards and follow-ups) as counts by kind only.
        live, _ = split_live((a for a in view.alerts if a.hall == hall.hall), hall.now_ms)
        live = sorted((a for a in live if a.silenced_by is None), key=live_order)
        counts = alert_counts(view).get(hall.hall) or AlertCounts()
        head = Text()
        head.append(f"{words['live_alerts']} ", "bold")
        head.append_text(live_counts(counts, words) or Text(words["none"], "dim"))
        if counts.backlog:
            kinds = topic_counts(counts.backlog_topics, BACKLOG_ORDER, words)
            head.append(f"     {words['backlog']} {counts.backlog}: {kinds}", "dim")
        lines = [head] + [
            Text(
                f"{words[a.severity]}  {when(a.raised_ms or a.fired_ms, hall.now_ms)}  "
                f"{words[a.rule]}  {words.alert(a)}",
                BOARD_STYLE.get(a.severity, ""),
            )
            for a in live[:8]
        ]
        self.query_one("#board-alerts", Static).update(Group(*lines))
