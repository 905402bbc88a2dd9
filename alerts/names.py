"""What things are called where people read them: the rules' display names in Chinese and
English, the states and actions of an alert in the hall's words, and the display names a
config gives its halls, zones, items and departments (``Names``). One table each, here,
so the console, the shift report (交接班) and the day report say one thing one way.

The hall's words, and where they come from:

- 黄牌/红牌 for cards only and 预警/紧急预警 for every other alert (``alerts.model``,
  seed 001: 實時預警和黃牌警告 … 紅牌警告和督辦); 督办 for an escalation (seed 001).
- 未处置 for an alert nobody has taken yet (not the IT word 告警中), 已确认 once a person
  took it, 销号 when it is settled (the supervision office's word for closing an item on
  its list; not 解除), 暂停提醒 for a silence (the alert stays open and counted: it is the
  reminder that pauses, so not 静默, which reads as "the alert is gone").
- 来回跑 for a second trip: the trip the promise 最多跑一次 (seed 000) says should not
  happen, in Anqiu's words for it (seed 002: 多頭跑、來回跑、無效跑).
- 限时办结 / 办结时限 for the case clock (seed 001: 辦事工作日制度; seed 002: 限時辦結制),
  视为同意受理 for the 10-minute rule (seed 002), 当日事当日毕 for complaints (seed 002).

A rule this table does not know is shown by its id: a new rule is never hidden, only
untranslated (``tests/alerts/test_names.py`` checks that every rule the engine runs is
here).

Imports: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

Lang = Literal["zh", "en"]

#: Rule → (Chinese, English) display name. The rules' ids are written out (not imported)
#: so that this table stays below every rule module.
RULE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "wait_overtime": ("等候过长", "long wait"),
    "service_overtime": ("窗口办理过长", "long service"),
    "idle_window": ("空岗", "idle window"),
    "unattended_zone": ("板块无人值守", "zone unattended"),
    "long_pause": ("暂停过久", "long pause"),
    "complaint": ("投诉", "complaint"),
    "complaint_overdue": ("投诉当日未办结", "complaint not settled today"),
    "bad_rating": ("差评待整改", "bad rating"),
    "second_trip": ("来回跑", "second trip"),
    "ticket_scalping": ("倒号", "ticket scalping"),
    "ticket_theft": ("盗号", "ticket theft"),
    "case_deadline": ("办结时限", "case deadline"),
    "legal_deadline": ("超法定时限", "legal limit passed"),
    "procedure_overtime": ("特别程序超时", "procedure overtime"),
    "pause_unlisted": ("暂停不在清单", "pause not listed"),
    "deemed_acceptance": ("视为同意受理", "deemed accepted"),
    "added_materials": ("擅自增加材料", "added materials"),
    "feed_stalled": ("数据源中断", "feed stalled"),
    "clock_jump": ("时钟异常", "clock jump"),
    "storage_failed": ("存储故障", "storage failed"),
    "handover_unaccepted": ("交接班未确认", "handover not accepted"),
}
#: An alert's state, in the hall's words.
STATE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "pending": ("待定", "pending"),
    "firing": ("未处置", "firing"),
    "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已销号", "resolved"),
}


def rule_name(rule: str, lang: Lang = "zh") -> str:
    """``rule``'s display name in ``lang`` (its id when the table does not know it)."""
    pair = RULE_NAMES.get(rule)
    return rule if pair is None else pair[0 if lang == "zh" else 1]


def rule_both(rule: str) -> str:
    """``办结时限 (case deadline)``: for texts read in both languages (the shift report,
    the day report); the id alone for a rule the table does not know."""
    pair = RULE_NAMES.get(rule)
    return rule if pair is None else f"{pair[0]} ({pair[1]})"


def state_name(state: str, lang: Lang = "zh") -> str:
    """An alert state in the hall's words (``firing`` → 未处置)."""
    pair = STATE_NAMES.get(state)
    return state if pair is None else pair[0 if lang == "zh" else 1]


@dataclass(frozen=True, slots=True)
class Names:
    """Display names a config gives (``[halls.H] name``, ``[halls.H.zones.Z] name``,
    ``[halls.H.items.I] name``, ``[depts]``); an id without one is shown as itself. Read
    only: the pipeline publishes one with every ``View``."""

    halls: Mapping[str, str] = field(default_factory=dict)
    """Hall id → name (``市民中心``)."""
    zones: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Hall id → zone id → name (a zone id means the same only within a hall)."""
    items: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Hall id → item id → name."""
    depts: Mapping[str, str] = field(default_factory=dict)
    """Department code (a case's ``dept``) → name (``bdcdj`` → 不动产登记中心)."""

    def hall(self, hall: str) -> str:
        return self.halls.get(hall) or hall

    def zone(self, hall: str, zone: str) -> str:
        return self.zones.get(hall, {}).get(zone) or zone

    def item(self, hall: str, item: str) -> str:
        return self.items.get(hall, {}).get(item) or item

    def dept(self, dept: str) -> str:
        return self.depts.get(dept) or dept

    def __bool__(self) -> bool:
        return bool(self.halls or self.zones or self.items or self.depts)


NO_NAMES: Final = Names()
"""No display names: every id is shown as itself."""
