"""What readers see: a frozen ``View`` of the city at one moment, with frozen copies of
its alerts. The pipeline publishes a new one a few times a second (one reference swap);
the console's refresh timer and the /metrics thread only ever read the latest.

Imports: alerts (the book's types, the roster's OnDuty, the rules' topics), metrics.snapshot,
msgspec.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

import msgspec

from alerts.book import Alert, Silence
from alerts.duty import OnDuty
from alerts.model import DISPLAY_RANK
from alerts.names import NO_NAMES, Names
from alerts.topics import BACKLOG_TOPICS, RULE_TOPIC, is_live, topic_of
from metrics.snapshot import CitySnapshot


class AlertView(msgspec.Struct, frozen=True, gc=False):
    """A frozen copy of one alert.

    A msgspec Struct, not a dataclass: ~40x cheaper to create, and untracked by the
    garbage collector (only ints, strs and None inside) — a flood keeps thousands open,
    and every full collection scanned them all (bench/ui.py, loop stall).
    """

    id: int
    rule: str
    hall: str
    scope: str
    severity: str
    state: str
    fired_ms: int
    raised_ms: int | None
    resolved_ms: int | None
    summary: str
    previous: int | None
    ack_by: str | None = None
    """Who acknowledged it (state ``acknowledged``), when, and their note."""
    ack_ms: int | None = None
    ack_note: str | None = None
    level: int = 0
    """Escalation level: 0 the duty director, 1+ escalated (unacknowledged red card)."""
    escalated_role: str | None = None
    """The role the last escalation went to (``department``, ``supervision`` …)."""
    escalated_target: str | None = None
    """Who that is (the case's department, the office the config names)."""
    silenced_by: int | None = None
    """The silence that mutes it now (it stays open and counted)."""
    due_ms: int | None = None
    """When a person's action is due (a bad rating's rectification note)."""
    resolved_by: str | None = None
    resolve_note: str | None = None

    @classmethod
    def of(cls, a: Alert) -> AlertView:
        return cls(*ALERT_FIELDS(a))


@dataclass(frozen=True, slots=True)
class View:
    """Everything a reader needs, at one moment. Immutable: share it across threads."""

    city: CitySnapshot
    alerts: tuple[AlertView, ...]
    """Firing alerts, red first."""
    resolved: tuple[AlertView, ...]
    """The most recently resolved alerts, newest first."""
    events_total: int
    published_wall: float
    generation: int
    on_duty: OnDuty | None = None
    """The duty director now (by the roster, on the newest hall clock), if rostered."""
    silences: tuple[Silence, ...] = ()
    """Live silences (who, why, until). Treat as read-only."""
    handovers_unaccepted: tuple[tuple[int, str, str, int], ...] = ()
    """(id, hall, written by, written hall ms) of shift reports not yet accepted."""
    names: Names = NO_NAMES
    """Display names of halls, zones, items and departments (the config's, the demo's):
    the console, the shift report and the day report name things by them."""


ALERT_FIELDS = attrgetter(*AlertView.__struct_fields__)
"""An alert's values for its ``AlertView``, in field order, in one C call."""

EMPTY_VIEW = View(CitySnapshot({}, ()), (), (), 0, 0.0, 0)


@dataclass(slots=True)
class AlertCounts:
    """One hall's open alerts as the console counts them: live ones by severity and by
    topic, the backlog by topic (``alerts.topics``); silenced ones apart, in no other
    count (they are marked where they are listed)."""

    live: Counter[str] = field(default_factory=Counter)
    """Severity → live alerts."""
    live_topics: Counter[str] = field(default_factory=Counter)
    """Topic → live alerts."""
    backlog_topics: Counter[str] = field(default_factory=Counter)
    """Topic → backlog alerts (``complaint``: open complaints of earlier days)."""
    silenced: int = 0

    @property
    def backlog(self) -> int:
        return sum(self.backlog_topics.values())


#: Rules whose alerts can move between live and backlog with the day (``is_live``).
_DAY_BOUND_RULES = frozenset(r for r, t in RULE_TOPIC.items() if t == "complaint")
_BACKLOG_RULES = frozenset(r for r, t in RULE_TOPIC.items() if t in BACKLOG_TOPICS)


def split_live(alerts: Iterable[AlertView], now_ms: int) -> tuple[list[AlertView], list[AlertView]]:
    """(live, backlog) of one hall's ``alerts`` on its clock ``now_ms`` (``is_live``), each
    in the order given; a set lookup per alert, as a flood holds thousands."""
    live: list[AlertView] = []
    backlog: list[AlertView] = []
    for a in alerts:
        if a.rule in _BACKLOG_RULES or (
            a.rule in _DAY_BOUND_RULES and not is_live(a.rule, a.fired_ms, now_ms, a.due_ms)
        ):
            backlog.append(a)
        else:
            live.append(a)
    return live, backlog


def alert_counts(view: View) -> dict[str, AlertCounts]:
    """Hall → its ``AlertCounts``. Built from the per-rule counts the pipeline published,
    corrected by the few alerts that are silenced or are complaints (live only while due
    today or later): a comprehension over the alerts, never a Python loop over a flood."""
    out: dict[str, AlertCounts] = {}
    for (hall, rule, severity), n in view.city.alerts_active.items():
        counts = out.get(hall) or out.setdefault(hall, AlertCounts())
        topic = topic_of(rule)
        if topic not in BACKLOG_TOPICS:  # live, unless a complaint of an earlier day
            counts.live[severity] += n
            counts.live_topics[topic] += n
        else:
            counts.backlog_topics[topic] += n
    odd = [a for a in view.alerts if a.silenced_by is not None or a.rule in _DAY_BOUND_RULES]
    if not odd:
        return out
    clocks = {name: h.now_ms for name, h in view.city.halls.items()}
    newest = max(clocks.values(), default=0)
    for a in odd:
        mine = out.get(a.hall)
        if mine is None:  # (a view whose counts and alerts disagree: a shard's merge)
            continue
        topic = topic_of(a.rule)
        live = is_live(a.rule, a.fired_ms, clocks.get(a.hall, newest), a.due_ms)
        if a.silenced_by is None and live:
            continue  # counted where it is
        if topic not in BACKLOG_TOPICS:  # counted live above
            mine.live[a.severity] -= 1
            mine.live_topics[topic] -= 1
        else:
            mine.backlog_topics[topic] -= 1
        if a.silenced_by is not None:
            mine.silenced += 1
        else:  # a complaint due before today: the ledger's
            mine.backlog_topics[topic] += 1
    return out


def live_order(a: AlertView) -> tuple[bool, int, int, int]:
    """How live alerts are listed: the silenced last, then red cards, urgent warnings,
    yellow cards, notices; within each the newest first (by when it fired or, risen,
    when it rose), so what just happened in the hall is on top."""
    return (a.silenced_by is not None, DISPLAY_RANK.get(a.severity, 4),
            -(a.raised_ms or a.fired_ms), -a.id)  # fmt: skip


def backlog_order(a: AlertView) -> tuple[bool, int, int, int, int]:
    """How the backlog is listed: by topic (case cards, rectification notes, second
    trips, scalping, then complaints carried over), the gravest first, the oldest first
    (the longest outstanding); the silenced last."""
    return (a.silenced_by is not None, _TOPIC_RANK.get(topic_of(a.rule), 0),
            DISPLAY_RANK.get(a.severity, 4), a.fired_ms, a.id)  # fmt: skip


BACKLOG_ORDER = (*BACKLOG_TOPICS, "complaint")
"""The backlog's topics in the order they are listed and counted: the case cards,
rectification notes, second trips, scalping, then complaints carried over."""
_TOPIC_RANK = {t: i for i, t in enumerate(BACKLOG_ORDER)}
