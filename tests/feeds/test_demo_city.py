"""The demo city: hall shapes from the seeds, open days, and what carries over days."""

from __future__ import annotations

import collections
import datetime as dt
import itertools

import msgspec
import pytest

from feeds.demo.backoffice import workday_after
from feeds.demo.city import city, day_plan, default_city, is_workday, last_open_day
from feeds.demo.hall import simulate_day, simulate_days
from feeds.hallclock import HALL_TZ, service_day
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CasePaused,
    CaseSubmitted,
    Event,
    ServiceFinished,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.state import CityState

MONDAY = dt.date(2025, 11, 24)


def numbered(events: list[Event]) -> list[Event]:
    return [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]


def test_default_city_is_the_seeds_halls() -> None:
    centre, luozhuang, anqiu = default_city()
    zones = [z.name for z in centre.zones]
    assert zones[:8] == ["投资项目", "商事登记", "不动产", "公安", "公积金", "税务", "人力社保",
                         "其他社会事务"]  # fmt: skip
    assert len(centre.hours) == 1  # served through lunch
    kinds = collections.Counter(w.kind for w in luozhuang.windows)
    assert kinds == {"comprehensive": 10, "enquiry": 2, "printing": 2, "priority": 1}
    assert [z.name for z in anqiu.zones] == [
        "投资项目",
        "不动产交易纳税登记",
        "商事登记",
        "综合便民",
    ]
    for hall in (centre, luozhuang, anqiu):
        ids = [w.id for w in hall.windows]
        assert len(set(ids)) == len(ids)
        assert hall.windows[-1].kind == "priority"


def test_a_city_of_hundreds_of_halls() -> None:
    halls = city(250)
    assert len({h.hall for h in halls}) == 250
    assert halls[0].hall == "city" and halls[27].hall == "county-aa"
    assert len({h.arrivals_per_day for h in halls[3:]}) > 20  # sizes vary
    with pytest.raises(ValueError):
        city(0)


def test_open_days_follow_the_calendar() -> None:
    centre, county, _ = default_city()
    assert day_plan(county, dt.date(2025, 11, 29)) is None  # Saturday: only the centre
    saturday = day_plan(centre, dt.date(2025, 11, 29))
    assert saturday is not None and saturday.windows < len(centre.windows)
    assert day_plan(centre, dt.date(2025, 11, 30)) is None  # Sunday
    assert day_plan(centre, dt.date(2025, 10, 3)) is None  # National Day
    assert not is_workday(dt.date(2025, 10, 3))
    makeup = day_plan(county, dt.date(2025, 9, 28))  # a Sunday worked (调休)
    assert makeup is not None and makeup.note == "make-up workday"
    after = day_plan(county, dt.date(2025, 10, 9))  # first day after the Golden Week
    monday, friday = day_plan(county, MONDAY), day_plan(county, MONDAY + dt.timedelta(days=4))
    assert after and monday and friday
    assert after.arrivals_factor > monday.arrivals_factor > friday.arrivals_factor
    assert last_open_day([county], dt.date(2025, 10, 5)) == dt.date(2025, 9, 30)
    assert simulate_day(county, dt.date(2025, 10, 3), 1) == []


def test_saturday_is_a_quiet_morning() -> None:
    centre = default_city()[0]
    events = simulate_day(centre, dt.date(2025, 11, 29), 1)
    issued = [ev for ev in events if isinstance(ev, TicketIssued)]
    assert 100 < len(issued) < 600
    closes = [ev for ev in events if isinstance(ev, WindowState) and ev.state == "closed"]
    assert max(dt.datetime.fromtimestamp(ev.ts / 1000, HALL_TZ).hour for ev in closes) == 12


def test_enquiry_and_printing_windows_serve_their_own_zone() -> None:
    luozhuang = default_city()[1]
    kind = {w.id: w.kind for w in luozhuang.windows}
    events = simulate_day(luozhuang, MONDAY, 3)
    zone = {ev.ticket: ev.zone for ev in events if isinstance(ev, TicketIssued)}
    served = collections.defaultdict(set)
    for ev in events:
        if isinstance(ev, TicketCalled):
            served[kind[ev.window]].add(zone[ev.ticket])
    assert served["enquiry"] == {"enquiry"} and served["printing"] == {"printing"}
    assert served["comprehensive"] == {"general"}
    outcomes = {ev.outcome for ev in events if isinstance(ev, ServiceFinished) and
                zone[ev.ticket] in ("enquiry", "printing")}  # fmt: skip
    assert outcomes <= {"done", "transferred"}


