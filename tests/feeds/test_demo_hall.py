"""The demo hall simulator: deterministic, valid protocol, consistent, plausible."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import pytest

from feeds.demo.city import default_city, default_profile
from feeds.demo.hall import simulate_city, simulate_day
from feeds.hallclock import HALL_TZ as CST
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintAnswered,
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

DAY = dt.date(2025, 11, 24)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@pytest.fixture(scope="module")
def day1() -> list[Event]:
    return simulate_day(default_profile(), DAY, 1)


@dataclass
class HallChecker:
    """Replays one hall's events and asserts the ticket, window and case rules."""

    tickets: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """ticket → (waiting|called|serving|done|abandoned, window)."""
    windows: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """window → (open|paused|closed, ticket in hand)."""
    cases: dict[str, str] = field(default_factory=dict)
    complaints: dict[str, bool] = field(default_factory=dict)
    finished: set[tuple[str, str]] = field(default_factory=set)
    pending_cases: set[str] = field(default_factory=set)

    def apply(self, ev: Event) -> None:
        if isinstance(ev, TicketIssued):
            assert ev.ticket not in self.tickets, ev
            self.tickets[ev.ticket] = ("waiting", None)
        elif isinstance(ev, TicketCalled):
            state, window = self.tickets[ev.ticket]
            recall = state == "called" and window == ev.window
            assert state == "waiting" or recall, ev
            assert self.windows[ev.window][0] == "open", ev
            assert self.windows[ev.window][1] in (None, ev.ticket) if recall else True
            assert recall or self.windows[ev.window][1] is None, ev
            self.tickets[ev.ticket] = ("called", ev.window)
            self.windows[ev.window] = ("open", ev.ticket)
        elif isinstance(ev, ServiceStarted):
            assert self.tickets[ev.ticket] == ("called", ev.window), ev
            self.tickets[ev.ticket] = ("serving", ev.window)
        elif isinstance(ev, ServiceFinished):
            assert self.tickets[ev.ticket] == ("serving", ev.window), ev
            assert self.windows[ev.window] == ("open", ev.ticket), ev
            self.windows[ev.window] = ("open", None)
            back = ev.outcome == "transferred"
            self.tickets[ev.ticket] = ("waiting", None) if back else ("done", ev.window)
            self.finished.add((ev.ticket, ev.window))
            assert (ev.case is not None) == (ev.outcome == "to_backend"), ev
            if ev.case is not None:
                self.pending_cases.add(ev.case)
        elif isinstance(ev, TicketAbandoned):
            state, window = self.tickets[ev.ticket]
            assert state == ("called" if ev.reason == "no_show" else "waiting"), ev
            if window is not None:
                self.windows[window] = (self.windows[window][0], None)
            self.tickets[ev.ticket] = ("abandoned", None)
        elif isinstance(ev, WindowState):
            previous = self.windows.get(ev.window, ("closed", None))
            if ev.state != "open":
                assert previous[1] is None, ev  # nobody in hand when pausing or closing
            assert ev.staff is not None
            self.windows[ev.window] = (ev.state, previous[1])
        elif isinstance(ev, Rating):
            assert (ev.ticket, ev.window) in self.finished, ev
        elif isinstance(ev, CaseSubmitted):
            assert ev.case in self.pending_cases and ev.case not in self.cases, ev
            assert ev.promised_days > 0
            self.cases[ev.case] = "submitted"
        elif isinstance(ev, CaseAccepted):
            assert self.cases[ev.case] == "submitted", ev
            self.cases[ev.case] = "accepted"
        elif isinstance(ev, CasePaused):
            assert self.cases[ev.case] == "accepted", ev
            self.cases[ev.case] = "paused"
        elif isinstance(ev, CaseResumed):
            assert self.cases[ev.case] == "paused", ev
            self.cases[ev.case] = "accepted"
        elif isinstance(ev, CaseMaterialsChanged):  # asked for more: the case goes on
            assert self.cases[ev.case] in ("accepted", "paused"), ev
        elif isinstance(ev, CaseClosed):
            assert self.cases[ev.case] == "accepted", ev
            self.cases[ev.case] = "closed"
        elif isinstance(ev, Complaint):
            assert ev.complaint not in self.complaints
            self.complaints[ev.complaint] = False
        elif isinstance(ev, ComplaintAnswered):  # answered while open, before settled
            assert self.complaints[ev.complaint] is False, ev
        elif isinstance(ev, ComplaintClosed):
            assert self.complaints[ev.complaint] is False, ev
            self.complaints[ev.complaint] = True
        else:
            raise AssertionError(f"unexpected event {ev!r}")

    def check_day_over(self) -> None:
        unsettled = {t: s for t, (s, _) in self.tickets.items() if s not in ("done", "abandoned")}
        assert not unsettled
        assert {s for s, _ in self.windows.values()} == {"closed"}


