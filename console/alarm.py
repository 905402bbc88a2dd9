"""What must not be missed, signalled: a new red card (红牌) or a new complaint (投诉) rings
the terminal bell and/or flashes the screen with a toast that says what came
(``[console] bell``, ``flash``; issue 13, point 8). A director looking at another hall,
another screen or away from the terminal still learns of it.

New means: not signalled before, and recent on its hall's clock (fired, or risen from
yellow, within ``RECENT_MS``): the console opening on a day with old red cards, or the
demo replaying its earlier days (``quiet_until_ms``), rings nothing.

Imports: textual (Color), runtime (config, view), console.text.
"""

from __future__ import annotations

from typing import Any, Final

from textual.color import Color

from console.text import Words
from runtime.config import ConsoleConfig
from runtime.view import AlertView, View

#: How recent (hall time) a red card or complaint must be to be signalled as new.
RECENT_MS: Final = 5 * 60_000
#: How long the screen stays tinted (wall time: this is the screen, not the hall).
FLASH_S: Final = 0.4
FLASH_TINT: Final = Color(255, 0, 0, 0.3)


class Alarm:
    """Finds the new red cards and complaints of each view and signals them."""

    def __init__(self, config: ConsoleConfig | None = None, quiet_until_ms: int = 0) -> None:
        self.config = config or ConsoleConfig()
        self.quiet_until_ms = quiet_until_ms
        """Nothing is signalled while every hall clock is before this (the demo's
        history, simulated and sent at full speed before the day it opens on)."""
        self._seen: set[int] = set()
        """Alerts already signalled, or too old when first seen (only red cards and
        complaints are looked at: a yellow card is new the moment it turns red)."""
        self._generation = -1
        self.flashes = 0
        """How many times the screen flashed (a flash lasts ``FLASH_S``: too short to
        catch by looking)."""

    def news(self, view: View) -> list[AlertView]:
        """The red cards and complaints of ``view`` not signalled before, recent on their
        hall's clock, newest first."""
        if view.generation == self._generation:
            return []
        self._generation = view.generation
        clocks = {name: h.now_ms for name, h in view.city.halls.items()}
        quiet = max(clocks.values(), default=0) < self.quiet_until_ms
        # One comprehension over every alert (a flood holds thousands), then the few.
        mine = [a for a in view.alerts if a.severity == "red" or a.rule == "complaint"]
        present = {a.id for a in mine}
        out: list[AlertView] = []
        for a in mine:
            if a.id in self._seen:
                continue
            self._seen.add(a.id)
            since = a.raised_ms or a.fired_ms
            if not quiet and a.silenced_by is None and clocks.get(a.hall, 0) - since <= RECENT_MS:
                out.append(a)
        self._seen &= present  # resolved ones are forgotten: the set stays small
        out.sort(key=lambda a: -(a.raised_ms or a.fired_ms))
        return out

    def signal(self, app: Any, view: View, words: Words) -> list[AlertView]:
        """Ring and/or flash ``app`` (the console) for the news of ``view``; returns them."""
        news = self.news(view)
        if not news or not (self.config.bell or self.config.flash):
            return news
        if self.config.bell:
            app.bell()
        if self.config.flash:
            screen = app.screen
            screen.styles.tint = FLASH_TINT
            self.flashes += 1
            app.set_timer(FLASH_S, lambda: screen.styles.clear_rule("tint"))
            for a in news[:3]:
                what = words["new_red"] if a.severity == "red" else words["new_complaint"]
                app.notify(f"{words.hall(a.hall)} · {words.alert(a)}", title=what,
                           severity="error", timeout=10)  # fmt: skip
            if len(news) > 3:
                app.notify(f"+{len(news) - 3}", severity="error", timeout=10)
        return news
