"""The demo city: hall profiles in the spirit of the seeds, and which days the halls open.

A ``HallProfile`` says what a hall is (zones, items, windows, hours, expected arrivals);
``feeds.demo.hall`` simulates its days. Three shapes come from the seed documents:

- ``ouhai_profile``: a city centre with Ouhai's 8 fields (投资项目, 商事登记, 不动产, 公安,
  公积金, 税务, 人力社保, 其他社会事务), comprehensive and specialist windows per field, two
  enquiry (咨询导办) and two certificate-printing (统一出件) windows, a priority lane
  (绿色通道); continuous service at lunch (staff take staggered lunch breaks).
- ``luozhuang_profile``: a county centre with Luozhuang's numbers: 10 comprehensive
  windows accepting every item of the hall (无差别受理), 2 enquiry, 2 printing, 1 priority.
- ``build_profile`` / ``default_profile``: Anqiu's four zones (投资项目, 不动产交易纳税登记,
  商事登记, 综合便民) in the "1+X" layout (comprehensive windows plus specialist windows for
  instant items, 即办件).

``city(n)`` builds ``--halls N``: one city centre, then county centres alternating the
Luozhuang and Anqiu shapes with deterministic sizes. ``day_plan`` says how a hall works
on a given day: closed on Sundays and statutory holidays (``chinese_calendar``, the same
package the alerts' working-day calendar uses), a morning of weekend service on Saturdays
at the city centre, make-up working days (调休) as normal days, busier on Mondays and
after a long holiday, lighter on Fridays.

Imports: feeds.hallclock, chinese_calendar, the standard library.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import chinese_calendar

WindowKind = Literal["comprehensive", "specialist", "enquiry", "printing", "priority"]
ZoneKind = Literal["service", "enquiry", "printing"]


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
    legal_days: int | None = None
    """Legal working days (法定办结时限) of an item with cases, longer than the promise
    (the demo's own figures: a reformed hall promises a fraction of the legal limit, seed
    002: 取水許可 45 → 3 working days). Sent on ``case_submitted``."""


@dataclass(frozen=True, slots=True)
class ZoneProfile:
    """A zone (板块) with its items; ``letter`` prefixes its ticket numbers."""

    id: str
    name: str
    letter: str
    items: tuple[ItemProfile, ...]
    kind: ZoneKind = "service"
    """``enquiry`` and ``printing`` zones only answer or hand out: always ``done``."""


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
    """Expected tickets issued on an ordinary Tuesday (new arrivals; returns come on top)."""
    area_code: str = "370784"
    """Six-digit area code of the fake ID numbers of the hall's visitors."""
    saturday_service: bool = False
    """Open on Saturday mornings (周末延时服务) with a third of the windows."""


@dataclass(frozen=True, slots=True)
class DayPlan:
    """How a hall works on one day."""

    hours: tuple[tuple[dt.time, dt.time], ...]
    arrivals_factor: float
    """Multiplies the profile's ``arrivals_per_day``."""
    windows: int
    """How many of the profile's windows open (the first ones; the priority lane too)."""
    note: str
    """Why the day is as it is (``workday``, ``monday``, ``saturday``, a holiday…)."""


# --- items and zones ---------------------------------------------------------------------

