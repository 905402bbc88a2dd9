"""Property tests: any sequence of events of every kind leaves the engine's snapshot equal
to a small reference model of the ticket lifecycle, and its invariants hold.

The model (``Model``) is the protocol's rules written plainly, in dicts and lists:
each ticket's state, the queue of each zone in arrival order, what each window shows,
counts by outcome, reason and score (today's and since start), open complaints and open
cases. Rejections too (docs/protocol-notes.md, "State-level rejections"): the model says
which events the engine must refuse, and why. Times jump around, backwards (late
events) and across midnight (a new service day empties the tickets; complaints, cases
and the cumulative counts carry over).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.hallclock import day_ordinal, service_day
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
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
from metrics.snapshot import HallSnapshot
from metrics.state import TICKET_STATES, CityState
from tests.factories import T0

HALL = "h"
OUTCOMES = ("done", "to_backend", "incomplete", "rejected", "transferred")
REASONS = ("no_show", "left", "expired")
DEEM_MS = 10 * 60_000  # Settings.deemed_accept_minutes

tickets = st.sampled_from(["A1", "A2", "B1"])
windows = st.sampled_from(["W1", "W2", "W3"])
zones = st.sampled_from(["biz", "estate"])
complaints = st.sampled_from(["K1", "K2", "K3"])
cases = st.sampled_from(["C1", "C2", "C3"])
# Times jump around, including backwards and across midnight (T0 is 09:00, midnight is
# 900 min on); often one of a few moments, so that events share a time, as they do from
# a vendor whose clock stamps whole seconds.
MOMENTS = (-60, -6, 0, 1, 2, 5, 10, 30, 61, 240, 899, 900, 901, 1000, 1439, 1441, 1800)
times = st.one_of(
    st.sampled_from(MOMENTS).map(lambda m: T0 + m * 60_000),
    st.integers(min_value=-3_600_000, max_value=30 * 3_600_000).map(lambda d: T0 + d),
)


def events() -> st.SearchStrategy[Event]:
    common = {"seq": st.just(1), "ts": times, "hall": st.just(HALL)}
    lifecycle = [
        st.builds(
            TicketIssued,
            ticket=tickets,
            zone=zones,
            priority=st.sampled_from(["normal", "priority"]),
            **common,
        ),
        st.builds(TicketCalled, ticket=tickets, window=windows, **common),
        st.builds(ServiceStarted, ticket=tickets, window=windows, **common),
        st.builds(
            ServiceFinished,
            ticket=tickets,
            window=windows,
            outcome=st.sampled_from(OUTCOMES),
            **common,
        ),
        st.builds(TicketAbandoned, ticket=tickets, reason=st.sampled_from(REASONS), **common),
    ]
    others = [
        st.builds(
            WindowState,
            window=windows,
            state=st.sampled_from(["open", "paused", "closed"]),
            **common,
        ),
        st.builds(
            Rating,
            window=windows,
            score=st.integers(1, 5),
            channel=st.sampled_from(["device", "qr"]),
            **common,
        ),
        st.builds(
            Complaint,
            complaint=complaints,
            channel=st.sampled_from(["desk", "hotline"]),
            window=st.none() | windows,
            **common,
        ),
        st.builds(ComplaintClosed, complaint=complaints, **common),
        st.builds(
            CaseSubmitted,
            case=cases,
            item=st.just("i"),
            dept=st.just("d"),
            promised_days=st.integers(0, 5),
            **common,
        ),
        st.builds(CaseAccepted, case=cases, **common),
        st.builds(CasePaused, case=cases, reason=st.sampled_from(["survey", "现场勘验"]), **common),
        st.builds(
            CaseMaterialsChanged,
            case=cases,
            change=st.sampled_from(["materials_added", "conditions_added"]),
            **common,
        ),
        st.builds(CaseResumed, case=cases, **common),
        st.builds(
            CaseClosed, case=cases, outcome=st.sampled_from(["approved", "denied"]), **common
        ),
        st.builds(Heartbeat, ts=times, hall=st.just(HALL)),
    ]
    # A ticket's story takes several of its events in a row: half the draws are tickets'.
    return st.one_of(*lifecycle, *lifecycle, *others)


@dataclass
class Ticket:
    zone: str
    priority: bool
    queued: int
    state: str = "waiting"
    window: str | None = None
    called: bool = False
    """Called (or started) at least once: its wait to first call is counted."""


@dataclass
class Case:
    submitted: int
    accepted: int | None = None
    paused_since: int | None = None
    pauses: int = 0


@dataclass
class Model:
    """One hall, as the protocol describes it."""

    now: int = 0
    day: int = 0
    zones: list[str] = field(default_factory=list)
    """Zones and windows in the order they were first seen (the engine's label order)."""
    windows: list[str] = field(default_factory=list)
    window_state: dict[str, str] = field(default_factory=dict)
    # Today.
    tickets: dict[str, Ticket] = field(default_factory=dict)
    queues: dict[str, list[str]] = field(default_factory=dict)
    """Zone → its waiting tickets, in the order they (last) joined the queue."""
    shows: dict[str, str] = field(default_factory=dict)
    """Window → the ticket called to it or served there."""
    finished: list[tuple[str, str, str]] = field(default_factory=list)  # window, zone, outcome
    gave_up: list[tuple[str, str]] = field(default_factory=list)  # zone, reason
    rated: list[tuple[str, int]] = field(default_factory=list)  # window, score
    # Since start.
    issued: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[tuple[str, str]] = field(default_factory=Counter)
    services: Counter[tuple[str, str]] = field(default_factory=Counter)
    ratings: Counter[tuple[str, int]] = field(default_factory=Counter)
    complaints: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)

    def apply(self, ev: Any) -> str | None:
        """Apply one event (by the method named after its kind); the reason it is
        refused, or None."""
        if ev.ts > self.now:  # the hall clock only moves on; a new day starts empty
            if day_ordinal(ev.ts) != self.day:
                self.day = day_ordinal(ev.ts)
                self.tickets, self.queues, self.shows = {}, {}, {}
                self.finished, self.gave_up, self.rated = [], [], []
            self.now = ev.ts
        return getattr(self, type(ev).__name__)(ev)

    def _window(self, name: str) -> str:
        if name not in self.windows:
            self.windows.append(name)
        return name

    def _release(self, ticket: str) -> None:
        """The ticket leaves its window, which stops showing it (if it still did)."""
        window = self.tickets[ticket].window
        if window is not None and self.shows.get(window) == ticket:
            del self.shows[window]

    def _take(self, ev: Any, state: str) -> str | None:
        """A call or a start: from the queue, or from the window it was called to."""
        t = self.tickets.get(ev.ticket)
        if t is None:
            return "unknown_ticket"
        if t.state not in ("waiting", "called"):
            return "bad_state"
        self._window(ev.window)
        if t.state == "waiting":
            self.queues[t.zone].remove(ev.ticket)
        elif t.window != ev.window:
            self._release(ev.ticket)
        t.state, t.window, t.called = state, ev.window, True
        self.shows[ev.window] = ev.ticket
        return None

    def TicketIssued(self, ev: TicketIssued) -> str | None:
        if ev.ticket in self.tickets:
            return "duplicate_ticket"
        if ev.zone not in self.zones:
            self.zones.append(ev.zone)
        self.tickets[ev.ticket] = Ticket(ev.zone, ev.priority == "priority", ev.ts)
        self.queues.setdefault(ev.zone, []).append(ev.ticket)
        self.issued[ev.zone] += 1
        return None

    def TicketCalled(self, ev: TicketCalled) -> str | None:
        return self._take(ev, "called")

    def ServiceStarted(self, ev: ServiceStarted) -> str | None:
        return self._take(ev, "serving")  # never called: the start is the call

    def ServiceFinished(self, ev: ServiceFinished) -> str | None:
        t = self.tickets.get(ev.ticket)
        if t is None:
            return "unknown_ticket"
        if t.state not in ("called", "serving"):
            return "bad_state"
        self._window(ev.window)
        self.services[(ev.window, ev.outcome)] += 1
        self.finished.append((ev.window, t.zone, ev.outcome))
        self._release(ev.ticket)
        if ev.outcome == "transferred":  # back to the queue, for another window
            t.state, t.queued = "waiting", ev.ts
            self.queues[t.zone].append(ev.ticket)
        else:
            t.state = "done"
        return None

    def TicketAbandoned(self, ev: TicketAbandoned) -> str | None:
        t = self.tickets.get(ev.ticket)
        if t is None:
            return "unknown_ticket"
        if t.state not in ("waiting", "called"):
            return "bad_state"
        if t.state == "waiting":
            self.queues[t.zone].remove(ev.ticket)
        else:
            self._release(ev.ticket)
        t.state = "abandoned"
        self.abandoned[(t.zone, ev.reason)] += 1
        self.gave_up.append((t.zone, ev.reason))
        return None

    def WindowState(self, ev: WindowState) -> str | None:
        self.window_state[self._window(ev.window)] = ev.state
        return None

    def Rating(self, ev: Rating) -> str | None:
        self.ratings[(self._window(ev.window), ev.score)] += 1
        self.rated.append((ev.window, ev.score))
        return None

    def Complaint(self, ev: Complaint) -> str | None:
        self.complaints.setdefault(ev.complaint, (ev.ts, ev.channel, ev.window))
        return None  # the same complaint again (another channel): still one

    def ComplaintClosed(self, ev: ComplaintClosed) -> str | None:
        return None if self.complaints.pop(ev.complaint, None) else "unknown_complaint"

    def CaseSubmitted(self, ev: CaseSubmitted) -> str | None:
        self.cases.setdefault(ev.case, Case(ev.ts))
        return None

    def CaseAccepted(self, ev: CaseAccepted) -> str | None:
        case = self.cases.get(ev.case)
        if case is None:
            return "unknown_case"
        if case.accepted is None:
            case.accepted = ev.ts
        return None

    def CasePaused(self, ev: CasePaused) -> str | None:
        case = self.cases.get(ev.case)
        if case is None:
            return "unknown_case"
        if case.paused_since is None:
            case.paused_since = ev.ts
        return None

    def CaseResumed(self, ev: CaseResumed) -> str | None:
        case = self.cases.get(ev.case)
        if case is None:
            return "unknown_case"
        if case.paused_since is not None:
            case.paused_since, case.pauses = None, case.pauses + 1
        return None

    def CaseMaterialsChanged(self, ev: CaseMaterialsChanged) -> str | None:
        return None if ev.case in self.cases else "unknown_case"

    def CaseClosed(self, ev: CaseClosed) -> str | None:
        return None if self.cases.pop(ev.case, None) else "unknown_case"

    def Heartbeat(self, ev: Heartbeat) -> str | None:
        return None

    # --- what the snapshot must say -------------------------------------------------------

    def queue(self) -> list[tuple[str, str, int, bool]]:
        """Waiting tickets: priority first, then by when they joined the queue; ties in
        zone order, then arrival order."""
        out = [
            (ticket, zone, self.tickets[ticket].queued, self.tickets[ticket].priority)
            for zone in self.zones
            for ticket in self.queues.get(zone, [])
        ]
        return sorted(out, key=lambda q: (not q[3], q[2]))


