"""The demo hall: a seeded, deterministic discrete-event simulation of one service day.

``simulate_day`` turns a ``HallProfile`` (zones, items, windows, opening hours, expected
arrivals) into every protocol-v1 event of one day, sorted by ``ts``, with ``seq=0`` as a
placeholder (the feed server assigns seqs). The same profile, day and seed always give
the same list; a profile's hall id is part of the random seed, so halls of one city
differ. Hall time is Asia/Shanghai (UTC+8, no DST), a fixed offset: no tz database.

What happens (domain.md): windows open at opening time; tickets arrive at a time-varying
Poisson rate (opening surge, morning peak, lunch dip, afternoon peak); a free window
calls the oldest waiting ticket of its zones (the priority window calls priority tickets
of every zone first; specialist windows take only instant items, 即办件); people walk
10-60 s, a few never come (recalled once or not, then ``no_show``), some give up and
leave; service times are lognormal per item; items with a promised time limit go to the
back office as cases; most services are rated, rarely badly; complaints come now and
then; windows take breaks and change A/B post; at lunch the morning queue is worked off
(at most ``DRAIN_S``) before the windows pause; at closing the queue expires.

Imports: stdlib and feeds.protocol only.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Event,
    Rating,
    ServiceFinished,
    ServiceOutcome,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketChannel,
    TicketIssued,
    WindowState,
)

WindowKind = Literal["comprehensive", "specialist", "enquiry", "printing", "priority"]

#: The hall's local time: China Standard Time, UTC+8 all year.
CST: Final = dt.timezone(dt.timedelta(hours=8), "CST")
#: After a non-final opening period ends, windows keep calling for at most this long.
DRAIN_S: Final = 30 * 60
#: Back-office events (cases, complaints, SMS ratings) stop this long after closing.
AFTER_HOURS_S: Final = 2 * 3600
#: Windows may open this much before the opening time (staff are at their desks).
_EARLY_S: Final = 120.0
_MIN: Final = 60.0
_HOUR: Final = 3600.0


@dataclass(frozen=True, slots=True)
class ItemProfile:
    """A service item (事项) and how long the window takes for it."""

    id: str
    name: str
    mean_service_s: float
    """Mean window service time; service times are lognormal around it."""
    sigma: float
    """Lognormal sigma of the service time."""
    promised_days: int
    """Promised working days (承诺办结时限); 0 for an instant item (即办件), no case."""
    share: float
    """Relative share of the hall's arrivals (weights; they need not sum to 1)."""
    dept: str = "spj"
    """The back-office department that receives its cases."""


@dataclass(frozen=True, slots=True)
class ZoneProfile:
    """A zone (板块) with its items; ``letter`` prefixes its ticket numbers."""

    id: str
    name: str
    letter: str
    items: tuple[ItemProfile, ...]


@dataclass(frozen=True, slots=True)
class WindowProfile:
    """A window and the zones it calls tickets from."""

    id: str
    kind: WindowKind
    zones: tuple[str, ...]
    staff: str
    """Staff on the A post at opening."""
    backup: str
    """Staff on the B post (AB岗): takes over at a post change."""


@dataclass(frozen=True, slots=True)
class HallProfile:
    """Everything the simulator needs to know about one hall."""

    hall: str
    name: str
    zones: tuple[ZoneProfile, ...]
    windows: tuple[WindowProfile, ...]
    hours: tuple[tuple[dt.time, dt.time], ...]
    """Opening periods, e.g. 09:00-12:00 and 13:00-17:00, or one continuous period.
    Leave a margin before midnight: the last services end after closing."""
    arrivals_per_day: float
    """Expected tickets issued per day (new arrivals; returns come on top)."""
    area_code: str = "370784"
    """Six-digit area code of the fake ID numbers of the hall's visitors."""


# --- the default halls --------------------------------------------------------------------