_I = ItemProfile
ANQIU_ZONES: Final = (
    ZoneProfile("invest", "投资项目", "A", (
        _I("tzxm-01", "企业投资项目备案", 720, 0.4, 1, 0.025, "fgj", 5),
        _I("tzxm-02", "建设工程规划许可", 900, 0.45, 10, 0.015, "zrzyj", 20),
        _I("tzxm-03", "建筑工程施工许可", 840, 0.45, 7, 0.012, "zjj", 15),
        _I("tzxm-04", "投资项目代办咨询", 420, 0.5, 0, 0.012, "spj"),
    )),
    ZoneProfile("estate", "不动产交易纳税登记", "B", (
        _I("bdc-01", "二手房转移登记", 660, 0.4, 5, 0.08, "bdcdj", 30),
        _I("bdc-02", "抵押权登记", 480, 0.4, 3, 0.05, "bdcdj", 30),
        _I("bdc-03", "存量房交易契税缴纳", 300, 0.45, 0, 0.06, "swj"),
        _I("bdc-04", "不动产登记资料查询", 180, 0.5, 0, 0.06, "bdcdj"),
    )),
    ZoneProfile("biz", "商事登记", "C", (
        _I("shdj-01", "企业设立登记", 540, 0.45, 1, 0.05, "scjgj", 15),
        _I("shdj-02", "企业变更登记", 420, 0.45, 1, 0.05, "scjgj", 15),
        _I("shdj-03", "个体工商户登记", 300, 0.4, 0, 0.06, "scjgj"),
        _I("shdj-04", "营业执照领取", 150, 0.5, 0, 0.06, "scjgj"),
    )),
    ZoneProfile("civic", "综合便民", "D", (
        _I("bm-01", "社保参保登记", 240, 0.5, 0, 0.06, "rsj"),
        _I("bm-02", "住房公积金提取", 300, 0.45, 3, 0.05, "gjj", 5),
        _I("bm-03", "医保关系转移", 270, 0.5, 0, 0.05, "ybj"),
        _I("bm-04", "居住证办理", 240, 0.45, 7, 0.03, "gaj", 15),
    )),
)  # fmt: skip
#: Ouhai's 8 fields (瓯海: 投资项目, 商事登记, 不动产, 公安, 公积金, 税务, 人力社保, 其他社会事务).
OUHAI_ZONES: Final = (
    ANQIU_ZONES[0],
    ANQIU_ZONES[2],
    ZoneProfile("estate", "不动产", "B", ANQIU_ZONES[1].items[:2] + ANQIU_ZONES[1].items[3:]),
    ZoneProfile("police", "公安", "E", (
        _I("ga-01", "户口迁移", 360, 0.45, 5, 0.03, "gaj", 20),
        _I("ga-02", "居民身份证换领", 200, 0.35, 0, 0.05, "gaj"),
        _I("ga-03", "出入境证件申请", 300, 0.4, 7, 0.03, "gaj", 15),
    )),
    ZoneProfile("fund", "公积金", "F", (
        _I("gjj-01", "住房公积金提取", 300, 0.45, 3, 0.05, "gjj", 5),
        _I("gjj-02", "公积金贷款申请", 720, 0.4, 10, 0.015, "gjj", 15),
    )),
    ZoneProfile("tax", "税务", "G", (
        _I("sw-01", "发票领用", 240, 0.45, 0, 0.05, "swj"),
        _I("sw-02", "存量房交易契税缴纳", 300, 0.45, 0, 0.05, "swj"),
        _I("sw-03", "税务登记信息变更", 360, 0.5, 0, 0.02, "swj"),
    )),
    ZoneProfile("hrss", "人力社保", "H", (
        _I("rs-01", "社保参保登记", 240, 0.5, 0, 0.05, "rsj"),
        _I("rs-02", "退休待遇核定", 600, 0.45, 15, 0.015, "rsj", 30),
        _I("rs-03", "医保关系转移", 270, 0.5, 0, 0.04, "ybj"),
    )),
    ZoneProfile("social", "其他社会事务", "J", (
        _I("sh-01", "居住证办理", 240, 0.45, 7, 0.025, "gaj", 15),
        _I("sh-02", "残疾人证办理", 420, 0.5, 20, 0.008, "cl", 30),
        _I("sh-03", "婚姻登记", 600, 0.3, 0, 0.015, "mzj"),
    )),
)  # fmt: skip
ENQUIRY_ZONE: Final = ZoneProfile("enquiry", "咨询导办", "Q", (
    _I("zx-01", "政策咨询", 150, 0.6, 0, 0.06),
    _I("zx-02", "一次性告知", 240, 0.5, 0, 0.03),
), kind="enquiry")  # fmt: skip
PRINTING_ZONE: Final = ZoneProfile("printing", "统一出件", "P", (
    _I("cj-01", "证照打印领取", 90, 0.5, 0, 0.05),
), kind="printing")  # fmt: skip
#: Luozhuang's whole-hall comprehensive zone: every item at every comprehensive window.
LUOZHUANG_ZONE: Final = ZoneProfile(
    "general",
    "综合受理",
    "A",
    tuple(i for z in ANQIU_ZONES for i in z.items) + OUHAI_ZONES[3].items[:2],
)
#: The departments the demo's cases go to (an item's ``dept``), by the names a hall uses.
DEPARTMENTS: Final = {
    "spj": "行政审批服务局",
    "fgj": "发展改革局",
    "zrzyj": "自然资源和规划局",
    "zjj": "住房城乡建设局",
    "bdcdj": "不动产登记中心",
    "swj": "税务局",
    "scjgj": "市场监管局",
    "rsj": "人力资源社会保障局",
    "gjj": "住房公积金中心",
    "ybj": "医疗保障局",
    "gaj": "公安局",
    "cl": "残疾人联合会",
    "mzj": "民政局",
}
_SPLIT_DAY: Final = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17)))
_CONTINUOUS: Final = ((dt.time(9), dt.time(17)),)