def check(model: Model, s: HallSnapshot) -> None:
    """The snapshot against the model, and the invariants."""
    assert (s.now_ms, s.day) == (model.now, service_day(model.now).isoformat())
    # Every ticket of the day in exactly one state; no count below zero.
    states = Counter(t.state for t in model.tickets.values())
    assert s.tickets_by_state == {name: states[name] for name in TICKET_STATES}
    assert all(n >= 0 for n in s.tickets_by_state.values())
    assert s.issued_today == len(model.tickets) == sum(s.tickets_by_state.values())
    # The queue: exactly the waiting tickets, each once, in the documented order.
    queue = [(q.ticket, q.zone, q.queued_ms, q.priority) for q in s.queue]
    assert queue == model.queue()
    assert s.waiting == len(queue) == states["waiting"]
    served = [f for f in model.finished if f[2] != "transferred"]
    assert s.served_today == len(served)
    # Zones, in the order first seen.
    assert [z.name for z in s.zones] == model.zones
    for z in s.zones:
        mine = [t for t in model.tickets.values() if t.zone == z.name]
        waiting = model.queues.get(z.name, [])
        assert z.waiting == len(waiting) >= 0
        assert z.priority_waiting == sum(model.tickets[t].priority for t in waiting)
        if waiting:
            oldest = min(waiting, key=lambda t: model.tickets[t].queued)
            assert z.oldest_ticket == oldest
            assert z.longest_wait_s == max(0.0, (model.now - model.tickets[oldest].queued) / 1000)
        else:
            assert (z.oldest_ticket, z.longest_wait_s) == (None, 0.0)
        assert z.issued_today == len(mine)
        assert z.called_not_started == sum(t.state == "called" for t in mine)
        assert z.serving == sum(t.state == "serving" for t in mine)
        assert z.served_today == sum(f[1] == z.name for f in served)
        reasons = Counter(r for zone, r in model.gave_up if zone == z.name)
        assert z.abandoned_today == sum(reasons.values())
        assert (z.no_show_today, z.left_today, z.expired_today) == tuple(
            reasons[r] for r in REASONS
        )
        assert z.day.count == sum(t.called for t in mine)  # waits to a first call today
        for stats in (z.day, z.hour):
            if stats.count:
                assert stats.p50_s <= stats.p90_s <= stats.p99_s
                assert 0.0 <= stats.service_level <= 1.0
        for rate in (z.no_show_rate, z.abandonment_rate):
            assert rate is None or 0.0 <= rate <= 1.0
        assert z.expected_wait_s is None or z.expected_wait_s >= 0
        if z.curve_waiting:  # the last bin ends now: its value is the queue now
            assert z.curve_waiting[-1] == z.waiting
            assert sum(z.curve_arrivals) == z.issued_today
    # Windows, in the order first seen: what each shows, its services and ratings today.
    assert [w.name for w in s.windows] == model.windows
    for w in s.windows:
        shown = model.shows.get(w.name)
        assert w.state == model.window_state.get(w.name, "closed")
        assert (w.ticket, w.serving) == (
            shown,
            shown is not None and model.tickets[shown].state == "serving",
        )
        if shown is not None:  # a window shows a ticket called or served at that window
            assert model.tickets[shown].state in ("called", "serving")
            assert model.tickets[shown].window == w.name
        outcomes = Counter(o for window, _, o in model.finished if window == w.name)
        assert w.outcomes == {o: outcomes[o] for o in OUTCOMES}
        assert w.services_today == sum(outcomes.values())
        scores = [score for window, score in model.rated if window == w.name]
        assert (w.ratings_today, w.bad_ratings_today) == (len(scores), sum(x <= 2 for x in scores))
        assert w.open_s >= 0 and w.serving_s >= 0 and w.idle_waiting_s >= 0
        assert w.walk_mean_s is None or w.walk_mean_s >= 0
    assert s.windows_total == len(model.windows)
    assert s.windows_open == sum(model.window_state.get(w) == "open" for w in model.windows)
    assert s.called_not_started == states["called"]
    # The cumulative counters (Prometheus): every day since start.
    counters = s.counters
    assert (list(counters.zones), list(counters.windows)) == (model.zones, model.windows)
    assert counters.issued.tolist() == [model.issued[z] for z in model.zones]
    assert counters.abandoned.tolist() == [
        [model.abandoned[(z, r)] for r in REASONS] for z in model.zones
    ]
    assert counters.services.tolist() == [
        [model.services[(w, o)] for o in OUTCOMES] for w in model.windows
    ]
    assert counters.ratings.tolist() == [
        [model.ratings[(w, n)] for n in range(1, 6)] for w in model.windows
    ]
    assert (counters.wait_sum >= 0).all() and (counters.service_sum >= 0).all()
    # Open complaints (oldest first) and open cases, across days.
    got = {k.complaint: (k.received_ms, k.channel, k.window) for k in s.complaints}
    assert got == model.complaints and len(s.complaints) == len(got)
    by_age = sorted(model.complaints, key=lambda k: (model.complaints[k][0], k))
    assert [k.complaint for k in s.complaints] == by_age  # within a millisecond: by id
    assert [c.case for c in s.cases] == list(model.cases)
    for view in s.cases:
        case = model.cases[view.case]
        on_time = case.accepted is not None and case.accepted <= case.submitted + DEEM_MS
        assert view.submitted_ms == case.submitted
        assert view.accepted_ms == (case.accepted if on_time else case.submitted + DEEM_MS)
        assert view.deemed == (not on_time and model.now >= case.submitted + DEEM_MS)
        assert (view.paused, view.paused_since) == (
            case.paused_since is not None,
            case.paused_since,
        )
        assert len(view.pauses) == case.pauses
        assert view.card in ("none", "yellow", "red")


def _stamped(batch: list[Event], one_moment: bool) -> list[Event]:
    """The batch as it came, or every event of it at the first one's time (a vendor that
    stamps a batch with one clock reading)."""
    if not one_moment or not batch:
        return batch
    return [msgspec.structs.replace(ev, ts=batch[0].ts) for ev in batch]


streams = st.lists(st.builds(_stamped, st.lists(events(), max_size=12), st.booleans()), max_size=8)


@settings(max_examples=400, deadline=None)
@given(streams)
def test_the_snapshot_agrees_with_the_reference_model(batches: list[list[Event]]) -> None:
    city, model = CityState(), Model()
    for batch in batches:
        result = city.apply(batch)
        refused = [reason for ev in batch if (reason := model.apply(ev)) is not None]
        assert [r.reason for r in result.rejections] == refused
        assert result.applied == len(batch) - len(refused)
        if batch:
            check(model, city.snapshot(HALL))