_ZONES: Final = (
    ZoneProfile("invest", "投资项目", "A", (
        ItemProfile("tzxm-01", "企业投资项目备案", 720, 0.4, 1, 0.025, "fgj"),
        ItemProfile("tzxm-02", "建设工程规划许可", 900, 0.45, 10, 0.015, "zrzyj"),
        ItemProfile("tzxm-03", "建筑工程施工许可", 840, 0.45, 7, 0.012, "zjj"),
        ItemProfile("tzxm-04", "投资项目代办咨询", 420, 0.5, 0, 0.012, "spj"),
    )),
    ZoneProfile("estate", "不动产交易纳税登记", "B", (
        ItemProfile("bdc-01", "二手房转移登记", 660, 0.4, 5, 0.08, "bdcdj"),
        ItemProfile("bdc-02", "抵押权登记", 480, 0.4, 3, 0.05, "bdcdj"),
        ItemProfile("bdc-03", "存量房交易契税缴纳", 300, 0.45, 0, 0.06, "swj"),
        ItemProfile("bdc-04", "不动产登记资料查询", 180, 0.5, 0, 0.06, "bdcdj"),
    )),
    ZoneProfile("biz", "商事登记", "C", (
        ItemProfile("shdj-01", "企业设立登记", 540, 0.45, 1, 0.05, "scjgj"),
        ItemProfile("shdj-02", "企业变更登记", 420, 0.45, 1, 0.05, "scjgj"),
        ItemProfile("shdj-03", "个体工商户登记", 300, 0.4, 0, 0.06, "scjgj"),
        ItemProfile("shdj-04", "营业执照领取", 150, 0.5, 0, 0.06, "scjgj"),
    )),
    ZoneProfile("civic", "综合便民", "D", (
        ItemProfile("bm-01", "社保参保登记", 240, 0.5, 0, 0.06, "rsj"),
        ItemProfile("bm-02", "住房公积金提取", 300, 0.45, 3, 0.05, "gjj"),
        ItemProfile("bm-03", "医保关系转移", 270, 0.5, 0, 0.05, "ybj"),
        ItemProfile("bm-04", "居住证办理", 240, 0.45, 7, 0.03, "gaj"),
    )),
)  # fmt: skip
_SPLIT_DAY: Final = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17)))


#: Zone order of the window layouts below.
_ZONE_ORDER: Final = tuple(z.id for z in _ZONES)


def build_profile(
    hall: str,
    name: str,
    layout: tuple[tuple[int, int], ...],
    arrivals_per_day: float,
    area_code: str = "370784",
) -> HallProfile:
    """A hall with the four standard zones and a split day (09:00-12:00, 13:00-17:00).

    Args:
        hall: Hall id.
        name: Display name.
        layout: Per zone (invest, estate, biz, civic): how many comprehensive windows
            (无差别 within the zone) and specialist windows (instant items only). One
            priority window (绿色通道) serving every zone comes last.
        arrivals_per_day: Expected tickets per day.
        area_code: Area code of the visitors' fake ID numbers.
    """
    windows: list[WindowProfile] = []
    for zone, (comprehensive, specialist) in zip(_ZONE_ORDER, layout, strict=True):
        windows += [
            _window(len(windows) + i, "comprehensive", (zone,)) for i in range(comprehensive)
        ]
        windows += [_window(len(windows) + i, "specialist", (zone,)) for i in range(specialist)]
    windows.append(_window(len(windows), "priority", _ZONE_ORDER))
    return HallProfile(hall, name, _ZONES, tuple(windows), _SPLIT_DAY, arrivals_per_day, area_code)


def _window(i: int, kind: WindowKind, zones: tuple[str, ...]) -> WindowProfile:
    """Window W01…; A-post staff s011…, B-post staff s031…."""
    return WindowProfile(f"W{i + 1:02d}", kind, zones, f"s{i + 11:03d}", f"s{i + 31:03d}")


def default_profile(hall_id: str = "anqiu") -> HallProfile:
    """An Anqiu-like hall: 4 zones, 12 windows (1+X: 9 comprehensive, 2 specialist, one
    priority lane), 09:00-12:00 and 13:00-17:00, ~650-700 tickets a day."""
    return build_profile(hall_id, "安丘市政务服务中心", ((2, 0), (3, 1), (2, 1), (2, 0)), 660)