def replay(events: Sequence[Event]) -> dict[str, HallChecker]:
    halls: dict[str, HallChecker] = collections.defaultdict(HallChecker)
    for ev in events:
        halls[ev.hall].apply(ev)
    for checker in halls.values():
        checker.check_day_over()
    return halls


def local(ev: Event) -> dt.datetime:
    return dt.datetime.fromtimestamp(ev.ts / 1000, CST)


def test_same_seed_same_day_different_seed_differs(day1: list[Event]) -> None:
    again = simulate_day(default_profile(), DAY, 1)
    assert msgspec.json.encode(again) == msgspec.json.encode(day1)
    other = simulate_day(default_profile(), DAY, 2)
    assert msgspec.json.encode(other) != msgspec.json.encode(day1)
    next_day = simulate_day(default_profile(), DAY + dt.timedelta(days=1), 1)
    assert len(next_day) != len(day1) or next_day[5].ts - day1[5].ts != 86_400_000


def test_every_event_is_valid_protocol(day1: list[Event]) -> None:
    decoder = msgspec.json.Decoder(Event)
    for seq, ev in enumerate(day1, 1):
        assert ev.seq == 0 and not isinstance(ev, Heartbeat)  # the server assigns seqs
        numbered = msgspec.structs.replace(ev, seq=seq)
        assert decoder.decode(msgspec.json.encode(numbered)) == numbered
    kinds = {type(ev) for ev in day1}
    assert kinds >= {TicketIssued, TicketCalled, ServiceStarted, ServiceFinished, WindowState}
    assert kinds >= {Rating, CaseSubmitted, CaseAccepted, TicketAbandoned}


def test_sorted_by_ts_within_the_service_day(day1: list[Event]) -> None:
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(day1))
    assert {local(ev).date() for ev in day1} == {DAY}
    assert local(day1[0]).hour == 8  # the first tickets, before opening
    assert {ev.hall for ev in day1} == {"anqiu"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_lifecycles_are_consistent(seed: int) -> None:
    replay(simulate_day(default_profile(), DAY, seed))


def test_city_merges_halls_by_ts() -> None:
    profiles = default_city()
    assert [p.hall for p in profiles] == ["city", "county-a", "county-b"]
    events = simulate_city(profiles, DAY, 7)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(events))
    halls = replay(events)
    assert set(halls) == {"city", "county-a", "county-b"}
    for profile in profiles:
        alone = simulate_day(profile, DAY, 7)
        assert [ev for ev in events if ev.hall == profile.hall] == alone
    sizes = {hall: len(c.tickets) for hall, c in halls.items()}
    assert sizes["city"] > max(sizes["county-a"], sizes["county-b"])
    assert min(sizes.values()) > 150


