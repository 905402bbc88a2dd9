"""The big-screen board (``--big-screen``, or ``b``): one hall in figures readable across
the hall — waiting now, the longest wait, served today, windows open — then one line per
zone and the red cards. With ``--big-screen`` the board turns to the next hall every
``CYCLE_S`` seconds (wall time: it is a display choice, not a hall rule).

Imports: textual, rich, metrics.snapshot, runtime.view, console.text.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from console.text import Words, clock, duration, summary
from console.widgets import SEVERITY_STYLE
from metrics.snapshot import HallSnapshot
from runtime.view import View

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
    """The hall in big figures, its zones and its red cards."""

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
        title.append(f"{hall.hall}   ", "bold")
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
            line.append(f"{z.name:<12}", "bold")
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
        mine = [a for a in view.alerts if a.hall == hall.hall]
        count = Counter(a.severity for a in mine)
        head = Text()
        for severity in ("red", "yellow", "urgent", "notice"):  # cards, then warnings
            head.append(f" {words[severity]} {count[severity]} ", SEVERITY_STYLE[severity])
            head.append("  ")
        # Red cards, urgent warnings, yellow cards, notices: view.alerts is in that order.
        lines = [head] + [
            Text(
                f"{words[a.severity]}  {clock(a.fired_ms)}  {words[a.rule]}  "
                f"{summary(a.summary, words.lang)}",
                BOARD_STYLE.get(a.severity, ""),
            )
            for a in mine[:8]
        ]
        self.query_one("#board-alerts", Static).update(Group(*lines))
