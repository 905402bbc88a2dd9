"""The console's config file (TOML), validated by msgspec Structs.

A bad file is refused with its path, the line and the field (``ConfigError``), never a
traceback. Without a file the console learns halls, zones and windows from the stream and
uses the default thresholds.

Example::

    [thresholds]
    wait_limit_minutes = 30      # yellow at 80 %, red at 100 % of the zone's limit
    yellow_share = 0.8
    deemed_accept_minutes = 10   # back office: no answer in 10 min counts as accepted

    [halls.anqiu]
    name = "安丘市政务服务中心"
    city = "weifang"             # its place: city and county ids (province consoles)
    county = "anqiu"
    closes = "17:00"             # its closing time: complaints are due by it (当日事当日毕)
    deemed_accept_minutes = 10   # its own back-office minutes ([thresholds] when absent)

    [halls.anqiu.zones.estate]
    name = "不动产交易纳税登记"
    wait_limit_minutes = 45

    [halls.anqiu.items.bdc-01]
    name = "二手房转移登记"
    standard_minutes = 25        # service overtime: yellow at 1.5x, red at 2x
    legal_days = 30              # 法定办结时限 when the feed sends none: red card past it

    [depts]                      # a case's dept code → its name (console, reports)
    bdcdj = "不动产登记中心"

    [places.weifang]             # the names of a city and its counties, by their ids
    name = "潍坊市"
    counties = { anqiu = "安丘市" }

    [console]                    # a new red card or complaint: the terminal bell, a flash
    bell = true

    [rules.ratings]              # every rule's settings: alerts/settings.py, docs/alerts.md
    rectify_days = 3

    [rules.scalping]             # registered agents (代办员): their ids as the feed sends
    agents = ["370784000000000011"]  # them, pseudonymized when loaded, never logged

    [rules.case_pauses]          # special procedures that stop a case's clock, working days
    现场勘验 = 5                 # (the whole list: a table given replaces the default one)
    技术审查 = 10
    听证论证 = 20

    [calendar.years."2027"]      # years the holiday package does not know yet
    holidays = [2027-01-01]
    workdays = []                # make-up working days (调休)

    [duty.people.zhang]          # the roster: people, shifts, rota (alerts/duty.py)
    name = "张主任"
    [[duty.shifts]]
    name = "全天"
    start = "08:30"
    end = "17:30"
    [[duty.rota]]
    person = "zhang"
    shift = "全天"
    weekdays = [1, 2, 3, 4, 5]

Imports: alerts, metrics, msgspec.
"""

from __future__ import annotations

import os
import re
import stat
import typing
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, ClassVar, TypeVar

import msgspec

from alerts.duty import Roster
from alerts.names import Names
from alerts.outbound import Outbound, OutboundConfig
from alerts.rules import AlertEngine, HallRules, WaitLimits
from alerts.settings import (
    AddedMaterials,
    CaseDeadline,
    ClockTime,
    Complaints,
    ProcedureDays,
    ProcedureName,
    Ratings,
    Rules,
    Scalping,
    SecondTrip,
    ServiceOvertime,
    Unattended,
    minutes_of_day,
)
from alerts.store import AlertStore
from feeds.protocol import Days
from metrics.state import MAX_HALLS, HallSettings, Settings
from metrics.workdays import WorkCalendar

Minutes = Annotated[float, msgspec.Meta(gt=0, le=24 * 60)]
DeemMinutes = Annotated[int, msgspec.Meta(ge=1, le=24 * 60)]


class ZoneConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    """Display name, e.g. 商事登记."""
    wait_limit_minutes: Minutes | None = None
    """This zone's waiting limit; the default threshold when absent."""


class ItemConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    """Display name, e.g. 企业设立登记."""
    standard_minutes: Minutes | None = None
    """Standard service time at the window (service overtime counts from it)."""
    legal_days: Days | None = None
    """The item's legal time limit in working days (法定办结时限, seed 004), for feeds whose
    ``case_submitted`` does not carry ``legal_days`` (one that does wins): a case past it
    is a ``legal_deadline`` red card."""


class HallRulesConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[halls.H.rules]``: a hall's own rule tables; each one given replaces the
    ``[rules]`` table of the same name for this hall (keys it leaves out take the
    built-in defaults), the others are inherited."""

    disabled: list[str] | None = None
    service_overtime: ServiceOvertime | None = None
    unattended: Unattended | None = None
    case_deadline: CaseDeadline | None = None
    case_pauses: dict[ProcedureName, ProcedureDays] | None = None
    complaints: Complaints | None = None
    added_materials: AddedMaterials | None = None
    ratings: Ratings | None = None
    second_trip: SecondTrip | None = None
    scalping: Scalping | None = None

    def over(self, base: Rules) -> Rules:
        """``base`` with this hall's tables in place of its own."""
        mine = {f: getattr(self, f) for f in self.__struct_fields__}
        return msgspec.structs.replace(base, **{f: v for f, v in mine.items() if v is not None})


#: A city's or county's id: one NATS subject token (docs/scale.md, "Consoles over NATS").
PlaceId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class HallConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    """Display name of the hall."""
    city: PlaceId | None = None
    """The city (地市) the hall is in, by id (``wenzhou``): a province's consoles see a
    city's halls together, and a city's credentials see only them (docs/scale.md)."""
    county: PlaceId | None = None
    """The county (区县) within ``city``, by id (``ouhai``); needs ``city``."""
    closes: ClockTime | None = None
    """The hall's closing time, hall-local (``"17:00"``): a complaint is due by it the
    same working day (当日事当日毕); ``[rules.complaints] settle_by`` when absent. The
    same thing as ``[halls.H.rules.complaints] settle_by``: give one of them."""
    deemed_accept_minutes: DeemMinutes | None = None
    """This hall's minutes for the back office to answer a case before it counts as
    accepted (Anqiu's 10-minute rule, seed 002, is a local rule); ``[thresholds]`` when
    absent."""
    zones: dict[str, ZoneConfig] = {}
    items: dict[str, ItemConfig] = {}
    rules: HallRulesConfig | None = None
    """This hall's own rule tables (lifecycle timers, feeds and handover stay city-wide)."""


PlaceName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class PlaceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[places.C]``: the display names of city ``C`` (a ``[halls.H] city``) and of its
    counties, as the offices read them on the province's consoles; an id without a name
    is shown as itself."""

    name: PlaceName | None = None
    """The city's name (``温州市``)."""
    counties: dict[PlaceId, PlaceName] = {}
    """County id (a ``[halls.H] county`` of this city) → its name (``ouhai = "瓯海区"``;
    ``_``: the city's halls placed in no county, e.g. ``市本级``)."""


