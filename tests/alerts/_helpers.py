"""Helpers for the alert tests: an engine with only the rules under test, a hall driver."""

from __future__ import annotations

from alerts.rules import AlertEngine, WaitLimits
from alerts.settings import Rules
from metrics.state import CityState

H = "lz"
ALL_RULES = (*(r.name for r in AlertEngine().rules), "feed_stalled", "handover_unaccepted")


def only(*names: str, **settings: object) -> Rules:
    """Rule settings with every rule but ``names`` disabled."""
    return Rules(disabled=[n for n in ALL_RULES if n not in names], **settings)  # type: ignore[arg-type]


class Hall:
    """A city state and an engine, driven event by event on the hall clock."""

    def __init__(self, *names: str, wait: WaitLimits | None = None, **kw: object) -> None:
        settings = kw.pop("settings", {})
        self.city = CityState()
        self.engine = AlertEngine(wait, rules=only(*names, **settings), **kw)  # type: ignore[arg-type]
        self.book = self.engine.book

    def feed(self, *events, tick: bool = True):
        self.engine.on_batch(self.city.apply(events), events)
        if tick:
            self.tick()
        return self

    def tick(self) -> None:
        self.engine.on_tick(self.city.snapshots())

    def active(self, rule: str | None = None):
        return [a for a in self.book.active() if rule is None or a.rule == rule]