# --- halls ---------------------------------------------------------------------------------


def _window(i: int, kind: WindowKind, zones: tuple[str, ...]) -> WindowProfile:
    """Window W01…; A-post staff s011…, B-post staff s031… (offset for big halls)."""
    backup = i + 31 if i < 20 else i + 211
    return WindowProfile(f"W{i + 1:02d}", kind, zones, f"s{i + 11:03d}", f"s{backup:03d}")


def _windows(
    zones: tuple[ZoneProfile, ...], layout: tuple[tuple[int, int], ...], enquiry: int, printing: int
) -> tuple[WindowProfile, ...]:
    """Per service zone its comprehensive and specialist windows, then the enquiry and
    printing windows, then one priority window for every service zone."""
    service = tuple(z.id for z in zones if z.kind == "service")
    counts: list[tuple[WindowKind, tuple[str, ...], int]] = []
    for zone, (comprehensive, specialist) in zip(service, layout, strict=True):
        counts += [("comprehensive", (zone,), comprehensive), ("specialist", (zone,), specialist)]
    counts += [("enquiry", ("enquiry",), enquiry), ("printing", ("printing",), printing)]
    counts.append(("priority", service, 1))
    kinds = [(kind, zones) for kind, zones, n in counts for _ in range(n)]
    return tuple(_window(i, kind, zones) for i, (kind, zones) in enumerate(kinds))


def build_profile(
    hall: str,
    name: str,
    layout: tuple[tuple[int, int], ...],
    arrivals_per_day: float,
    area_code: str = "370784",
) -> HallProfile:
    """An Anqiu-like hall: the four zones, a split day (09:00-12:00, 13:00-17:00).

    Args:
        hall: Hall id.
        name: Display name.
        layout: Per zone (invest, estate, biz, civic): how many comprehensive windows
            (无差别 within the zone) and specialist windows (instant items only). One
            priority window (绿色通道) serving every zone comes last.
        arrivals_per_day: Expected tickets per day.
        area_code: Area code of the visitors' fake ID numbers.
    """
    windows = _windows(ANQIU_ZONES, layout, 0, 0)
    return HallProfile(hall, name, ANQIU_ZONES, windows, _SPLIT_DAY, arrivals_per_day, area_code)


#: Anqiu's "1+X" layout per zone (invest, estate, biz, civic): (comprehensive, specialist).
_ANQIU_LAYOUT: Final = ((2, 0), (3, 1), (2, 1), (2, 0))


def default_profile(hall_id: str = "anqiu") -> HallProfile:
    """An Anqiu-like hall: 4 zones, 12 windows (1+X: 9 comprehensive, 2 specialist, one
    priority lane), 09:00-12:00 and 13:00-17:00, ~650-750 tickets a day: a busy hall."""
    return build_profile(hall_id, "安丘市政务服务中心", _ANQIU_LAYOUT, 660)


def ouhai_profile(
    hall: str, name: str, scale: float = 1.0, area_code: str = "330304"
) -> HallProfile:
    """A city centre with Ouhai's 8 fields, 2 enquiry and 2 printing windows, a priority
    lane and continuous service 09:00-17:00; ``scale`` 1 is 34 windows, ~1300 tickets."""
    base = ((3, 0), (5, 1), (5, 1), (2, 1), (2, 0), (3, 0), (2, 1), (2, 0))
    layout = tuple((max(1, round(c * scale)), s) for c, s in base)
    zones = (*OUHAI_ZONES, ENQUIRY_ZONE, PRINTING_ZONE)
    windows = _windows(zones, layout, 2, 2)
    return HallProfile(
        hall, name, zones, windows, _CONTINUOUS, 1300 * scale, area_code, saturday_service=True
    )


def luozhuang_profile(
    hall: str, name: str, scale: float = 1.0, area_code: str = "371311"
) -> HallProfile:
    """A county centre with Luozhuang's numbers: 10 comprehensive windows for every item
    (无差别受理), 2 enquiry, 2 printing, a priority lane; a split day; ~480 tickets."""
    zones = (LUOZHUANG_ZONE, ENQUIRY_ZONE, PRINTING_ZONE)
    windows = _windows(zones, ((max(2, round(10 * scale)), 0),), 2, 2)
    return HallProfile(hall, name, zones, windows, _SPLIT_DAY, 480 * scale, area_code)


_STEMS: Final = "甲乙丙丁戊己庚辛壬癸"


def _county_id(i: int) -> str:
    """county-a … county-z, county-aa, … for the i-th county (1-based)."""
    letters = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        letters = chr(97 + r) + letters
    return f"county-{letters}"