def default_city() -> list[HallProfile]:
    """One city centre and two smaller county centres (hall ids city, county-a, county-b)."""
    return [
        build_profile("city", "市政务服务中心", ((3, 0), (4, 1), (3, 1), (3, 0)), 950, "370702"),
        build_profile("county-a", "甲县政务服务中心", ((1, 0), (2, 0), (1, 1), (1, 0)), 360),
        build_profile(
            "county-b", "乙县政务服务中心", ((1, 0), (1, 0), (1, 0), (1, 0)), 240, "370785"
        ),
    ]


# --- the simulation -------------------------------------------------------------------------

#: Relative arrival rate over the day (hour, weight), interpolated linearly.
_RATE_KNOTS: Final = (
    (7.0, 0.3), (9.0, 0.9), (10.0, 1.5), (11.0, 1.25), (12.0, 0.6), (13.0, 0.6),
    (14.0, 1.0), (15.0, 1.15), (16.0, 0.95), (17.0, 0.45), (19.0, 0.3),
)  # fmt: skip
_CHANNELS: Final[tuple[TicketChannel, ...]] = ("kiosk", "reservation", "app", "desk")
_CHANNEL_WEIGHTS: Final = (0.58, 0.17, 0.15, 0.10)
_PERSON_P: Final = {"kiosk": 0.35, "reservation": 0.9, "app": 0.9, "desk": 0.5}
_PAUSE_REASONS: Final = ("现场勘验", "专家评审", "听证", "补正材料")
_COMPLAINTS: Final = {
    "wait_time": "排队等候时间过长",
    "attitude": "工作人员态度生硬",
    "extra_materials": "要求提供清单以外的材料",
    "repeat_trip": "同一事项跑了两次还没办成",
    "unclear_notice": "一次性告知不清楚",
}
_BAD_COMMENTS: Final = ("等了太久", "材料要求不清楚", "态度不好", "跑了两趟")
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(slots=True, eq=False)
class _Ticket:
    id: str
    zone: int
    item: ItemProfile
    priority: bool
    person: str | None
    order: int
    issued: float
    state: str = "waiting"  # waiting | called | serving | done | abandoned
    excluded: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class _Desk:
    """A window during the simulation."""

    spec: WindowProfile
    zones: tuple[int, ...]
    staff: str
    backup: str
    state: str = "off"  # off | idle | busy | break | lunch | closed
    idle_since: float = 0.0
    want_break: float = 0.0
    want_post: bool = False


