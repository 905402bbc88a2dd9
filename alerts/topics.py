"""What each rule's alerts are about, for the people who watch them: a *topic* (waiting,
idle windows, case cards …) and whether that topic is **live** — what is happening in the
hall now, for the duty director on the floor — or **backlog**, the back office's
follow-up (issue 13: "live first, backlog apart"). One fixed table, here: the console and
the big-screen board group by it, and so should any report that groups alerts.

Live: waiting and service overtime, idle windows and unattended zones, long pauses,
today's complaints, stalled feeds and the console's own troubles. Backlog: case deadlines
and the other case cards (seed 001's 黄牌/红牌 are the back office's), rectification notes
owed for bad ratings (差评整改情况在线反馈, seed 004), second trips (最多跑一次) and ticket
scalping (倒号、盗号, seed 004), which the office looks into after the fact.

A complaint belongs to the day it is to be settled (当日事当日毕, seed 002; a complaint of a
Sunday is due on Monday, ``alerts.rules.ComplaintRule``): live on that day, and after it
the complaint ledger's (投诉受理巡查记录台账), backlog, not the hall's now. A rule missing
from the table is live: a new rule is never hidden in the backlog.

Imports: feeds.hallclock, the standard library.
"""

from __future__ import annotations

from typing import Final

from feeds.hallclock import day_ordinal

LIVE: Final = "live"
BACKLOG: Final = "backlog"

#: Topics in the order they are listed and counted: the live ones, then the backlog's.
LIVE_TOPICS: Final = ("waiting", "service", "idle", "pause", "complaint", "system")
BACKLOG_TOPICS: Final = ("case", "rectification", "second_trip", "scalping")
TOPICS: Final = (*LIVE_TOPICS, *BACKLOG_TOPICS)

#: Rule → topic. The rules' names are written out (not imported) so that this table
#: stays below every rule module; ``tests/alerts/test_topics.py`` checks that every rule
#: the engine runs is here.
RULE_TOPIC: Final[dict[str, str]] = {
    "wait_overtime": "waiting",
    "service_overtime": "service",
    "idle_window": "idle",
    "unattended_zone": "idle",
    "long_pause": "pause",
    "complaint": "complaint",
    "complaint_overdue": "complaint",
    "feed_stalled": "system",
    "clock_jump": "system",
    "storage_failed": "system",
    "handover_unaccepted": "system",
    "case_deadline": "case",
    "legal_deadline": "case",
    "procedure_overtime": "case",
    "pause_unlisted": "case",
    "deemed_acceptance": "case",
    "added_materials": "case",
    "bad_rating": "rectification",
    "second_trip": "second_trip",
    "ticket_scalping": "scalping",
    "ticket_theft": "scalping",
}
#: Topic → (Chinese, English) name, as counts and lists head them, in the hall's words
#: (the rules' own names where a topic is one rule: ``alerts.names``).
TOPIC_NAMES: Final[dict[str, tuple[str, str]]] = {
    "waiting": ("等候过长", "long waits"),
    "service": ("办理过长", "long services"),
    "idle": ("空岗", "idle windows"),
    "pause": ("暂停过久", "long pauses"),
    "complaint": ("投诉", "complaints"),
    "system": ("系统", "system"),
    "case": ("办件", "cases"),
    "rectification": ("差评待整改", "rectifications"),
    "second_trip": ("来回跑", "second trips"),
    "scalping": ("倒号", "scalping"),
}
#: Topics whose alerts are live only on the service day they fired.
_DAY_BOUND: Final = frozenset({"complaint"})
_BACKLOG: Final = frozenset(BACKLOG_TOPICS)


def topic_of(rule: str) -> str:
    """The topic of ``rule``'s alerts; ``system`` for a rule the table does not know
    (live, so a new rule shows up first rather than nowhere)."""
    return RULE_TOPIC.get(rule, "system")


def topic_name(topic: str, lang: str = "zh") -> str:
    """``topic``'s name in ``lang`` (``zh`` or ``en``)."""
    pair = TOPIC_NAMES.get(topic)
    return topic if pair is None else pair[0 if lang == "zh" else 1]


def is_live(rule: str, fired_ms: int, now_ms: int, due_ms: int | None = None) -> bool:
    """Whether an alert of ``rule`` is live on its hall's clock ``now_ms``: its topic is
    live, and a complaint is to be settled today or later (by ``due_ms``, else the day it
    fired at ``fired_ms``: an overdue alert fires at the due time)."""
    topic = RULE_TOPIC.get(rule, "system")
    if topic in _BACKLOG:
        return False
    if topic not in _DAY_BOUND:
        return True
    return day_ordinal(fired_ms if due_ms is None else due_ms) >= day_ordinal(now_ms)
