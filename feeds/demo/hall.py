"""The demo hall: a seeded, deterministic discrete-event simulation of service days.

``simulate_day`` turns a ``HallProfile`` (``feeds.demo.city``) into every protocol-v1
event of one day, sorted by ``ts``, with ``seq=0`` as a placeholder (the feed server
assigns seqs). The same profile, day and seed always give the same list; the hall id is
part of the random seed, so halls of one city differ. ``simulate_days`` runs several
consecutive days, each handing on to the next what carries over (cases closed days
later, people coming back for the same item). Hall time is China Standard Time.

What happens (README, "The demo city"): the day's plan (``city.day_plan``) says whether the hall
opens and how busy it is; windows open at opening time; tickets arrive at a time-varying
Poisson rate (opening surge, morning peak, lunch dip, afternoon peak), reservations a
few minutes before their half-hour slot; a free window calls the oldest waiting ticket
of its zones (the priority window calls priority tickets of every zone first;
specialist windows take only instant items, 即办件; enquiry and printing windows their
own zone); people walk 10-60 s, a few never come (recalled once or not, then
``no_show``), some give up and leave; service times are lognormal per item; outcomes
are done, to the back office, incomplete (the person may come back, the same day or
another), rejected or transferred; windows take breaks (staggered lunch breaks where
the hall serves through lunch), change A/B post, and now and then sit unattended
while their queue grows; at lunch the morning queue is worked off (at most
``shape.DRAIN_S``)
before the windows pause; at closing the queue expires.

Imports: feeds.protocol, feeds.hallclock, feeds.demo.city, feeds.demo.shape,
feeds.demo.backoffice, the standard library.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from feeds.demo.backoffice import BackOffice, Carry, FollowUp, Return
from feeds.demo.city import HallProfile, ItemProfile, WindowProfile, day_plan, saturday_profile
from feeds.demo.shape import DayShape
from feeds.hallclock import day_start_ms
from feeds.protocol import (
    Event,
    ServiceFinished,
    ServiceOutcome,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketChannel,
    TicketIssued,
    WindowState,
)

#: Back-office events (cases, complaints, SMS ratings) stop this long after closing.
AFTER_HOURS_S: Final = 2 * 3600
_MIN: Final = 60.0
_HOUR: Final = 3600.0
_CHANNELS: Final[tuple[TicketChannel, ...]] = ("kiosk", "reservation", "app", "desk")
_CHANNEL_WEIGHTS: Final = (0.58, 0.17, 0.15, 0.10)
_PERSON_P: Final = {"kiosk": 0.35, "reservation": 0.9, "app": 0.9, "desk": 0.5}


@dataclass(slots=True, eq=False)
class _Ticket:
    id: str
    zone: int
    item: ItemProfile
    priority: bool
    person: str | None
    order: int
    issued: float
    returning: bool = False
    state: str = "waiting"  # waiting | called | serving | done | abandoned
    excluded: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class _Desk:
    """A window during the simulation."""

    spec: WindowProfile
    zones: tuple[int, ...]
    staff: str
    backup: str
    state: str = "off"  # off | idle | busy | break | lunch | away | closed
    idle_since: float = 0.0
    want_break: tuple[float, str] | None = None
    """A break is due: (how long, reason)."""
    want_away: float = 0.0
    """The staff will leave the window open and unattended for this long."""
    want_post: bool = False


class _HallDay(DayShape):
    """One hall, one day. Times are seconds since local midnight (floats)."""

    def __init__(
        self, profile: HallProfile, day: dt.date, seed: int, arrivals_factor: float = 1.0
    ) -> None:
        rng = random.Random(f"{seed}:{profile.hall}:{day.isoformat()}")
        super().__init__(profile.hours, rng, profile.arrivals_per_day * arrivals_factor)
        self.p = profile
        self.day = day
        self.t0_ms = day_start_ms(day)
        self.day_end = min(self.close + AFTER_HOURS_S, 24 * _HOUR - 0.001)  # same local day
        zone_ids = [z.id for z in profile.zones]
        self.desks = [
            _Desk(w, tuple(zone_ids.index(z) for z in w.zones), w.staff, w.backup)
            for w in profile.windows
        ]
        self.queues: list[list[_Ticket]] = [[] for _ in profile.zones]
        self.numbers = [0] * len(profile.zones)
        self.events: list[Event] = []
        self.heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self.counter = 0
        self.orders = 0
        self.items = [(z, i) for z, zone in enumerate(profile.zones) for i in zone.items]
        self.item_weights = [i.share for _, i in self.items]
        self.office = BackOffice(self.rng, profile.hall, day, self.day_end, self.emit, seed)

    # -- plumbing --
    def at(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (t, self.counter, fn, args))

    def emit(self, cls: type[Any], t: float, **fields: Any) -> None:
        self.events.append(cls(seq=0, ts=self.t0_ms + round(t * 1000), hall=self.p.hall, **fields))

    def run(self, carried: Iterable[Carry] = ()) -> list[Event]:
        rng = self.rng
        for i, (a, b) in enumerate(self.periods):
            for d in self.desks:
                late = i == 0 and rng.random() < 0.06  # someone is late for work
                delay = rng.uniform(120, 480) if late else rng.uniform(-90, 30)
                self.at(max(a + delay, 0.0), self.reopen, d)
            if i + 1 < len(self.periods):
                self.at(b, self.period_end)
        self.at(self.close, self.close_hall)
        for t in self.arrival_times():
            channel = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
            if channel == "reservation":  # comes a few minutes before the half-hour slot
                slot = math.ceil(t / 1800) * 1800 - rng.uniform(60, 600)
                t = slot if self.rate(slot) > 0 else t
            self.at(t, self.arrive, channel)
        open_s = sum(b - a for a, b in self.periods)
        for i, d in enumerate(self.desks):
            for _ in range(rng.choice((0, 1, 1, 2))):
                when = self.open_time(rng.uniform(1800, open_s - 1800))
                self.at(when, self.break_due, d, rng.uniform(5 * _MIN, 15 * _MIN), "休息")
            if len(self.periods) == 1 and open_s > 6 * _HOUR:  # served through lunch
                when = 11.25 * _HOUR + (i % 3) * 40 * _MIN + rng.uniform(0, 10 * _MIN)
                self.at(when, self.break_due, d, rng.uniform(30 * _MIN, 45 * _MIN), "午休")
            if rng.random() < 0.3:
                self.at(self.open_time(rng.uniform(3600, open_s - 1800)), self.post_due, d)
            if rng.random() < 0.1:  # the staff walks off without pausing the window
                self.at(self.open_time(rng.uniform(1800, open_s - 3600)), self.away_due, d)
        for _ in range(self.poisson(self.arrivals / 350)):
            self.at(self.open_time(rng.uniform(600, open_s)), self.walk_in_complaint)
        self.carry_in(carried, open_s)
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            fn(t, *args)
        self.events.sort(key=lambda e: e.ts)
        return self.events

    def carry_in(self, carried: Iterable[Carry], open_s: float) -> None:
        """Schedule what earlier days handed on: returning people, back-office work."""
        rng = self.rng
        items = {i.id: (z, i) for z, i in self.items}
        for c in carried:
            if isinstance(c, Return):
                if c.item not in items:  # not served today (a Saturday): next time
                    self.office.carry.append(c)
                    continue
                zone, item = items[c.item]
                when = self.open_time(rng.uniform(0, open_s * 0.8))
                channel = rng.choice(("kiosk", "reservation"))
                self.at(when, self.issue, zone, item, channel, c.person, c.priority, True)
            elif isinstance(c, FollowUp):
                at = rng.uniform(0, open_s) if c.share is None else c.share * open_s
                self.at(self.open_time(at), self.office.follow_up, c)

    # -- tickets --
    def arrive(self, t: float, channel: TicketChannel) -> None:
        rng = self.rng
        zone, item = rng.choices(self.items, self.item_weights)[0]
        person = self.fake_id(self.p.area_code) if rng.random() < _PERSON_P[channel] else None
        self.issue(t, zone, item, channel, person, rng.random() < 0.05)

    def issue(
        self,
        t: float,
        zone: int,
        item: ItemProfile,
        channel: TicketChannel,
        person: str | None,
        priority: bool,
        returning: bool = False,
    ) -> None:
        if self.phase(t) == "closed":
            return
        self.numbers[zone] += 1
        self.orders += 1
        tid = f"{self.p.zones[zone].letter}{self.numbers[zone]:03d}"
        ticket = _Ticket(tid, zone, item, priority, person, self.orders, t, returning)
        self.emit(
            TicketIssued, t, ticket=tid, zone=self.p.zones[zone].id, item=item.id,
            priority="priority" if priority else "normal", channel=channel, person=person,
        )  # fmt: skip
        self.queues[zone].append(ticket)
        if self.rng.random() < 0.35:  # the impatient: may give up after a long wait
            patience = 15 * _MIN + self.rng.lognormvariate(math.log(25 * _MIN), 0.5)
            self.at(t + patience, self.give_up, ticket)
        self.dispatch(t)

    def give_up(self, t: float, ticket: _Ticket) -> None:
        if ticket.state != "waiting" or self.phase(t) == "closed":
            return
        if self.phase(t) in ("lunch", "before"):  # everyone knows the hall reopens
            self.at(self.next_start(t) + 10 * _MIN, self.give_up, ticket)
            return
        self.queues[ticket.zone].remove(ticket)
        ticket.state = "abandoned"
        self.emit(TicketAbandoned, t, ticket=ticket.id, reason="left")

    def pick(self, d: _Desk) -> _Ticket | None:
        """The oldest waiting ticket this window may call (priority first at the priority
        window; instant items only at a specialist window)."""
        best: _Ticket | None = None
        for z in d.zones:
            for tk in self.queues[z]:
                if d.spec.id in tk.excluded:
                    continue
                if d.spec.kind == "specialist" and tk.item.promised_days > 0:
                    continue
                if best is None or _rank(d, tk) < _rank(d, best):
                    best = tk
                if d.spec.kind != "priority" or tk.priority:
                    break  # queues are in issue order: the rest of this zone ranks lower
        return best

    def dispatch(self, t: float) -> None:
        idle = sorted((d for d in self.desks if d.state == "idle"), key=lambda d: d.idle_since)
        for d in idle:
            ticket = self.pick(d)
            if ticket is not None:
                self.call(t, d, ticket)

    # -- windows --
    def window_state(self, t: float, d: _Desk, state: str, reason: str | None = None) -> None:
        self.emit(WindowState, t, window=d.spec.id, state=state, staff=d.staff, reason=reason)

    def reopen(self, t: float, d: _Desk) -> None:
        if d.state in ("off", "lunch"):
            self.free(t, d)

    def period_end(self, t: float) -> None:
        for d in self.desks:
            if d.state == "idle":
                self.free(t, d)

    def close_hall(self, t: float) -> None:
        for queue in self.queues:
            for ticket in sorted(queue, key=lambda tk: tk.order):
                ticket.state = "abandoned"
                self.emit(TicketAbandoned, t, ticket=ticket.id, reason="expired")
            queue.clear()
        for d in self.desks:
            if d.state in ("idle", "break", "lunch", "away"):
                self.window_state(t, d, "closed")
            if d.state != "busy":
                d.state = "closed"

    def break_due(self, t: float, d: _Desk, duration: float, reason: str) -> None:
        d.want_break = (duration, reason)
        if d.state == "idle":
            self.free(t, d)

    def back(self, t: float, d: _Desk, state: str) -> None:
        """The end of a break or of an unattended spell."""
        if d.state == state:
            self.free(t, d)

    def post_due(self, t: float, d: _Desk) -> None:
        d.want_post = True
        if d.state == "idle":
            self.free(t, d)

    def away_due(self, t: float, d: _Desk) -> None:
        d.want_away = self.rng.uniform(15 * _MIN, 40 * _MIN)
        if d.state == "idle":
            self.free(t, d)

    def free(self, t: float, d: _Desk) -> None:
        """Window ``d`` has nobody in hand at ``t``: close, pause, change post, or call."""
        phase = self.phase(t)
        if phase == "closed":
            if d.state != "off":
                self.window_state(t, d, "closed")
            d.state = "closed"
            return
        if phase in ("lunch", "before"):
            if d.state not in ("lunch", "off"):
                self.window_state(t, d, "paused", "午休")
                d.state = "lunch"
            return
        if d.want_break and phase == "open" and d.state in ("idle", "busy"):
            duration, reason = d.want_break
            self.window_state(t, d, "paused", reason)
            d.state, d.want_break = "break", None
            self.at(t + duration, self.back, d, "break")
            return
        if d.want_away and phase == "open" and d.state in ("idle", "busy"):
            d.state, duration, d.want_away = "away", d.want_away, 0.0  # no event: unattended
            self.at(t + duration, self.back, d, "away")
            return
        ticket = self.pick(d)
        if ticket is None and phase == "drain":
            if d.state != "lunch":
                self.window_state(t, d, "paused", "午休")
                d.state = "lunch"
            return
        if d.state in ("off", "lunch", "break") or d.want_post:
            if d.want_post and d.state != "off":
                d.staff, d.backup, d.want_post = d.backup, d.staff, False
            self.window_state(t, d, "open")
        d.state, d.idle_since = "idle", t
        if ticket is not None:
            self.call(t, d, ticket)

    def call(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        self.queues[ticket.zone].remove(ticket)
        ticket.state, d.state = "called", "busy"
        self.emit(TicketCalled, t, ticket=ticket.id, window=d.spec.id)
        rng = self.rng
        if not ticket.excluded and rng.random() < 0.03:  # nobody comes
            wait = rng.uniform(40, 90)
            if rng.random() < 0.5:
                self.at(t + wait, self.recall, d, ticket)
                wait += rng.uniform(40, 90)
            self.at(t + wait, self.no_show, d, ticket)
        else:
            self.at(t + rng.uniform(10, 60), self.start, d, ticket)

    def recall(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        self.emit(TicketCalled, t, ticket=ticket.id, window=d.spec.id)

    def no_show(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        ticket.state = "abandoned"
        self.emit(TicketAbandoned, t, ticket=ticket.id, reason="no_show")
        self.free(t, d)

    def start(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        ticket.state = "serving"
        item = ticket.item
        self.emit(
            ServiceStarted, t, ticket=ticket.id, window=d.spec.id, item=item.id, staff=d.staff
        )
        mu = math.log(item.mean_service_s) - item.sigma**2 / 2
        duration = min(max(self.rng.lognormvariate(mu, item.sigma), 30.0), 6 * item.mean_service_s)
        self.at(t + duration, self.finish, d, ticket)

    def outcome(self, t: float, ticket: _Ticket) -> ServiceOutcome:
        rng, item = self.rng, ticket.item
        if rng.random() < (0.04 if self.phase(t) == "open" and not ticket.excluded else 0.0):
            return "transferred"
        main: ServiceOutcome = "to_backend" if item.promised_days > 0 else "done"
        if self.p.zones[ticket.zone].kind != "service":
            return main  # an answer or a certificate: nothing to be incomplete about
        r = rng.random() * (0.4 if ticket.returning else 1.0)  # returners bring it all
        return "rejected" if r < 0.02 else "incomplete" if r < 0.12 else main

    def finish(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        rng, item, office = self.rng, ticket.item, self.office
        outcome = self.outcome(t, ticket)
        case = office.new_case() if outcome == "to_backend" else None
        self.emit(
            ServiceFinished, t, ticket=ticket.id, window=d.spec.id, outcome=outcome, case=case
        )
        if outcome == "transferred":
            ticket.state = "waiting"
            ticket.excluded.add(d.spec.id)
            bisect.insort(self.queues[ticket.zone], ticket, key=lambda tk: tk.order)
        else:
            ticket.state = "done"
            if case is not None:
                office.case_life(t, case, item, d.spec.id, ticket.id, ticket.person)
            if rng.random() < 0.8:
                office.rate(t, d.spec.id, d.staff, ticket.id, t - ticket.issued, outcome)
            if outcome == "incomplete" and ticket.person:
                r = rng.random()
                back = t + rng.uniform(40 * _MIN, 3 * _HOUR)
                if r < 0.25 and back < self.close - 20 * _MIN:  # fetched them the same day
                    self.at(
                        back, self.issue, ticket.zone, item, "kiosk", ticket.person,
                        ticket.priority, True,
                    )  # fmt: skip
                elif r < 0.7:  # comes back another day: 最多跑一次 broken
                    office.come_back(ticket.person, item, ticket.priority)
        d.state = "busy"
        self.at(t + rng.uniform(3, 15), self.free, d)
        self.dispatch(t)

    def walk_in_complaint(self, t: float) -> None:
        d = self.rng.choice(self.desks) if self.rng.random() < 0.6 else None
        self.office.walk_in_complaint(t, d.spec.id if d else None, d.staff if d else None)


def _rank(d: _Desk, ticket: _Ticket) -> tuple[int, int]:
    first = 0 if d.spec.kind == "priority" and ticket.priority else 1
    return (first, ticket.order)


def simulate_hall_day(
    profile: HallProfile, day: dt.date, seed: int, carried: Iterable[Carry] = ()
) -> tuple[list[Event], list[Carry]]:
    """One hall-day and what it hands on: ``(events, carry)``.

    Args:
        profile: The hall.
        day: The service day (hall-local date). On a closed day there are no events and
            whatever was due is handed on unchanged.
        seed: The same seed, day, profile and carry always give the same events.
        carried: What earlier days handed on to this one (``Return``, ``FollowUp``).
    """
    plan = day_plan(profile, day)
    if plan is None:
        return [], list(carried)
    if plan.windows < len(profile.windows) or plan.hours != profile.hours:
        profile = saturday_profile(profile, plan)
    hall_day = _HallDay(profile, day, seed, plan.arrivals_factor)
    events = hall_day.run(carried)
    return events, hall_day.office.carry


def simulate_day(profile: HallProfile, day: dt.date, seed: int) -> list[Event]:
    """Every event of one service day of ``profile``'s hall, sorted by ``ts`` (stable).

    Args:
        profile: The hall.
        day: The service day (hall-local date, Asia/Shanghai); closed days are empty.
        seed: The same seed, day and profile always give the same events.

    Returns:
        Protocol-v1 events with ``seq=0``; the feed server assigns the seqs.
    """
    return simulate_hall_day(profile, day, seed)[0]


def simulate_city(profiles: Sequence[HallProfile], day: dt.date, seed: int) -> list[Event]:
    """The events of several halls on one day, merged by ``ts`` (stable: profile order
    breaks ties). Each hall draws from its own seed stream (seed, hall id, day)."""
    return simulate_days(profiles, day, 1, seed)


def simulate_days(
    profiles: Sequence[HallProfile], first: dt.date, days: int, seed: int
) -> list[Event]:
    """``days`` consecutive days of several halls from ``first``, merged by ``ts``.

    Each day hands on to the next what carries over: cases closed days later (a few
    late, so they turn yellow and red on the way) and people coming back for an item
    whose materials were incomplete. Day ``first`` alone is ``simulate_city``'s day.
    """
    merged: list[Event] = []
    pending: dict[str, list[Carry]] = {p.hall: [] for p in profiles}
    for k in range(days):
        day = first + dt.timedelta(days=k)
        for profile in profiles:
            due = [c for c in pending[profile.hall] if c.day <= day]
            later = [c for c in pending[profile.hall] if c.day > day]
            events, carry = simulate_hall_day(profile, day, seed, due)
            merged += events
            pending[profile.hall] = later + carry
    merged.sort(key=lambda e: e.ts)
    return merged
