"""The alert engine and its first rules: waiting overtime, complaints (and 当日事当日毕).

Rules get two inputs: each applied batch (``ApplyResult`` plus the batch's events that were
applied, rejected ones filtered out) and, on every publish tick, the frozen hall
snapshots and feed status (``Tick``). A threshold crossed between two ticks is still
alerted — fired at the hall time it was crossed, resolved when the thing left — so what
fires never depends on how often the engine looks. The other rules live in
``alerts.window_rules``, ``alerts.case_rules``, ``alerts.people_rules``.

Imports: feeds (protocol, snapshots), metrics (snapshots, apply results, workdays, the
checkpoint codec's error), alerts.book, alerts.settings, msgspec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec

from alerts.book import Alert, AlertBook, Sink
from alerts.case_rules import (
    AddedMaterialsRule,
    CaseDeadlineRule,
    DeemedAcceptanceRule,
    LegalDeadlineRule,
    PauseUnlistedRule,
    ProcedureOvertimeRule,
)
from alerts.duty import HandoverBook, HandoverLedger, HandoverRule, Roster
from alerts.escalation import Escalation
from alerts.outbound import Outbound
from alerts.people_rules import BadRatingRule, ScalpingRule, SecondTripRule, TicketTheftRule
from alerts.rule import Memory, Rule, Tick
from alerts.settings import Rules, minutes_of_day
from alerts.staffing_rules import IdleWindowRule, UnattendedZoneRule
from alerts.store import AlertStore
from alerts.window_rules import LongPauseRule, ServiceOvertimeRule
from feeds.hallclock import day_start_ms, local_datetime, service_day
from feeds.source import FeedSnapshot
from metrics.codec import CheckpointError
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult
from metrics.workdays import WorkCalendar

WAIT_OVERTIME = "wait_overtime"
COMPLAINT = "complaint"
COMPLAINT_OVERDUE = "complaint_overdue"
FEED_STALLED = "feed_stalled"
CLOCK_JUMP = "clock_jump"


@dataclass(frozen=True, slots=True)
class WaitLimits:
    """Waiting-overtime thresholds: a warning near the limit, urgent past it (our default;
    no seed sets a waiting limit or gives a card for a wait)."""

    limit_s: float = 1800.0
    """Default zone limit: 30 minutes of hall time."""
    yellow_share: float = 0.8
    """A notice from this share of the limit (urgent at the limit)."""
    zones: Mapping[str, float] = field(default_factory=dict)
    """Per-zone limits in seconds, by zone id."""

    def limit_ms(self, zone: str) -> int:
        return int(self.zones.get(zone, self.limit_s) * 1000)


class WaitOvertimeRule(Memory):
    """A ticket waiting past its zone's limit: a notice at a share of it, urgent past it."""

    name = WAIT_OVERTIME
    configured = ("limits",)

    def __init__(self, limits: WaitLimits | None = None) -> None:
        self.limits = limits or WaitLimits()

    def _judge(self, book: AlertBook, hall: str, ticket: str, zone: str, queued_ms: int,
               waited_ms: int) -> None:  # fmt: skip
        limit = self.limits.limit_ms(zone)
        yellow = int(limit * self.limits.yellow_share)
        scope = f"{zone}/{ticket}"
        if waited_ms >= yellow:
            summary = f"ticket {ticket} ({zone}) waiting over {yellow // 60000} min"
            book.fire(WAIT_OVERTIME, hall, scope, "notice", queued_ms + yellow, summary)
        if waited_ms >= limit:
            summary = f"ticket {ticket} ({zone}) waiting over {limit // 60000} min"
            book.fire(WAIT_OVERTIME, hall, scope, "urgent", queued_ms + limit, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, ticket, zone, queued_ms, left_ms in result.departures:
            self._judge(book, hall, ticket, zone, queued_ms, left_ms - queued_ms)
            book.resolve(WAIT_OVERTIME, hall, f"{zone}/{ticket}", left_ms)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        queued: set[tuple[str, str]] = set()
        for name, hall in tick.halls.items():
            now = hall.now_ms
            for q in hall.queue:
                queued.add((name, f"{q.zone}/{q.ticket}"))
                self._judge(book, name, q.ticket, q.zone, q.queued_ms, now - q.queued_ms)
        # A ticket can vanish without leaving the queue (the service day ended under it).
        for rule, hall_name, scope in list(book.open):
            if (
                rule == WAIT_OVERTIME
                and (hall_name, scope) not in queued
                and hall_name in tick.halls
            ):
                book.resolve(rule, hall_name, scope, tick.halls[hall_name].now_ms)


class ComplaintRule(Memory):
    """Every complaint is a warning (notice) at once, open until the complaint is settled;
    one still open at its due time is urgent, as ``complaint_overdue`` (当日事当日毕, seed
    002: 对群众投诉问题实行限时办结,做到当日事当日毕). A complaint is not a card: the
    documents give cards for case deadlines and added materials only (seed 001).

    Due: the hall's closing time (``settle_by``) of the day it came in, when that is a
    working day and it came before closing, however near (17:29 is due at 17:30: the
    director on duty settles it before leaving, and answers it on the spot, 现场处理答复,
    which ``hall_complaint_answer_seconds`` measures); else the closing time of the next
    working day (after closing, or on a weekend or holiday, the hall is shut: its
    "same day" is the next one it works). Our reading of 当日事当日毕 (docs/alerts.md)."""

    name = COMPLAINT
    configured = ("settle_by_ms", "calendar")

    def __init__(self, settle_by: str = "17:30", calendar: WorkCalendar | None = None) -> None:
        self.settle_by_ms = minutes_of_day(settle_by) * 60_000
        self.calendar = calendar or WorkCalendar()
        self.received: dict[tuple[str, str], int] = {}

    def due_ms(self, received_ms: int) -> int:
        """When a complaint received at ``received_ms`` must be settled."""
        day = service_day(received_ms)
        due = day_start_ms(day) + self.settle_by_ms
        if received_ms < due and self.calendar.is_workday(day):
            return due
        return day_start_ms(self.calendar.add_workdays(day, 1)) + self.settle_by_ms

    def _overdue(self, book: AlertBook, hall: str, complaint: str, received_ms: int) -> None:
        due = self.due_ms(received_ms)
        when = local_datetime(due).strftime("%Y-%m-%d %H:%M")
        summary = f"complaint {complaint} not settled the same day (当日事当日毕): due {when}"
        book.fire(COMPLAINT_OVERDUE, hall, complaint, "urgent", due, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for c in result.complaints:
            if c.opened:
                self.received[(c.hall, c.complaint)] = c.ts
                where = f" at window {c.window}" if c.window else ""
                summary = f"complaint {c.complaint} via {c.channel}{where}"
                book.fire(COMPLAINT, c.hall, c.complaint, "notice", c.ts, summary,
                          due_ms=self.due_ms(c.ts))  # fmt: skip
            else:
                received = self.received.pop((c.hall, c.complaint), None)
                if received is not None and c.ts >= self.due_ms(received):
                    self._overdue(book, c.hall, c.complaint, received)
                book.resolve(COMPLAINT, c.hall, c.complaint, c.ts)
                book.resolve(COMPLAINT_OVERDUE, c.hall, c.complaint, c.ts)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            for c in hall.complaints:
                self.received.setdefault((name, c.complaint), c.received_ms)
                if hall.now_ms >= self.due_ms(c.received_ms):
                    self._overdue(book, name, c.complaint, c.received_ms)


class FeedStalledRule(Memory):
    """A feed silent (no event, no heartbeat) for ``stalled_s`` of wall time while one of
    its halls has an open window. Its own alert: it hides and resolves nothing else."""

    name = FEED_STALLED
    configured = ("stalled_s",)

    def __init__(self, stalled_s: float = 30.0) -> None:
        self.stalled_s = stalled_s

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        return None

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for feed in tick.feeds:
            last = feed.last_event_wall
            stalled = last is not None and tick.wall - last >= self.stalled_s
            for hall_name in feed.halls:
                hall = tick.halls.get(hall_name)
                if hall is None:
                    continue
                if stalled and hall.windows_open > 0:
                    summary = f"feed {feed.name} silent for {int(tick.wall - (last or 0))} s"
                    book.fire(FEED_STALLED, hall_name, feed.name, "urgent", hall.now_ms, summary)
                elif not stalled:
                    book.resolve(FEED_STALLED, hall_name, feed.name, hall.now_ms)


class ClockRule(Memory):
    """A hall whose events come 5 minutes or more behind its own clock: the feed's clock
    went back, or jumped ahead (a leap) and came back. Everything still applies, but the
    hall's waits and deadlines are measured against a wrong clock until the events catch
    up, so the office should call the vendor. A notice, fired at the hall clock when the
    events fell behind, resolved when they keep step again (docs/protocol-notes.md)."""

    name = CLOCK_JUMP

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for change in result.clock:
            if change.behind_ms == 0:
                book.resolve(CLOCK_JUMP, change.hall, "clock", change.at_ms)
                continue
            behind = f"{change.behind_ms / 60_000:.0f} min"
            summary = f"events arrive {behind} behind the hall clock: the feed's clock went back"
            if change.leap is not None:
                start, end = change.leap
                summary += (
                    f", or jumped {(end - start) / 3_600_000:.1f} h ahead at "
                    f"{local_datetime(start).strftime('%Y-%m-%d %H:%M')}"
                )
            book.fire(CLOCK_JUMP, change.hall, "clock", "notice", change.at_ms, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None


@dataclass(frozen=True, slots=True)
class HallRules:
    """One hall's own settings, where the config gives that hall its own."""

    rules: Rules
    wait_limits: WaitLimits
    item_minutes: Mapping[str, float] = field(default_factory=dict)
    deem_minutes: int | None = None
    """``[halls.H] deemed_accept_minutes``; None: the engine's (``[thresholds]``)."""


#: Rules about the city rather than one hall (they see every hall at once).
CITY_RULES = (FEED_STALLED, "handover_unaccepted")


class AlertEngine:
    """The rules and the book they write to.

    Args:
        wait_limits: waiting-overtime thresholds (``[thresholds]`` and zones in the config).
        rules: every other rule's settings (``[rules]``).
        calendar: working days, shared with the hall state's case deadlines.
        item_minutes: standard service minutes by item id.
        deem_minutes: the back office's minutes before a case counts as accepted.
        sink: the store that records every change with its audit record.
        halls: halls with settings of their own (``[halls.H]`` zones, items, rules); each
            gets its own rule instances, the others share the defaults above.
        roster: ``[duty]``: the duty time red cards escalate on, and to whom.
    """

    def __init__(
        self,
        wait_limits: WaitLimits | None = None,
        *,
        rules: Rules | None = None,
        calendar: WorkCalendar | None = None,
        item_minutes: Mapping[str, float] | None = None,
        deem_minutes: int = 10,
        sink: Sink | None = None,
        halls: Mapping[str, HallRules] | None = None,
        roster: Roster | None = None,
    ) -> None:
        cfg = rules or Rules()
        self.calendar = calendar or WorkCalendar()
        self.deem_minutes = deem_minutes
        self.settings = cfg
        self.book = AlertBook(cfg.lifecycle.timing(), sink=sink)
        self.escalation = Escalation(roster or Roster(), self.calendar)
        """Red cards climb on duty time to the case's department, then the office."""
        self.escalation.department_of = self._department
        self.book.escalation = self.escalation
        self._halls: Mapping[str, HallSnapshot] = {}
        """The halls of the last tick: where an escalation finds a case's department."""
        city: list[Rule] = [FeedStalledRule(cfg.feeds.stalled_seconds)]
        self.city_rules = [r for r in city if r.name not in cfg.disabled]
        self.handovers: HandoverLedger | None = None
        """The shift reports, in memory (``keep_handovers``: with a store, or a shard's)."""
        if isinstance(sink, AlertStore):
            self.keep_handovers(sink)
            # A restart: what was open stays open; the replayed day dedups against it.
            self.book.restore(sink.open_alerts(), sink.live_silences(), *sink.next_ids())
            for hall, now_ms in sink.clocks().items():
                self.book.now[hall] = max(self.book.now.get(hall, 0), now_ms)
        self.own = dict(halls or {})
        """Hall → its own rule set (rules, their event kinds)."""
        self._own_sets = {
            name: self._rule_set(h.rules, h.wait_limits, h.item_minutes, h.deem_minutes)
            for name, h in self.own.items()
        }
        self.rules = self._rule_set(cfg, wait_limits, item_minutes or {})
        """The default rule set (halls without settings of their own)."""
        self.outbound: Outbound | None = None

    def _rule_set(self, cfg: Rules, wait_limits: WaitLimits | None,
                  item_minutes: Mapping[str, float],
                  deem_minutes: int | None = None) -> list[Rule]:  # fmt: skip
        every: list[Rule] = [
            WaitOvertimeRule(wait_limits),
            ComplaintRule(cfg.complaints.settle_by, self.calendar),
            ServiceOvertimeRule(cfg.service_overtime, item_minutes),
            IdleWindowRule(cfg.unattended),
            UnattendedZoneRule(cfg.unattended),
            LongPauseRule(cfg.unattended),
            DeemedAcceptanceRule(deem_minutes or self.deem_minutes),
            CaseDeadlineRule(cfg.case_deadline, self.calendar, cfg.complaints.settle_by),
            LegalDeadlineRule(self.calendar),
            ProcedureOvertimeRule(cfg.case_deadline, self.calendar, cfg.case_pauses),
            PauseUnlistedRule(cfg.case_pauses),
            AddedMaterialsRule(cfg.added_materials),
            BadRatingRule(cfg.ratings, self.calendar),
            SecondTripRule(cfg.second_trip),
            ScalpingRule(cfg.scalping),
            TicketTheftRule(),
            ClockRule(),
        ]
        return [r for r in every if r.name not in cfg.disabled]

    def keep_handovers(self, book: HandoverBook) -> None:
        """Shift reports are kept in ``book``: the view lists those not accepted, and a
        rule warns of one not accepted within ``[handover] accept_minutes``."""
        self.handovers = HandoverLedger(book)
        rule = HandoverRule(self.handovers, self.settings.handover.accept_minutes)
        self.city_rules = [r for r in self.city_rules if r.name != rule.name]  # (one book)
        if rule.name not in self.settings.disabled:
            self.city_rules.append(rule)

    def rule_memory(self) -> bytes:
        """The hall rules' memory (cases seen, visits, pauses…) for a state snapshot
        (``runtime.snapshot``): each rule's name and ``memory()``, for the default set
        and for each hall's own. The city rules hold no hall memory.

        Raises:
            CheckpointError: a rule's attribute (named) of a type the codec does not know.
        """
        own = {hall: _memories(rules) for hall, rules in self._own_sets.items()}
        return msgspec.msgpack.encode((_memories(self.rules), own))

    def restore_rule_memory(self, data: bytes) -> None:
        """Take back ``rule_memory()`` made with this same configuration: the rules of
        each set matched by name. All or nothing.

        Raises:
            ValueError: the snapshot's rules are not this configuration's, or their
                memory does not decode (``CheckpointError``).
        """
        try:
            rules, own = _RULE_MEMORY.decode(data)
        except msgspec.DecodeError as error:
            raise CheckpointError(f"rule memory undecodable: {error}") from error
        if own.keys() != self._own_sets.keys():
            raise ValueError("the snapshot's rules are not this configuration's")
        sets = [(self.rules, rules), *((self._own_sets[h], saved) for h, saved in own.items())]
        if any([r.name for r in mine] != [name for name, _ in saved] for mine, saved in sets):
            raise ValueError("the snapshot's rules are not this configuration's")
        before = [(rule, rule.memory()) for mine, _ in sets for rule in mine]
        try:
            for mine, saved in sets:
                for rule, (_, memory) in zip(mine, saved, strict=True):
                    rule.restore_memory(memory)
        except ValueError:
            for rule, memory in before:
                rule.restore_memory(memory)
            raise

    def forward(self, outbound: Outbound) -> None:
        """Send every notable change to ``outbound`` (Alertmanager, webhooks) too."""
        self.outbound = outbound
        self.book.listeners.append(outbound.changed)

    def close(self) -> None:
        """Stop forwarding (what is queued gets one more try)."""
        if self.outbound is not None:
            self.outbound.close()

    def on_batch(self, result: ApplyResult) -> None:
        """Run the event-driven rules on the transitions of one applied batch."""
        book = self.book
        own = self.own
        if not own or not (result.halls & own.keys()):
            for rule in self.rules:
                rule.on_batch(book, result)
            return
        for name in result.halls & own.keys():
            part = _only(result, {name})
            for rule in self._own_sets[name]:
                rule.on_batch(book, part)
        others = result.halls - own.keys()
        if others:
            part = _only(result, others)
            for rule in self.rules:
                rule.on_batch(book, part)

    def on_tick(
        self,
        halls: Mapping[str, HallSnapshot],
        feeds: Sequence[FeedSnapshot] = (),
        wall: float = 0.0,
    ) -> None:
        """Run the time-driven rules, then the book's timers, at each hall's clock."""
        own = self.own
        for name in halls.keys() & own.keys():
            for rule in self._own_sets[name]:
                rule.on_tick(self.book, Tick({name: halls[name]}, (), wall))
        shared = {n: h for n, h in halls.items() if n not in own} if own else halls
        for rule in self.rules:
            rule.on_tick(self.book, Tick(shared, (), wall))
        for rule in self.city_rules:
            rule.on_tick(self.book, Tick(halls, feeds, wall))
        self._halls = halls
        self.book.tick_all({name: hall.now_ms for name, hall in halls.items()})

    def _department(self, alert: Alert) -> str | None:
        """The department of the case an alert is about (its scope), while it is open."""
        hall = self._halls.get(alert.hall)
        if hall is None:
            return None
        return next((c.dept for c in hall.cases if c.case == alert.scope), None)


_RULE_MEMORY: Final = msgspec.msgpack.Decoder(
    tuple[list[tuple[str, bytes]], dict[str, list[tuple[str, bytes]]]]
)


def _memories(rules: Sequence[Rule]) -> list[tuple[str, bytes]]:
    return [(rule.name, rule.memory()) for rule in rules]


def _only(result: ApplyResult, halls: set[str]) -> ApplyResult:
    """The part of a batch's transitions that concerns ``halls``."""
    part = ApplyResult(applied=result.applied, heartbeats=result.heartbeats,
                       rejections=result.rejections, halls=set(halls))  # fmt: skip
    for name in TUPLES:
        setattr(part, name, [t for t in getattr(result, name) if t[0] in halls])
    for name in RECORDS:
        setattr(part, name, [t for t in getattr(result, name) if t.hall in halls])
    return part


#: The lists of ``ApplyResult`` whose items are tuples with the hall first, and those
#: whose items have a ``hall`` attribute.
TUPLES = (
    "departures", "idle", "unattended", "services", "windows", "cases", "visits",
    "person_tickets", "closed_cases", "case_pauses", "materials", "other_holders",
)  # fmt: skip
RECORDS = ("complaints", "clock", "ratings")
