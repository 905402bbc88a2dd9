"""The one place for building events and halls in tests.

Hall times (``T0``, ``ms``), an event builder that numbers what it builds (``Script``),
the small builders the rule tests share, the scripted mornings that figures are worked
out by hand against, and ``Hall``: a city state and an alert engine driven event by
event. ``tests/conftest.py`` re-exports ``T0`` and ``ms`` for older imports.
"""

from __future__ import annotations

from typing import Any

from alerts.rules import AlertEngine, WaitLimits
from alerts.settings import Rules
from feeds.protocol import (
    Complaint,
    Event,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.state import CityState

#: 2025-11-24 (a Monday) 09:00 CST, in ms.
T0 = 1763946000000
#: The hall of every scripted event unless told otherwise.
H = "lz"


def ms(minutes: float = 0, seconds: float = 0) -> int:
    """T0 plus a duration."""
    return T0 + int(minutes * 60_000 + seconds * 1000)


# --- events ------------------------------------------------------------------------------


class Script:
    """Builds events of one hall with increasing seqs: ``e(TicketIssued, ms(1), ...)``."""

    def __init__(self, hall: str = H, seq: int = 0) -> None:
        self.hall = hall
        self.seq = seq
        """The seq of the last event built."""

    def __call__(self, cls: type[Any], at: int, **fields: Any) -> Any:
        self.seq += 1
        return cls(seq=self.seq, ts=at, hall=self.hall, **fields)


def beat(minute: float, hall: str = H) -> Heartbeat:
    """A heartbeat at hall minute ``minute`` (after T0)."""
    return Heartbeat(ts=ms(minute), hall=hall)


def issued(
    seq: int, minute: float, ticket: str = "B1", zone: str = "biz", item: str | None = None
) -> TicketIssued:
    """``ticket`` issued in ``zone`` at hall minute ``minute``."""
    return TicketIssued(seq=seq, ts=ms(minute), hall=H, ticket=ticket, zone=zone, item=item)


def opened(seq: int, minute: float, window: str = "W1", state: str = "open") -> WindowState:
    """``window`` changing to ``state`` (open unless told) at hall minute ``minute``."""
    return WindowState(seq=seq, ts=ms(minute), hall=H, window=window, state=state)  # type: ignore[arg-type]


def tickets(n: int, start_ts: int = T0, step_ms: int = 10_000, seq: int = 1) -> list[Event]:
    """``n`` tickets A000, A001 … of zone ``z``, ``step_ms`` apart, numbered from ``seq``."""
    return [
        TicketIssued(
            seq=seq + i, ts=start_ts + i * step_ms, hall="lz", ticket=f"A{i:03d}", zone="z"
        )
        for i in range(n)
    ]


def morning() -> list[Event]:
    """The state engine's scripted morning (tests/metrics/test_state.py works it out)."""
    e = Script()
    return [
        e(WindowState, ms(0), window="W01", state="open", staff="s1"),
        e(WindowState, ms(0), window="W02", state="open", staff="s2"),
        e(TicketIssued, ms(1), ticket="B001", zone="biz"),
        e(TicketIssued, ms(2), ticket="B002", zone="biz"),
        e(TicketIssued, ms(3), ticket="E001", zone="estate", priority="priority"),
        e(TicketIssued, ms(4), ticket="B003", zone="biz"),
        # B001 waits 4 min, served 10 min at W01.
        e(TicketCalled, ms(5), ticket="B001", window="W01"),
        e(ServiceStarted, ms(6), ticket="B001", window="W01"),
        e(ServiceFinished, ms(16), ticket="B001", window="W01", outcome="done"),
        # B002 waits 6 min; W02 serves 4 min then transfers it back to the queue.
        e(TicketCalled, ms(8), ticket="B002", window="W02"),
        e(ServiceStarted, ms(9), ticket="B002", window="W02"),
        e(ServiceFinished, ms(13), ticket="B002", window="W02", outcome="transferred"),
        # Recalled by W01 after its transfer: no second wait recorded (first call counts).
        e(TicketCalled, ms(17), ticket="B002", window="W01"),
        e(TicketCalled, ms(18), ticket="B002", window="W01"),  # a recall
        e(ServiceStarted, ms(19), ticket="B002", window="W01"),
        # E001: called at 10 (7 min wait), no show.
        e(TicketCalled, ms(10), ticket="E001", window="W02"),
        e(TicketAbandoned, ms(12), ticket="E001", reason="no_show"),
        # W02 pauses for a break.
        e(WindowState, ms(14), window="W02", state="paused", reason="break"),
        e(Rating, ms(16), window="W01", score=5, channel="device"),
        e(Rating, ms(16), window="W01", score=1, channel="qr"),
        e(Heartbeat, ms(20)),
    ]


def figures_day() -> list[Event]:
    """The day every figure of docs/figures.md is worked out against by hand
    (tests/metrics/test_figures.py tells it minute by minute)."""
    e = Script()
    return [
        e(WindowState, ms(0), window="W01", state="open", staff="s1"),
        e(WindowState, ms(0), window="W02", state="open", staff="s2"),
        e(TicketIssued, ms(1), ticket="B001", zone="biz"),
        e(TicketIssued, ms(2), ticket="B002", zone="biz"),
        e(TicketIssued, ms(3), ticket="E001", zone="estate", priority="priority"),
        e(TicketIssued, ms(4), ticket="B003", zone="biz"),
        e(TicketCalled, ms(5), ticket="B001", window="W01"),
        e(ServiceStarted, ms(6), ticket="B001", window="W01"),
        e(TicketCalled, ms(8), ticket="B002", window="W02"),
        e(ServiceStarted, ms(9), ticket="B002", window="W02"),
        e(ServiceFinished, ms(10), ticket="B002", window="W02", outcome="transferred"),
        e(TicketCalled, ms(11), ticket="E001", window="W02"),
        e(TicketAbandoned, ms(13), ticket="E001", reason="no_show"),
        e(WindowState, ms(14), window="W02", state="paused", reason="break"),
        e(ServiceFinished, ms(15), ticket="B001", window="W01", outcome="done"),
        e(TicketCalled, ms(16), ticket="B002", window="W01"),
        e(TicketCalled, ms(17), ticket="B002", window="W01"),
        e(ServiceStarted, ms(18), ticket="B002", window="W01"),
        e(Rating, ms(19), window="W01", score=5, channel="device"),
        e(Rating, ms(19), window="W01", score=2, channel="qr"),
        e(TicketIssued, ms(20), ticket="B004", zone="biz"),
        e(TicketAbandoned, ms(21), ticket="B003", reason="left"),
        e(TicketIssued, ms(60), ticket="B005", zone="biz"),
        e(Heartbeat, ms(69)),
    ]


def console_morning() -> list[Event]:
    """The console tests' morning, seqs to be assigned by the feed server: two windows, two
    zones, four tickets; at 09:20 one is served, one is being served, two wait. Waits to
    first call: A001 5 min, B001 12 min → mean 8:30."""
    return [
        WindowState(seq=0, ts=ms(0), hall=H, window="W01", state="open", staff="s017"),
        WindowState(seq=0, ts=ms(0), hall=H, window="W02", state="open", staff="s018"),
        TicketIssued(seq=0, ts=ms(1), hall=H, ticket="A001", zone="biz"),
        TicketIssued(seq=0, ts=ms(2), hall=H, ticket="B001", zone="estate"),
        TicketIssued(seq=0, ts=ms(3), hall=H, ticket="A002", zone="biz", priority="priority"),
        TicketCalled(seq=0, ts=ms(6), hall=H, ticket="A001", window="W01"),
        ServiceStarted(seq=0, ts=ms(7), hall=H, ticket="A001", window="W01"),
        ServiceFinished(seq=0, ts=ms(13), hall=H, ticket="A001", window="W01", outcome="done"),
        TicketCalled(seq=0, ts=ms(14), hall=H, ticket="B001", window="W02"),
        ServiceStarted(seq=0, ts=ms(15), hall=H, ticket="B001", window="W02"),
        TicketIssued(seq=0, ts=ms(16), hall=H, ticket="B002", zone="estate"),
        Complaint(seq=0, ts=ms(18), hall=H, complaint="c-1", channel="desk", window="W02"),
        Heartbeat(ts=ms(20), hall=H),
    ]


# --- halls -------------------------------------------------------------------------------

#: Every rule the engine knows, the city-wide ones included.
ALL_RULES = (*(r.name for r in AlertEngine().rules), "feed_stalled", "handover_unaccepted")


def only(*names: str, **settings: object) -> Rules:
    """Rule settings with every rule but ``names`` disabled."""
    return Rules(disabled=[n for n in ALL_RULES if n not in names], **settings)  # type: ignore[arg-type]


class Hall:
    """A city state and an engine with only the rules under test, driven event by event
    on the hall clock."""

    def __init__(self, *names: str, wait: WaitLimits | None = None, **kw: object) -> None:
        settings = kw.pop("settings", {})
        self.city = CityState()
        self.engine = AlertEngine(wait, rules=only(*names, **settings), **kw)  # type: ignore[arg-type]
        self.book = self.engine.book

    def feed(self, *events: Event, tick: bool = True) -> Hall:
        self.engine.on_batch(self.city.apply(events))
        if tick:
            self.tick()
        return self

    def tick(self) -> None:
        self.engine.on_tick(self.city.snapshots())

    def active(self, rule: str | None = None) -> list[Any]:
        return [a for a in self.book.active() if rule is None or a.rule == rule]