class CalendarYear(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    holidays: list[date] = []
    """Statutory holidays (weekdays off), as the State Council published them."""
    workdays: list[date] = []
    """Make-up working days (调休) that fall on a weekend."""


Year = Annotated[int, msgspec.Meta(ge=2000, le=2200)]


class CalendarConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    years: dict[Year, CalendarYear] = {}
    """Years described here; they win over the holiday package."""
    file: str | None = None
    """Another TOML file with ``[years."YYYY"]`` tables (relative to this config)."""


class HolidayFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    years: dict[Year, CalendarYear] = {}


class Thresholds(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    wait_limit_minutes: Minutes = 30.0
    """Default waiting limit of a zone (hall time)."""
    yellow_share: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.8
    """Yellow card from this share of the limit; red at the limit."""
    deemed_accept_minutes: DeemMinutes = 10
    """A case the back office has not answered within this counts as accepted (Anqiu)."""


class Retention(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[retention]``: how long recorded days keep personal data (个人信息保护法 art. 19)."""

    strip_person_after_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] | None = None
    """Recorded days older than this lose their ``person`` fields (the pseudonyms);
    default: the second-trip window plus ``MARGIN_DAYS``. It must exceed that window,
    or a second trip inside it could no longer be found."""
    delete_after_days: Annotated[int, msgspec.Meta(ge=0, le=36600)] = 0
    """Recorded days older than this are deleted; 0 (the default) keeps them."""

    MARGIN_DAYS: ClassVar[int] = 5

    def strip_days(self, rules: Rules) -> int:
        """Days a recorded day keeps its pseudonyms under ``rules``' second-trip window."""
        if self.strip_person_after_days is not None:
            return self.strip_person_after_days
        return rules.second_trip.within_days + self.MARGIN_DAYS


class Limits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[limits]``: what one process holds at most."""

    max_halls: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = MAX_HALLS
    """Halls per process: an event of a hall beyond them is rejected (``hall_limit``)
    and counted, so a feed inventing hall ids cannot grow the state and the /metrics
    labels without bound."""


DeptName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ConsoleConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[console]``: how the console signals what must not be missed."""

    bell: bool = False
    """Ring the terminal bell on a new red card (红牌) or a new complaint (投诉)."""
    flash: bool = True
    """Flash the screen (and say what came) on a new red card or complaint."""


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    thresholds: Thresholds = msgspec.field(default_factory=Thresholds)
    halls: dict[str, HallConfig] = {}
    rules: Rules = msgspec.field(default_factory=Rules)
    """Every alert rule's settings and the lifecycle timers (docs/alerts.md)."""
    calendar: CalendarConfig = msgspec.field(default_factory=CalendarConfig)
    duty: Roster = msgspec.field(default_factory=Roster)
    """Duty directors: people, shifts, rota."""
    outbound: OutboundConfig = msgspec.field(default_factory=OutboundConfig)
    """Forward alerts to an Alertmanager and to webhooks (optional)."""
    retention: Retention = msgspec.field(default_factory=Retention)
    """How long recorded days keep personal data, and recordings at all."""
    limits: Limits = msgspec.field(default_factory=Limits)
    depts: dict[DeptName, DeptName] = {}
    """Department code (a case's ``dept``, an escalation's target) → display name."""
    places: dict[PlaceId, PlaceConfig] = {}
    """City id → the display names of the city and its counties (docs/scale.md)."""
    console: ConsoleConfig = msgspec.field(default_factory=ConsoleConfig)

    def names(self) -> Names:
        """The display names this config gives halls, zones, items and departments."""
        halls = {h: c.name for h, c in self.halls.items() if c.name}
        zones = {h: {z: zc.name for z, zc in c.zones.items() if zc.name}
                 for h, c in self.halls.items()}  # fmt: skip
        items = {h: {i: ic.name for i, ic in c.items.items() if ic.name}
                 for h, c in self.halls.items()}  # fmt: skip
        return Names(halls, zones, items, dict(self.depts))

    def work_calendar(self) -> WorkCalendar:
        """Working days: this config's years, then the holiday package, then Mon-Fri."""
        years = {y: (c.holidays, c.workdays) for y, c in self.calendar.years.items()}
        return WorkCalendar(years)

    def zone_limits(self, hall: str) -> dict[str, float]:
        """Zone id → waiting limit in seconds, for the zones ``[halls.<hall>]`` gives one
        (none for a hall without config: a zone id means the same only within a hall)."""
        zones = self.halls[hall].zones if hall in self.halls else {}
        return {
            zone_id: zone.wait_limit_minutes * 60
            for zone_id, zone in zones.items()
            if zone.wait_limit_minutes is not None
        }

    def wait_limits(self, hall: str | None = None) -> WaitLimits:
        """The waiting-overtime limits of ``hall``; of a hall without config when None."""
        t = self.thresholds
        zones = self.zone_limits(hall) if hall is not None else {}
        return WaitLimits(t.wait_limit_minutes * 60, t.yellow_share, zones)

    def hall_settings(self, calendar: WorkCalendar | None = None) -> HallSettings:
        """Each hall's figure settings, the one place they come from: ``[thresholds]``
        for every hall, plus a configured hall's own zone limits (the same limits its
        waiting-overtime alert uses, ``hall_rules``), special procedures and closing time
        (the same its case rules use), deemed-acceptance minutes and items' legal limits.
        A hall without config gets the defaults only."""
        t = self.thresholds
        default = Settings(
            deemed_accept_minutes=t.deemed_accept_minutes,
            calendar=calendar or self.work_calendar(),
            wait_limit_s=t.wait_limit_minutes * 60,
            case_pauses=dict(self.rules.case_pauses),
            closes_ms=minutes_of_day(self.rules.complaints.settle_by) * 60_000,
        )
        rules = self.hall_rules()
        own = {}
        for name, hall in self.halls.items():
            mine = rules[name]
            own[name] = replace(
                default,
                zone_wait_limits=self.zone_limits(name),
                case_pauses=dict(mine.rules.case_pauses),
                deemed_accept_minutes=mine.deem_minutes or t.deemed_accept_minutes,
                legal_days={
                    i: c.legal_days for i, c in hall.items.items() if c.legal_days is not None
                },
                closes_ms=minutes_of_day(mine.rules.complaints.settle_by) * 60_000,
            )
        return HallSettings(default, own, max_halls=self.limits.max_halls)

    def hall_rules(self) -> dict[str, HallRules]:
        """Every configured hall's own alert settings: its zones' limits, its items, its
        rule tables over ``[rules]`` (a zone or item id means the same only within a hall)."""
        out = {}
        for name, hall in self.halls.items():
            items = {
                item_id: item.standard_minutes
                for item_id, item in hall.items.items()
                if item.standard_minutes is not None
            }
            rules = hall.rules.over(self.rules) if hall.rules is not None else self.rules
            if hall.closes is not None:
                rules = msgspec.structs.replace(rules, complaints=Complaints(settle_by=hall.closes))
            deem = hall.deemed_accept_minutes
            out[name] = HallRules(rules, self.wait_limits(name), items, deem_minutes=deem)
        return out

    def has_agents(self) -> bool:
        """Whether ``[rules.scalping] agents`` (or a hall's) names any registered agent."""
        tables = [self.rules.scalping]
        tables += [h.rules.scalping for h in self.halls.values() if h.rules and h.rules.scalping]
        return any(t.agents for t in tables)

    def pseudonymized(self, pseudonymize: Callable[[str], str]) -> Config:
        """This config with the registered agents' ids (``[rules.scalping] agents``, and
        each hall's) turned into pseudonyms by ``pseudonymize``: the decoder's, so they
        match the ``person`` of the events. Call it once, when the installation's key is
        at hand; the raw ids go no further (the rules, the logs never see them)."""

        def scalping(table: Scalping) -> Scalping:
            agents = tuple(pseudonymize(raw) for raw in table.agents)
            return msgspec.structs.replace(table, agents=agents)

        rules = msgspec.structs.replace(self.rules, scalping=scalping(self.rules.scalping))
        halls = {}
        for name, hall in self.halls.items():
            if hall.rules is not None and hall.rules.scalping is not None:
                own = msgspec.structs.replace(hall.rules, scalping=scalping(hall.rules.scalping))
                hall = msgspec.structs.replace(hall, rules=own)
            halls[name] = hall
        return msgspec.structs.replace(self, rules=rules, halls=halls)

    def alert_engine(self, store: AlertStore | None = None, calendar: WorkCalendar | None = None,
                     *, forward: bool = True) -> AlertEngine:  # fmt: skip
        """The alert engine this config describes, writing to ``store`` (and forwarding,
        if ``[outbound]`` says where and ``forward``). Halls without config share the
        default rule set: ``[thresholds]`` and ``[rules]`` only, no configured hall's
        zones or items."""
        engine = AlertEngine(
            self.wait_limits(),
            rules=self.rules,
            calendar=calendar or self.work_calendar(),
            deem_minutes=self.thresholds.deemed_accept_minutes,
            sink=store,
            halls=self.hall_rules(),
            roster=self.duty,
        )
        if forward and self.outbound.enabled:
            engine.forward(Outbound(self.outbound))
        return engine


class ConfigError(Exception):
    """A config (or token) file is wrong: the message names file, line and field."""


_SEGMENT = re.compile(r"\.([^.`\[]+)|\[\.\.\.\]|\[(\d+)\]")
_BAD_KEY = "\0key"
"""A path's last segment when a dict's key is what failed (msgspec says ``at `key```)."""


def _valid(value: object, tp: object) -> bool:
    try:
        msgspec.convert(value, tp)
    except msgspec.ValidationError:
        return False
    return True


def _resolve(data: object, tp: object, segments: list[str | None]) -> list[str]:
    """Turn msgspec's path (dict keys shown as ``[...]``) into concrete keys, by finding
    which entry of each dict fails validation on its own."""
    out: list[str] = []
    field: tuple[type, str] | None = None
    """The Struct and the field last gone into (a key's type has its constraints there)."""
    for seg in segments:
        hints = typing.get_type_hints(tp) if isinstance(tp, type) else {}
        if seg == _BAD_KEY:  # the dict's key that fails its type on its own
            full = typing.get_type_hints(field[0], include_extras=True)[field[1]] if field else tp
            args = typing.get_args(full)
            keys = list(data) if isinstance(data, dict) and len(args) == 2 else []
            out.append(next((str(k) for k in keys if not _valid(k, args[0])), "*"))
            break
        if seg is not None and seg.isdigit() and isinstance(data, list):  # a list index
            out.append(seg)
            args = typing.get_args(tp)
            tp = args[0] if args else object
            data = data[int(seg)] if int(seg) < len(data) else None
            continue
        if seg is not None:  # a Struct field
            out.append(seg)
            field = (tp, seg) if isinstance(tp, type) and seg in hints else None
            tp = hints.get(seg, object)
            data = data.get(seg) if isinstance(data, dict) else None
            continue
        args = typing.get_args(tp)  # dict[str, X]
        value_type = args[1] if len(args) == 2 else object
        culprit = None
        if isinstance(data, dict):
            for key, value in data.items():
                try:
                    msgspec.convert(value, value_type)
                except msgspec.ValidationError:
                    culprit = key
                    break
        out.append(str(culprit) if culprit is not None else "*")
        field = None
        tp = value_type
        data = data.get(culprit) if isinstance(data, dict) and culprit is not None else None
    return out


def _line_of(text: str, path: list[str]) -> int | None:
    """The line where the field at ``path`` is written (1-based), found in the text."""
    if not path:
        return None
    if len(path) > 1 and path[-1].isdigit() and not path[-2].isdigit():
        return _line_of(text, path[:-1])  # an item of an inline list: the list's line
    *tables, key = path
    lines = text.splitlines()

    def header(parts: list[str]) -> re.Pattern[str]:
        names = [r"[^.\]]+" if p == "*" else r'"?' + re.escape(p) + r'"?' for p in parts]
        return re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(names) + r"\s*\]")  # [a] or [[a]]

    if not any(p.isdigit() for p in tables):  # a table of its own: its header, anywhere
        whole = header(path)
        hit = next((i + 1 for i, line in enumerate(lines) if whole.match(line)), None)
        if hit is not None:
            return hit
    start = 0
    index = next((i for i, p in enumerate(tables) if p.isdigit()), None)
    if index is not None:  # inside an array of tables: the n-th [[a.b]] header
        names = r"\s*\.\s*".join(re.escape(p) for p in tables[:index])
        array = re.compile(r"^\s*\[\[\s*" + names + r"\s*\]\]")
        hits = [i + 1 for i, line in enumerate(lines) if array.match(line)]
        n = int(tables[index])
        start = hits[n] if n < len(hits) else 0
    elif tables:
        table = header(tables)
        start = next((i + 1 for i, line in enumerate(lines) if table.match(line)), 0)
    key_re = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    sub_table = header([*tables, key])
    for i in range(start, len(lines)):
        if key_re.match(lines[i]) or sub_table.match(lines[i]):
            return i + 1
        if i > start and lines[i].lstrip().startswith("[") and tables:
            break  # left the table without finding the key
    return start or None


_T = TypeVar("_T")


def _decode(path: Path, tp: type[_T]) -> tuple[_T, str]:
    """Read and validate one TOML file as ``tp``; errors name file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    try:
        return msgspec.toml.decode(text.encode(), type=tp), text
    except msgspec.ValidationError as error:
        msg = str(error)
        match = re.search(r"at `\$([^`]*)`", msg) or re.search(r"at `key` in `\$([^`]*)`", msg)
        segments: list[str | None] = []
        for m in _SEGMENT.finditer(match.group(1) if match else ""):
            segments.append(m.group(1) or m.group(2))
        if " - at `key` in `$" in msg:
            segments.append(_BAD_KEY)
        unknown = re.search(r"unknown field `([^`]+)`", msg)
        if unknown:
            segments.append(unknown.group(1))
        fields = _resolve(msgspec.toml.decode(text.encode()), tp, segments)
        raise _error(path, text, fields, msg.split(" - at ")[0]) from error
    except msgspec.DecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def _error(path: Path, text: str, fields: list[str], message: str) -> ConfigError:
    line = _line_of(text, fields) or _line_of(text, fields[:-1])  # (in an inline table)
    where = f"{path}:{line}" if line else str(path)
    return ConfigError(f"{where}: field {'.'.join(fields) or '(top level)'}: {message}")


def field_error(path: Path, fields: list[str], message: str) -> ConfigError:
    """A ``ConfigError`` naming ``path``, the line and the field at ``fields``: for what a
    command refuses in a valid config (``serve --nats``: webhooks)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    return _error(path, text, fields, message)


def _check_years(path: Path, text: str, years: dict[int, CalendarYear], prefix: list[str]) -> None:
    for year, described in years.items():
        for name in ("holidays", "workdays"):
            for day in getattr(described, name):
                if day.year != year:
                    raise _error(path, text, [*prefix, str(year), name],
                                 f"{day.isoformat()} is not in {year}")  # fmt: skip


def _check_places(path: Path, text: str, config: Config) -> None:
    """Every place ``[places]`` names is one some hall is in (else a typo: its halls would
    go on showing the id)."""
    placed: dict[str, set[str]] = {}
    for hall in config.halls.values():
        if hall.city is not None:
            placed.setdefault(hall.city, set()).add(hall.county or "_")
    for city, named in config.places.items():
        if city not in placed:
            raise _error(path, text, ["places", city],
                         f"no hall is in city {city!r} ([halls.H] city = {city!r})")  # fmt: skip
        for county in named.counties:
            if county not in placed[city]:
                raise _error(path, text, ["places", city, "counties", county],
                             f"no hall of {city!r} is in county {county!r} ([halls.H] county "
                             f"= {county!r}; _: the city's halls in no county)")  # fmt: skip


def load_config(path: Path) -> Config:
    """Read and validate a config file (and its holiday file), or raise ``ConfigError``
    naming the file, the line and the field."""
    config, text = _decode(path, Config)
    _check_years(path, text, config.calendar.years, ["calendar", "years"])
    for field_path, message in config.duty.problems():
        parts = re.split(r"\.|\[(\d+)\]", field_path)
        raise _error(path, text, [p for p in parts if p], message)
    for name, hall in config.halls.items():
        if hall.county is not None and hall.city is None:
            raise _error(path, text, ["halls", name, "county"],
                         "a county is within a city: give city too")  # fmt: skip
        if hall.closes is not None and hall.rules is not None and hall.rules.complaints:
            raise _error(path, text, ["halls", name, "closes"],
                         f"and [halls.{name}.rules.complaints] both say when its complaints "
                         "are due: give one")  # fmt: skip
    _check_places(path, text, config)
    window = config.rules.second_trip.within_days
    strip = config.retention.strip_person_after_days
    if strip is not None and strip <= window:
        raise _error(path, text, ["retention", "strip_person_after_days"],
                     f"{strip} days would strip pseudonyms inside the second-trip window "
                     f"([rules.second_trip] within_days = {window}): make it more")  # fmt: skip
    delete = config.retention.delete_after_days
    if delete and delete <= window:
        raise _error(path, text, ["retention", "delete_after_days"],
                     f"{delete} days would delete recordings inside the second-trip window "
                     f"({window} days): make it more, or 0 to keep them")  # fmt: skip
    if config.calendar.file:
        extra_path = (path.parent / config.calendar.file).resolve()
        extra, extra_text = _decode(extra_path, HolidayFile)
        _check_years(extra_path, extra_text, extra.years, ["years"])
        years = {**extra.years, **config.calendar.years}  # the config's own tables win
        calendar = msgspec.structs.replace(config.calendar, years=years)
        config = msgspec.structs.replace(config, calendar=calendar)
    return config


def check_config(path: Path, today: date | None = None) -> list[str]:
    """Validate a config; returns warnings (raises ``ConfigError`` on errors).

    Warns about this year and the next when neither the config nor the holiday package
    describes them (deadlines there would count Monday to Friday only).
    """
    config = load_config(path)
    calendar = config.work_calendar()
    year = (today or date.today()).year
    return [
        f'{path}: no holiday calendar for {y}: add [calendar.years."{y}"] (holidays, '
        "workdays) or case deadlines there count Monday to Friday only"
        for y in (year, year + 1)
        if calendar.source(y) is None
    ]


def read_token(path: Path) -> str:
    """Read a bearer token file; refuse one that others can read (it is a secret)."""
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read token file: {error.strerror}") from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: token file is readable by others (mode {stat.filemode(mode)}); "
            f"run: chmod 600 {path}"
        )
    if not token:
        raise ConfigError(f"{path}: token file is empty")
    return token


def default_data_dir() -> Path:
    """The per-user data dir (``HALLWATCH_DATA_DIR`` overrides it)."""
    override = os.environ.get("HALLWATCH_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("hallwatch", appauthor=False))