def test_an_unattended_window_lets_its_queue_grow() -> None:
    """Some window stays open, nobody called, for 15+ minutes while its zone waits."""
    profile = default_city()[0]
    zones = {w.id: w.zones for w in profile.windows if w.kind == "comprehensive"}
    found = 0
    for seed in (1, 2):
        waiting: dict[str, set[str]] = collections.defaultdict(set)
        zone_of: dict[str, str] = {}
        free_since: dict[str, tuple[int, bool]] = {}
        for ev in simulate_day(profile, MONDAY, seed):
            if isinstance(ev, TicketIssued):
                zone_of[ev.ticket] = ev.zone
                waiting[ev.zone].add(ev.ticket)
            elif isinstance(ev, TicketCalled):
                waiting[zone_of[ev.ticket]].discard(ev.ticket)
                since = free_since.pop(ev.window, None)
                if since and since[1] and ev.ts - since[0] > 15 * 60_000:
                    found += 1
            elif isinstance(ev, ServiceFinished) and ev.window in zones:
                queue = any(waiting[z] for z in zones[ev.window])
                free_since[ev.window] = (ev.ts, queue)
            elif isinstance(ev, WindowState):
                free_since.pop(ev.window, None)
    assert found >= 1


def test_ten_days_carry_cases_and_returns_across_days() -> None:
    halls = default_city()
    events = simulate_days(halls, MONDAY, 10, 5)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(events))
    assert simulate_days(halls, MONDAY, 1, 5) == [e for e in events if service_day(e.ts) == MONDAY]
    # The real state engine takes ten days without a single rejection.
    state = CityState()
    result = state.apply(numbered(events))
    assert result.rejections == [] and result.applied == len(events)
    cards = collections.Counter(c.card for h in state.snapshots().values() for c in h.cases)
    assert cards["none"] > 0.98 * sum(cards.values())  # a handful of cards, not dozens
    # Most cases close before the last working day of their promise, a few on it (a
    # yellow card that morning), a few after it (red): feeds.demo.backoffice.plan_close.
    accepted = {ev.case: service_day(ev.ts) for ev in events if isinstance(ev, CaseAccepted)}
    promised = {ev.case: ev.promised_days for ev in events if isinstance(ev, CaseSubmitted)}
    paused = {ev.case for ev in events if isinstance(ev, CasePaused)}  # (their limit moves)
    closed_on = collections.Counter(
        "before" if day < last else "last day" if day == last else "late"
        for ev in events
        if isinstance(ev, CaseClosed) and ev.case not in paused
        for day, last in [(service_day(ev.ts), workday_after(accepted[ev.case], promised[ev.case]))]
    )
    total = sum(closed_on.values())
    assert closed_on["before"] > 0.97 * total
    assert 0 < closed_on["late"] < 0.01 * total and 0 < closed_on["last day"] < 0.02 * total
    submitted = {ev.case: service_day(ev.ts) for ev in events if isinstance(ev, CaseSubmitted)}
    closed_later = [
        ev
        for ev in events
        if isinstance(ev, CaseClosed) and service_day(ev.ts) > submitted[ev.case]
    ]
    # (1-day cases mostly close the same day; the longer ones on later days)
    assert len(closed_later) > 0.3 * len(submitted)
    # The same person, the same item, another day: 最多跑一次 broken.
    visits = collections.defaultdict(set)
    for ev in events:
        if isinstance(ev, TicketIssued) and ev.person is not None:
            visits[(ev.hall, ev.person, ev.item)].add(service_day(ev.ts))
    assert sum(len(days) > 1 for days in visits.values()) >= 10
    # A console opening on the last day (after nine days of history) sees late cases.
    history = [e for e in events if service_day(e.ts) < MONDAY + dt.timedelta(days=9)]
    opening = CityState()
    opening.apply(numbered(history))
    late = [c for h in opening.snapshots().values() for c in h.cases if c.card != "none"]
    assert late
    # Nothing on Sundays.
    assert all(service_day(ev.ts).weekday() != 6 for ev in events)