def test_default_profile_shape() -> None:
    profile = default_profile()
    assert [z.id for z in profile.zones] == ["invest", "estate", "biz", "civic"]
    assert [w.id for w in profile.windows] == [f"W{i:02d}" for i in range(1, 13)]
    kinds = collections.Counter(w.kind for w in profile.windows)
    assert kinds == {"comprehensive": 9, "specialist": 2, "priority": 1}
    assert profile.windows[-1].zones == tuple(z.id for z in profile.zones)
    assert all(any(i.promised_days == 0 for i in z.items) for z in profile.zones)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numbers_are_plausible(seed: int) -> None:
    events = simulate_day(default_profile(), DAY, seed)
    by_kind = collections.defaultdict(list)
    for ev in events:
        by_kind[type(ev)].append(ev)
    issued: list[TicketIssued] = by_kind[TicketIssued]
    assert 600 <= len(issued) <= 900
    assert 0.02 <= sum(t.priority == "priority" for t in issued) / len(issued) <= 0.09
    assert {t.channel for t in issued} == {"kiosk", "reservation", "app", "desk"}
    persons = [t.person for t in issued if t.person is not None]
    assert 0.2 * len(issued) < len(persons) < 0.9 * len(issued)
    for person in persons:
        assert len(person) == 18
        check = sum(int(c) * w for c, w in zip(person, _ID_WEIGHTS, strict=False)) % 11
        assert person[17] == "10X98765432"[check]
    ratings: list[Rating] = by_kind[Rating]
    services = [f for f in by_kind[ServiceFinished] if f.outcome != "transferred"]
    assert 0.7 <= len(ratings) / len(services) <= 0.9
    assert 0 < sum(r.score <= 2 for r in ratings) / len(ratings) < 0.05
    assert sum(r.score == 5 for r in ratings) / len(ratings) > 0.8
    outcomes = collections.Counter(f.outcome for f in by_kind[ServiceFinished])
    assert outcomes.keys() == {"done", "to_backend", "incomplete", "rejected", "transferred"}
    assert outcomes["done"] + outcomes["to_backend"] > 0.8 * sum(outcomes.values())
    reasons = collections.Counter(a.reason for a in by_kind[TicketAbandoned])
    assert 0.01 * len(issued) <= reasons["no_show"] <= 0.06 * len(issued)
    assert 0 < reasons["left"] <= 0.1 * len(issued)
    assert len(by_kind[CaseSubmitted]) > 100
    submitted = {c.case: c.ts for c in by_kind[CaseSubmitted]}
    delays = [a.ts - submitted[a.case] for a in by_kind[CaseAccepted]]
    assert any(d > 600_000 for d in delays) and sorted(delays)[len(delays) // 2] < 600_000
    # Arrivals peak in the morning; the lunch hour is quiet.
    per_hour = collections.Counter(local(t).hour for t in issued)
    busiest = max(range(9, 17), key=lambda h: per_hour[h])
    assert 9 <= busiest < 12
    assert per_hour[12] < min(per_hour[h] for h in (9, 10, 14, 15))


def test_complaints_windows_and_day_end(day1: list[Event]) -> None:
    days = [day1, *(simulate_day(default_profile(), DAY, s) for s in (2, 3))]
    complaints = [ev for d in days for ev in d if isinstance(ev, Complaint)]
    closed = [ev for d in days for ev in d if isinstance(ev, ComplaintClosed)]
    assert complaints and closed and len(closed) <= len(complaints)
    # Most are answered on the spot (现场处理答复), minutes after they came in, once.
    answered = 0
    for d in days:  # (the three runs of the same day reuse complaint ids)
        received = {ev.complaint: ev.ts for ev in d if isinstance(ev, Complaint)}
        answers = [ev for ev in d if isinstance(ev, ComplaintAnswered)]
        assert len({a.complaint for a in answers}) == len(answers)
        assert all(2 * 60_000 <= a.ts - received[a.complaint] <= 14 * 60_000 for a in answers)
        answered += len(answers)
    assert answered >= len(complaints) // 2
    states = [ev for ev in day1 if isinstance(ev, WindowState)]
    opened = {ev.window: local(ev) for ev in reversed(states) if ev.state == "open"}
    assert len(opened) == 12
    assert sum(t.time() < dt.time(9, 1) for t in opened.values()) >= 9
    assert any(ev.reason == "休息" for ev in states) and any(ev.reason == "午休" for ev in states)
    staff: dict[str, set[str]] = collections.defaultdict(set)
    for ev in states:
        staff[ev.window].add(ev.staff or "")
    assert any(len(s) == 2 for s in staff.values())  # an A/B post change
    closes = [local(ev).time() for ev in states if ev.state == "closed"]
    assert len(closes) == 12 and min(closes) >= dt.time(17)
    expired = [local(ev).time() for ev in day1 if getattr(ev, "reason", None) == "expired"]
    assert all(t == dt.time(17) for t in expired)