class _HallDay:
    """One hall, one day. Times are seconds since local midnight (floats)."""

    def __init__(self, profile: HallProfile, day: dt.date, seed: int) -> None:
        self.p = profile
        self.rng = random.Random(f"{seed}:{profile.hall}:{day.isoformat()}")
        midnight = dt.datetime.combine(day, dt.time(), CST)
        self.t0_ms = int(midnight.timestamp()) * 1000
        self.stamp = day.strftime("%Y%m%d")
        self.periods = [(_secs(a), _secs(b)) for a, b in profile.hours]
        self.close = self.periods[-1][1]
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
        self.cases = 0
        self.complaints = 0
        self.items = [(z, i) for z, zone in enumerate(profile.zones) for i in zone.items]
        self.item_weights = [i.share for _, i in self.items]

    # -- plumbing --
    def at(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (t, self.counter, fn, args))

    def ts(self, t: float) -> int:
        return self.t0_ms + round(t * 1000)

    def emit(self, cls: type[Any], t: float, **fields: Any) -> None:
        self.events.append(cls(seq=0, ts=self.ts(t), hall=self.p.hall, **fields))

    def phase(self, t: float) -> str:
        """``before`` | ``open`` | ``drain`` (after a period) | ``lunch`` | ``closed``."""
        for i, (a, b) in enumerate(self.periods):
            if t < a - _EARLY_S:
                return "before" if i == 0 else "lunch"
            if t < b:
                return "open"
            if i + 1 < len(self.periods) and t < min(
                b + DRAIN_S, self.periods[i + 1][0] - _EARLY_S
            ):
                return "drain"
        return "closed"

    def next_start(self, t: float) -> float:
        """The next opening after ``t`` (the closing time when there is none)."""
        return next((a for a, _ in self.periods if a > t), self.close)

    def run(self) -> list[Event]:
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
            self.at(t, self.arrive)
        open_s = sum(b - a for a, b in self.periods)
        for d in self.desks:
            for _ in range(rng.choice((0, 1, 1, 2))):
                self.at(self.open_time(rng.uniform(1800, open_s - 1800)), self.break_due, d)
            if rng.random() < 0.3:
                self.at(self.open_time(rng.uniform(3600, open_s - 1800)), self.post_due, d)
        for _ in range(self.poisson(self.p.arrivals_per_day / 350)):
            self.at(self.open_time(rng.uniform(600, open_s)), self.walk_in_complaint)
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            fn(t, *args)
        self.events.sort(key=lambda e: e.ts)
        return self.events

    def open_time(self, offset: float) -> float:
        """The moment ``offset`` seconds of opening hours after the first opening."""
        for a, b in self.periods:
            if offset < b - a:
                return a + offset
            offset -= b - a
        return self.close - 1

    def poisson(self, mean: float) -> int:
        n, total = 0, self.rng.expovariate(1.0)
        while total < mean:
            n += 1
            total += self.rng.expovariate(1.0)
        return n

    def rate(self, t: float) -> float:
        """Relative arrival rate at ``t``: 0 when no ticket can be taken."""
        for i, (a, b) in enumerate(self.periods):
            lead = 20 * _MIN if i == 0 else 15 * _MIN
            if a - lead <= t < b:
                surge = (1.2 if i == 0 else 0.5) * min(1.0, max(0.0, (a + 20 * _MIN - t) / 1200))
                return _interpolate(t / _HOUR) + surge
        return 0.0

    def arrival_times(self) -> list[float]:
        """Non-homogeneous Poisson arrivals by thinning, scaled to ``arrivals_per_day``."""
        start = max(self.periods[0][0] - 20 * _MIN, 0.0)
        grid = [self.rate(start + 30 * k) for k in range(int((self.close - start) / 30))]
        peak, total = max(grid) * 1.05, sum(grid) * 30
        times: list[float] = []
        t = start
        rate_max = self.p.arrivals_per_day * peak / total
        while True:
            t += self.rng.expovariate(rate_max)
            if t >= self.close:
                return times
            if self.rng.random() * peak < self.rate(t):
                times.append(t)

    # -- tickets --
    def arrive(self, t: float) -> None:
        rng = self.rng
        zone, item = rng.choices(self.items, self.item_weights)[0]
        channel = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
        person = self.fake_id() if rng.random() < _PERSON_P[channel] else None
        self.issue(t, zone, item, channel, person, rng.random() < 0.05)

    def issue(
        self,
        t: float,
        zone: int,
        item: ItemProfile,
        channel: TicketChannel,
        person: str | None,
        priority: bool,
    ) -> None:
        if self.phase(t) == "closed":
            return
        self.numbers[zone] += 1
        self.orders += 1
        tid = f"{self.p.zones[zone].letter}{self.numbers[zone]:03d}"
        ticket = _Ticket(tid, zone, item, priority, person, self.orders, t)
        self.emit(
            TicketIssued, t, ticket=tid, zone=self.p.zones[zone].id, item=item.id,
            priority="priority" if priority else "normal", channel=channel, person=person,
        )  # fmt: skip
        self.queues[zone].append(ticket)
        if self.rng.random() < 0.35:  # the impatient: may give up after a long wait
            patience = 15 * _MIN + self.rng.lognormvariate(math.log(25 * _MIN), 0.5)
            self.at(t + patience, self.give_up, ticket)
        self.dispatch(t)

    def fake_id(self) -> str:
        """A fake 18-character resident ID number (area, birth date, serial, check digit)."""
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(20000))
        body = f"{self.p.area_code}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        check = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11
        return body + "10X98765432"[check]

    def give_up(self, t: float, ticket: _Ticket) -> None:
        if ticket.state != "waiting" or self.phase(t) == "closed":
            return
        if self.phase(t) in ("lunch", "before"):  # everyone knows the hall reopens
            self.at(self.next_start(t) + 10 * _MIN, self.give_up, ticket)
            return
        self.dequeue(ticket)
        ticket.state = "abandoned"
        self.emit(TicketAbandoned, t, ticket=ticket.id, reason="left")

    def dequeue(self, ticket: _Ticket) -> None:
        self.queues[ticket.zone].remove(ticket)

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
            if d.state in ("idle", "break", "lunch"):
                self.window_state(t, d, "closed")
            if d.state != "busy":
                d.state = "closed"

    def break_due(self, t: float, d: _Desk) -> None:
        d.want_break = self.rng.uniform(5 * _MIN, 15 * _MIN)
        if d.state == "idle":
            self.free(t, d)

    def break_end(self, t: float, d: _Desk) -> None:
        if d.state == "break":
            self.free(t, d)

    def post_due(self, t: float, d: _Desk) -> None:
        d.want_post = True
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
            self.window_state(t, d, "paused", "休息")
            d.state, d.want_break = "break", 0.0
            self.at(t + self.rng.uniform(5 * _MIN, 15 * _MIN), self.break_end, d)
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
        self.dequeue(ticket)
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

    def finish(self, t: float, d: _Desk, ticket: _Ticket) -> None:
        rng, item = self.rng, ticket.item
        outcome: ServiceOutcome
        if rng.random() < (0.04 if self.phase(t) == "open" and not ticket.excluded else 0.0):
            outcome = "transferred"
        else:
            r = rng.random()
            main: ServiceOutcome = "to_backend" if item.promised_days > 0 else "done"
            outcome = "rejected" if r < 0.02 else "incomplete" if r < 0.12 else main
        case = None
        if outcome == "to_backend":
            self.cases += 1
            case = f"{self.p.hall}-{self.stamp}-{self.cases:04d}"
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
                self.case_life(t, d, ticket, case)
            if rng.random() < 0.8:
                self.rate_service(t, d, ticket, outcome)
            if outcome == "incomplete" and ticket.person and rng.random() < 0.35:
                back = t + rng.uniform(40 * _MIN, 3 * _HOUR)
                if back < self.close - 20 * _MIN:  # came back with the missing materials
                    self.at(
                        back, self.issue, ticket.zone, item, "kiosk", ticket.person, ticket.priority
                    )
        d.state = "busy"
        self.at(t + rng.uniform(3, 15), self.free, d)
        self.dispatch(t)

    # -- what follows a service: cases, ratings, complaints --
    def later(self, cls: type[Any], t: float, **fields: Any) -> bool:
        """Emit an event that touches no ticket, if it falls within the service day."""
        if t > self.day_end:
            return False
        self.emit(cls, t, **fields)
        return True

    def case_life(self, t: float, d: _Desk, ticket: _Ticket, case: str) -> None:
        rng, item = self.rng, ticket.item
        self.emit(
            CaseSubmitted, t, case=case, item=item.id, dept=item.dept,
            promised_days=item.promised_days, window=d.spec.id, ticket=ticket.id,
            person=ticket.person,
        )  # fmt: skip
        late = rng.random() < 0.1  # the back office misses the 10-minute answer
        t += rng.uniform(11 * _MIN, 40 * _MIN) if late else rng.uniform(30, 8 * _MIN)
        if not self.later(CaseAccepted, t, case=case):
            return
        if rng.random() < 0.06:
            t += rng.uniform(20 * _MIN, 150 * _MIN)
            if not self.later(CasePaused, t, case=case, reason=rng.choice(_PAUSE_REASONS)):
                return
            t += rng.uniform(30 * _MIN, 180 * _MIN)
            if rng.random() > 0.65 or not self.later(CaseResumed, t, case=case):
                return
        if rng.random() < (0.35 if item.promised_days <= 1 else 0.05):
            t += rng.uniform(1 * _HOUR, 5 * _HOUR)
            outcome = rng.choices(("approved", "denied", "withdrawn"), (0.9, 0.06, 0.04))[0]
            self.later(CaseClosed, t, case=case, outcome=outcome)

    def rate_service(self, t: float, d: _Desk, ticket: _Ticket, outcome: str) -> None:
        rng = self.rng
        bad_p = 0.006 + (0.05 if t - ticket.issued > 40 * _MIN else 0.0)
        bad_p += 0.04 if outcome in ("incomplete", "rejected") else 0.0
        if rng.random() < bad_p:
            score, comment = rng.choice((1, 2)), rng.choice(_BAD_COMMENTS)
        else:
            score, comment = rng.choices((5, 4, 3), (0.88, 0.10, 0.02))[0], None
        channel = rng.choices(("device", "qr", "sms", "app"), (0.7, 0.15, 0.1, 0.05))[0]
        t += rng.uniform(3, 30) if channel in ("device", "qr") else rng.uniform(5 * _MIN, 90 * _MIN)
        rated = self.later(
            Rating, t, window=d.spec.id, score=score, channel=channel, ticket=ticket.id,
            staff=d.staff, comment=comment,
        )  # fmt: skip
        if rated and score <= 2 and rng.random() < 0.3:
            category = "repeat_trip" if outcome == "incomplete" else "wait_time"
            self.complain(t + rng.uniform(2 * _MIN, 20 * _MIN), "rating", d, category)

    def walk_in_complaint(self, t: float) -> None:
        rng = self.rng
        channel = rng.choices(("desk", "hotline", "online", "letter"), (0.4, 0.3, 0.2, 0.1))[0]
        desk = rng.choice(self.desks) if rng.random() < 0.6 else None
        self.complain(t, channel, desk, rng.choice(list(_COMPLAINTS)))

    def complain(self, t: float, channel: str, d: _Desk | None, category: str) -> None:
        self.complaints += 1
        cid = f"{self.p.hall}-{self.stamp}-T{self.complaints:03d}"
        if not self.later(
            Complaint, t, complaint=cid, channel=channel, window=d.spec.id if d else None,
            staff=d.staff if d else None, category=category, text=_COMPLAINTS[category],
        ):  # fmt: skip
            return
        if self.rng.random() < 0.75:  # 当日事当日毕, mostly
            t += self.rng.uniform(15 * _MIN, 3 * _HOUR)
            self.later(ComplaintClosed, t, complaint=cid, resolution="已当面沟通并整改")


