"""Rule and lifecycle settings: msgspec Structs that the TOML config embeds as they are.

One definition gives the defaults (documented in docs/alerts.md), the validation of the
config file (``runtime/config.py`` turns a bad value into file, line and field) and what
the rules read. Times in the file are minutes, days are working days unless named
otherwise.

Imports: alerts.book, metrics.case_clock (the default special procedures), msgspec.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from alerts.book import Timing
from metrics.case_clock import SPECIAL_PROCEDURES

Minutes = Annotated[float, msgspec.Meta(gt=0, le=7 * 24 * 60)]
Factor = Annotated[float, msgspec.Meta(ge=1, le=100)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=365)]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


def minutes_of_day(clock: str) -> int:
    """``"17:30"`` → 1050."""
    h, m = re.split(":", clock)
    return int(h) * 60 + int(m)


class ServiceOvertime(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    standard_minutes: Minutes = 20.0
    """Standard service time of an item with none configured (``items.<id>``)."""
    yellow_factor: Factor = 1.5
    """Yellow card once a service runs this many times its item's standard time."""
    red_factor: Factor = 2.0
    """Red card from this many times the standard time."""


class Unattended(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    zone_for_minutes: Minutes = 5.0
    """A zone with people waiting and no open window serving it, this long: alert."""
    idle_minutes: Minutes = 10.0
    """空岗: an open window without a ticket this long while its zones have people waiting."""
    pause_minutes: Minutes = 15.0
    """A pause longer than this: yellow card."""
    pause_red_minutes: Minutes = 30.0
    """A pause longer than this: red card."""
    scheduled_pause_reasons: tuple[str, ...] = ("午休", "午餐", "用餐", "lunch")
    """Pauses whose ``reason`` is one of these are scheduled breaks (the lunch pause of a
    hall that closes at noon): judged against ``scheduled_pause_minutes`` instead."""
    scheduled_pause_minutes: Minutes = 120.0
    """A scheduled break longer than this is still a long pause (yellow, red at 1.5x)."""
    hold_minutes: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0
    """Unattended alerts resolve only once the condition stayed clear this long."""


class CaseDeadline(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    yellow_days: Days = 1
    """Yellow card when this many working days or fewer are left; red when overdue. The
    same for a special procedure's limit (``procedure_overtime``)."""


#: A special procedure's name as a pause's ``reason`` gives it (e.g. 现场勘验).
ProcedureName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: A special procedure's time limit in working days.
ProcedureDays = Annotated[int, msgspec.Meta(ge=1, le=365)]


class Complaints(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    settle_by: ClockTime = "17:30"
    """当日事当日毕 (seed 002): the hall's closing time, hall-local. A complaint received on
    a working day before it is due by it that day; one received after it, or on a day the
    hall does not work, by it on the next working day. Still open then: urgent. A hall's
    own closing time is ``[halls.H] closes``."""


class AddedMaterials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    categories: tuple[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], ...] = (
        "added_materials",
        "added_conditions",
    )
    """``complaint.category`` values that mean materials or conditions added without
    authority (seed 001: 擅自增加或改变申请材料、违规设置办理条件): such a complaint is a red
    card. Add the words a hall's system uses (e.g. ``增加材料``)."""


class Ratings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    bad_at_most: Annotated[int, msgspec.Meta(ge=1, le=4)] = 2
    """Scores up to this are bad ratings (差评)."""
    rectify_days: Days = 5
    """Working days to record the rectification note; red card once overdue."""


class SecondTrip(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    within_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    """最多跑一次: back for the same item within this many calendar days after a visit
    that ended ``incomplete`` or ``rejected`` at the window is a second trip. Our default:
    no seed gives a window. A return after the back office decided (a case closed, even
    ``denied``) is none: the citizen got a decision."""


#: A registered agent's ``person`` as the feed sends it (an ID number, say).
AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Scalping(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    max_tickets: Count = 3
    """倒号: one person taking more tickets than this in one service day."""
    agents: tuple[AgentId, ...] = ()
    """Registered agents (代办员, 帮办代办员: Anqiu counts 152, Luozhuang 26), whose many
    tickets a day are their work, not scalping: their ``person`` ids as the feed sends
    them. Written raw in the file, they are pseudonymized as the config is loaded for a
    pipeline (``runtime.config.Config.pseudonymized``, the decoder's key): the rule only
    ever holds pseudonyms, and nothing logs them."""


class Feeds(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    stalled_seconds: Annotated[float, msgspec.Meta(ge=5, le=3600)] = 30.0
    """No event or heartbeat for this long (wall time) while the hall is open: stalled."""


#: The role of an escalation step whose target, when omitted, is the alert's own
#: department (the case's 承办部门): seed 001's 及时提醒相关单位加紧办理.
DEPARTMENT = "department"


class EscalationStep(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """One level of ``[[duty.escalate_to]]``: who an unacknowledged red card goes to."""

    role: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """What the receiver is: ``department`` (the department the case is with), or any
    name of a role, e.g. ``supervision`` (the supervision office, 效能监督), ``director``."""
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    """Who it is: an office, a person, an address the outbound receivers know (e.g.
    ``市政务服务办效能监督科``). Omitted for ``department``: the alert's department."""


#: Without ``[[duty.escalate_to]]``: first the case's department (seed 001: 及时提醒相关
#: 单位加紧办理), then the supervision office (seed 001: 红牌警告和督办; seed 002 names the
#: bodies that inspect: 市委督查室、市府督查室、市纪委、市作风办、市软环境办 … 市政务服务办抓好
#: 日常监管). The office's name is our default: the config names the real one.
DEFAULT_ESCALATION = (
    EscalationStep(role=DEPARTMENT),
    EscalationStep(role="supervision", target="效能监督"),
)


class Handover(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    accept_minutes: Minutes = 30.0
    """A shift report not accepted by the incoming director within this: alert."""


class Lifecycle(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    ack_timeout_minutes: Minutes = 30.0
    """An acknowledged alert not resolved within this goes back to firing."""
    escalate_minutes: Minutes = 15.0
    """An unacknowledged red card escalates one level after this much duty time (the
    roster's shifts), and again after each."""
    max_level: Annotated[int, msgspec.Meta(ge=0, le=5)] = 2
    """Escalation levels above the duty director (at most as many as ``[[duty.escalate_to]]``
    has steps)."""

    def timing(self) -> Timing:
        return Timing(
            int(self.ack_timeout_minutes * 60_000),
            int(self.escalate_minutes * 60_000),
            self.max_level,
        )


class Rules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """``[rules]``: every rule's settings, with defaults; ``disabled`` turns rules off."""

    disabled: list[str] = []
    """Rule names (e.g. ``"ticket_scalping"``) not to evaluate."""
    service_overtime: ServiceOvertime = msgspec.field(default_factory=ServiceOvertime)
    unattended: Unattended = msgspec.field(default_factory=Unattended)
    case_deadline: CaseDeadline = msgspec.field(default_factory=CaseDeadline)
    case_pauses: dict[ProcedureName, ProcedureDays] = msgspec.field(
        default_factory=lambda: dict(SPECIAL_PROCEDURES)
    )
    """``[rules.case_pauses]``: the special procedures that stop a case's clock, each with
    its time limit in working days (seed 004: 对涉及现场勘验、技术审查、听证论证等程序实施
    清单化管理,建立限时办结机制). A ``case_paused`` whose reason names one (the name, or a
    reason containing it) stops the clock up to the limit; any other reason stops nothing
    (``pause_unlisted``). A table given replaces the whole default list."""
    complaints: Complaints = msgspec.field(default_factory=Complaints)
    added_materials: AddedMaterials = msgspec.field(default_factory=AddedMaterials)
    ratings: Ratings = msgspec.field(default_factory=Ratings)
    second_trip: SecondTrip = msgspec.field(default_factory=SecondTrip)
    scalping: Scalping = msgspec.field(default_factory=Scalping)
    feeds: Feeds = msgspec.field(default_factory=Feeds)
    handover: Handover = msgspec.field(default_factory=Handover)
    lifecycle: Lifecycle = msgspec.field(default_factory=Lifecycle)