def city(halls: int = 3) -> list[HallProfile]:
    """``halls`` halls: a city centre (Ouhai-like), then county centres alternating the
    Luozhuang and Anqiu shapes, sizes varying deterministically (0.7-1.3 of the base).

    Raises:
        ValueError: when ``halls`` < 1.
    """
    if halls < 1:
        raise ValueError("a city needs at least one hall")
    out = [ouhai_profile("city", "市民中心")]
    for i in range(1, halls):
        hall = _county_id(i)
        # Short, as a hall is called on a crowded screen (the city strip, the board).
        name = f"{_STEMS[i - 1]}县中心" if i <= len(_STEMS) else f"第{i}县中心"
        # The first two counties are the seeds' own sizes; later ones vary around them.
        scale = 1.0 if i <= 2 else 0.7 + (zlib.crc32(hall.encode()) % 61) / 100
        area = f"3707{80 + i % 20:02d}"
        if i % 2 == 1:
            out.append(luozhuang_profile(hall, name, scale, area))
        else:
            layout = tuple((max(1, round(c * scale)), s) for c, s in _ANQIU_LAYOUT)
            out.append(build_profile(hall, name, layout, 400 * scale, area))
    return out


def display_names(profiles: list[HallProfile]) -> dict[str, dict[str, Any]]:
    """The names of the profiles' halls, zones and items, and of the departments: the
    shape of ``alerts.names.Names`` (the demo's own config, as a hall would write it)."""
    return {
        "halls": {p.hall: p.name for p in profiles},
        "zones": {p.hall: {z.id: z.name for z in p.zones} for p in profiles},
        "items": {p.hall: {i.id: i.name for z in p.zones for i in z.items} for p in profiles},
        "depts": dict(DEPARTMENTS),
    }


def default_city() -> list[HallProfile]:
    """One city centre and two county centres (hall ids city, county-a, county-b)."""
    return city(3)


# --- days ------------------------------------------------------------------------------------

#: Arrivals by weekday (Monday first): Mondays are busiest, Fridays lighter.
_WEEKDAY_FACTOR: Final = (1.15, 1.0, 1.0, 0.95, 0.88, 0.25, 0.0)


def is_workday(day: dt.date) -> bool:
    """A statutory working day (make-up days included); Monday-Friday for years the
    calendar package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def holiday_name(day: dt.date) -> str | None:
    """The statutory holiday ``day`` belongs to (English name), or None."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return str(name) if on_holiday and name else None


def day_plan(profile: HallProfile, day: dt.date) -> DayPlan | None:
    """How ``profile``'s hall works on ``day``; None when it is closed.

    Working days (调休 make-up days included) are ordinary days, busier after a long
    holiday; Saturdays only the halls with weekend service open, 09:00-12:00 with a third
    of the windows; Sundays and statutory holidays are closed.
    """
    if is_workday(day):
        factor = _WEEKDAY_FACTOR[day.weekday()] if day.weekday() < 5 else 1.0
        note = "workday" if day.weekday() < 5 else "make-up workday"
        closed_before = 0
        while not is_workday(day - dt.timedelta(days=closed_before + 1)) and closed_before < 10:
            closed_before += 1
        if closed_before >= 3:
            factor, note = 1.3, "after a long holiday"
        return DayPlan(profile.hours, factor, len(profile.windows), note)
    holiday = holiday_name(day)
    if holiday is None and day.weekday() == 5 and profile.saturday_service:
        windows = max(2, len(profile.windows) // 3)
        return DayPlan(((dt.time(9), dt.time(12)),), 0.22, windows, "saturday")
    return None


def last_open_day(profiles: list[HallProfile], day: dt.date) -> dt.date:
    """``day`` if a hall of ``profiles`` opens on it, else the latest earlier such day."""
    for back in range(30):
        candidate = day - dt.timedelta(days=back)
        if any(day_plan(p, candidate) is not None for p in profiles):
            return candidate
    return day


def saturday_profile(profile: HallProfile, plan: DayPlan) -> HallProfile:
    """``profile`` cut to the plan's hours and windows (the priority lane stays)."""
    staffed = profile.windows[: plan.windows - 1]
    zones = {z for w in staffed for z in w.zones}
    lane = profile.windows[-1]
    windows = (*staffed, replace(lane, zones=tuple(z for z in lane.zones if z in zones)))
    kept = tuple(z for z in profile.zones if z.id in zones)
    return replace(profile, zones=kept, windows=windows, hours=plan.hours)