def _rank(d: _Desk, ticket: _Ticket) -> tuple[int, int]:
    first = 0 if d.spec.kind == "priority" and ticket.priority else 1
    return (first, ticket.order)


def _secs(t: dt.time) -> float:
    return t.hour * _HOUR + t.minute * _MIN + t.second


def _interpolate(hour: float) -> float:
    knots = _RATE_KNOTS
    if hour <= knots[0][0]:
        return knots[0][1]
    for (h0, w0), (h1, w1) in itertools.pairwise(knots):
        if hour <= h1:
            return w0 + (w1 - w0) * (hour - h0) / (h1 - h0)
    return knots[-1][1]


def simulate_day(profile: HallProfile, day: dt.date, seed: int) -> list[Event]:
    """Every event of one service day of ``profile``'s hall, sorted by ``ts`` (stable).

    Args:
        profile: The hall.
        day: The service day (hall-local date, Asia/Shanghai).
        seed: The same seed, day and profile always give the same events.

    Returns:
        Protocol-v1 events with ``seq=0``; the feed server assigns the seqs.
    """
    return _HallDay(profile, day, seed).run()


def simulate_city(profiles: Sequence[HallProfile], day: dt.date, seed: int) -> list[Event]:
    """The events of several halls on one day, merged by ``ts`` (stable: profile order
    breaks ties). Each hall draws from its own seed stream (seed, hall id, day)."""
    merged = [ev for profile in profiles for ev in simulate_day(profile, day, seed)]
    merged.sort(key=lambda e: e.ts)
    return merged
