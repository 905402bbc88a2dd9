"""Duty directors (值班主任) on rotation and the two-step handover (交接班).

The roster is part of the config (``[duty]``: people, shifts, a rota by weekday or date).
``Roster.on_duty`` answers who is on duty at a hall time. The outgoing director writes a
shift report (``shift_report``: figures, alerts raised, acknowledged, still open,
complaints, cards (黄牌/红牌) and urgent warnings (紧急预警), notes — Markdown), stored with
its audit record; the incoming director accepts it. A report not accepted within
``[rules.handover] accept_minutes`` is itself an urgent warning (``HandoverRule``).

Imports: alerts.book, alerts.store, alerts.rule (Tick), alerts.settings, feeds.hallclock,
metrics (snapshots), msgspec.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Protocol

import msgspec

from alerts.book import Alert, AlertBook
from alerts.model import SEVERITY_ZH, kind_of
from alerts.names import NO_NAMES, Names, rule_both, state_name
from alerts.rule import Memory, Tick
from alerts.settings import ClockTime, EscalationStep, minutes_of_day
from feeds.hallclock import day_start_ms, local_datetime, service_day
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult

HANDOVER_UNACCEPTED = "handover_unaccepted"
#: Longest list of cards, urgent warnings or acknowledgements a shift report spells out.
LIST_LIMIT = 20
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Person(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: str
    """Display name, e.g. 张主任: how reports and shift reports name the person."""
    phone: str | None = None
    os_user: str | None = None
    """The OS account that is this person at a terminal (``zhangwei``): a console started
    under it signs this person in by itself (an SSH login is already an authentication)."""


class Shift(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: str
    """e.g. 上午."""
    start: ClockTime
    """Hall-local start, ``HH:MM``."""
    end: ClockTime
    """Hall-local end, ``HH:MM`` (``24:00`` for midnight); after ``start``."""


class RotaEntry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    person: Ident
    """A key of ``[duty.people]``."""
    shift: str
    """A ``name`` of ``[[duty.shifts]]``."""
    weekdays: list[Annotated[int, msgspec.Meta(ge=1, le=7)]] = []
    """ISO weekdays (1 Monday … 7 Sunday) this entry covers."""
    dates: list[date] = []
    """Dates this entry covers; a date entry wins over weekday entries."""


class Roster(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """``[duty]``: who is the duty director when."""

    people: dict[Ident, Person] = {}
    shifts: list[Shift] = []
    rota: list[RotaEntry] = []
    escalate_to: list[EscalationStep] = []
    """``[[duty.escalate_to]]``: who an unacknowledged red card goes to, by level (level 1
    is the first step): a role and its target (``alerts.escalation``). Empty: the case's
    department, then the supervision office (``DEFAULT_ESCALATION``)."""
    duty_hours: tuple[ClockTime, ClockTime] = ("08:30", "17:30")
    """Without a rota, the duty hours (hall-local) of every working day: escalation
    counts only duty time (our default hours: no seed gives the halls' opening hours)."""
    idle_sign_out_minutes: Annotated[float, msgspec.Meta(gt=0, le=24 * 60)] = 15.0
    """A console with no key pressed for this long signs its operator out (read-only)."""
    operators_file: str | None = None
    """The operators' password file (relative to the config); default
    ``<data dir>/operators``. Only the service account may read it."""

    def problems(self) -> list[tuple[str, str]]:
        """(field path, message) for references that do not resolve."""
        out = []
        names = {s.name for s in self.shifts}
        for i, s in enumerate(self.shifts):
            if minutes_of_day(s.end) <= minutes_of_day(s.start):
                out.append((f"duty.shifts[{i}].end", f"shift {s.name!r} ends before it starts"))
        for i, r in enumerate(self.rota):
            if r.person not in self.people:
                out.append((f"duty.rota[{i}].person", f"unknown person {r.person!r}"))
            if r.shift not in names:
                out.append((f"duty.rota[{i}].shift", f"unknown shift {r.shift!r}"))
            if not r.weekdays and not r.dates:
                out.append((f"duty.rota[{i}]", "needs weekdays or dates"))
        for i, step in enumerate(self.escalate_to):
            if step.target is None and step.role != "department":
                out.append((f"duty.escalate_to[{i}].target", f"role {step.role!r} needs a target"))
        start, end = self.duty_hours
        if minutes_of_day(end) <= minutes_of_day(start):
            out.append(("duty.duty_hours", "the duty hours end before they start"))
        accounts: dict[str, str] = {}
        for key, person in self.people.items():
            if person.os_user is None:
                continue
            if person.os_user in accounts:
                other = accounts[person.os_user]
                why = f"OS account {person.os_user!r} is already {other!r}'s"
                out.append((f"duty.people.{key}.os_user", why))
            accounts[person.os_user] = key
        return out

    def name_of(self, person: str) -> str:
        """The roster name of ``person`` (a key of ``[duty.people]``), else ``person``."""
        found = self.people.get(person)
        return found.name if found is not None else person

    def person_of(self, text: str) -> str | None:
        """The person a key or a roster name means (None: nobody of the roster)."""
        if text in self.people:
            return text
        return next((k for k, p in self.people.items() if p.name == text), None)

    def person_of_os_user(self, account: str) -> str | None:
        """The person whose ``os_user`` is ``account`` (None: nobody)."""
        return next((k for k, p in self.people.items() if p.os_user == account), None)

    def on_duty(self, at_ms: int) -> OnDuty | None:
        """The duty director at hall time ``at_ms`` (None: nobody is rostered)."""
        day = service_day(at_ms)
        minute = (at_ms - day_start_ms(day)) // 60_000
        shifts = {s.name: s for s in self.shifts}
        found: OnDuty | None = None
        for r in self.rota:
            shift = shifts.get(r.shift)
            if shift is None or r.person not in self.people:
                continue
            if not minutes_of_day(shift.start) <= minute < minutes_of_day(shift.end):
                continue
            by_date = day in r.dates
            if by_date or day.isoweekday() in r.weekdays:
                start = day_start_ms(day) + minutes_of_day(shift.start) * 60_000
                end = day_start_ms(day) + minutes_of_day(shift.end) * 60_000
                duty = OnDuty(r.person, self.people[r.person].name, shift.name, start, end)
                if by_date:
                    return duty
                found = found or duty
        return found


@dataclass(frozen=True, slots=True)
class OnDuty:
    person: str
    name: str
    shift: str
    start_ms: int
    end_ms: int


def _hm(ms: int) -> str:
    return local_datetime(ms).strftime("%m-%d %H:%M")


def hall_figures(s: HallSnapshot) -> dict[str, Any]:
    """The headline figures a shift report shows (also kept in the store for the CLI)."""
    cards = s.cases_by_card()
    return {
        "day": s.day,
        "now_ms": s.now_ms,
        "issued": s.issued_today,
        "served": s.served_today,
        "waiting": s.waiting,
        "mean_wait_min": round(s.mean_wait_s / 60, 1) if s.mean_wait_s is not None else None,
        "longest_wait_min": round(s.longest_wait_s / 60, 1),
        "windows_open": s.windows_open,
        "windows_total": s.windows_total,
        "complaints_open": s.complaints_open,
        "cases": cards,
    }


def shift_report(
    hall: str,
    who: str,
    start_ms: int,
    now_ms: int,
    alerts: Sequence[Alert],
    figures: Mapping[str, Any] | None,
    notes: str = "",
    incoming: str | None = None,
    names: Callable[[str], str] = str,
    places: Names = NO_NAMES,
) -> str:
    """The outgoing director's shift report, Markdown. People are named by ``names``
    (``Roster.name_of``: their roster name, never an account), the hall by ``places``
    (its display name), rules and states by the hall's words (``alerts.names``).

    Args:
        hall: the hall reported on.
        who: the outgoing director (operator identity).
        start_ms: shift start, hall time; ``now_ms``: its end (the hall clock now).
        alerts: alerts of the hall that fired by ``now_ms`` and were open at some
            point after ``start_ms`` (``AlertStore.alerts``).
        figures: ``hall_figures`` of the hall now, if known.
        notes: free text from the director.
        incoming: who takes over, if known.
        names: a person's name in the report.
        places: display names (the hall's).
    """
    raised = [a for a in alerts if a.fired_ms >= start_ms]
    acked = [a for a in alerts if a.ack_ms is not None and a.ack_ms >= start_ms]
    still = [a for a in alerts if a.state in ("firing", "acknowledged")]
    complaints = [a for a in alerts if a.rule.startswith("complaint")]
    # A card or an urgent warning belongs to the shift in which it was shown as it is now.
    shown = [a for a in alerts if (a.raised_ms or a.fired_ms) >= start_ms]
    cards = [a for a in shown if kind_of(a.severity) == "card"]
    urgent = [a for a in shown if a.severity == "urgent"]
    lines = [
        f"# 交接班 shift report — {places.hall(hall)}"
        + (f" ({hall})" if places.hall(hall) != hall else ""),
        "",
        f"- outgoing: **{names(who)}**"
        + (f" → incoming: **{names(incoming)}**" if incoming else ""),
        f"- shift: {_hm(start_ms)} – {_hm(now_ms)} (hall time, CST)",
        "",
        "## Figures",
    ]
    if figures:
        f = figures
        mean = f"{f['mean_wait_min']} min" if f["mean_wait_min"] is not None else "—"
        by_card = f["cases"]
        lines += [
            f"- tickets issued today: {f['issued']}, served: {f['served']}, "
            f"waiting now: {f['waiting']}",
            f"- mean wait: {mean}, longest waiting now: {f['longest_wait_min']} min",
            f"- windows open: {f['windows_open']}/{f['windows_total']}",
            f"- complaints open: {f['complaints_open']}; cases open: 黄牌 {by_card['yellow']}, "
            f"红牌 {by_card['red']}, on time {by_card['none']}",
        ]
    else:
        lines.append("- (no hall figures: the hall has not been seen)")
    by_rule = Counter(f"{rule_both(a.rule)}, {SEVERITY_ZH[a.severity]}" for a in raised)
    lines += ["", f"## Alerts raised this shift: {len(raised)}"]
    lines += [f"- {k}: {n}" for k, n in sorted(by_rule.items())] or ["- none"]
    for title, group, limit in (
        ("Cards (黄牌/红牌)", cards, LIST_LIMIT),
        ("Urgent warnings (紧急预警)", urgent, LIST_LIMIT),
        ("Complaints", complaints, None),
        ("Acknowledged this shift", acked, LIST_LIMIT),
        # Every one still open: the next director owns them.
        ("Still open (未处置/已确认) — handed over", still, None),
    ):
        lines += ["", f"## {title}: {len(group)}"]
        if limit is not None and len(group) > limit:  # still open first, then the newest
            group = sorted(group, key=lambda a: (a.state == "resolved", -a.fired_ms))
            lines += [_alert_line(a, names) for a in group[:limit]]
            lines.append(f"- … and {len(group) - limit} more (run.py audit export has all)")
        else:
            lines += [_alert_line(a, names) for a in group] or ["- none"]
    lines += ["", "## Notes", notes.strip() or "—", ""]
    return "\n".join(lines)


def _alert_line(a: Alert, names: Callable[[str], str] = str) -> str:
    state = state_name(a.state)
    if a.ack_by:
        state += f", ack {names(a.ack_by)} {_hm(a.ack_ms or 0)}" + (
            f" “{a.ack_note}”" if a.ack_note else ""
        )
    if a.resolved_by and a.resolved_by != "system":
        state += f", 销号 {names(a.resolved_by)}: “{a.resolve_note}”"
    card = SEVERITY_ZH[a.severity] + (f" · 督办第{a.level}级" if a.level else "")
    return f"- #{a.id} {_hm(a.fired_ms)} [{card}] {rule_both(a.rule)}: {a.summary} ({state})"


class HandoverBook(Protocol):
    """Where shift reports are kept: the alert store (``serve``), or a partition's memory
    that travels in its checkpoint (``province.alertbook.Handovers``, a shard)."""

    def write_handover(self, hall: str, who: str, at_ms: int, shift_start_ms: int, report: str,
                       incoming: str | None) -> int: ...  # fmt: skip

    def accept_handover(self, hid: int, who: str, at_ms: int, note: str | None) -> str: ...

    def handovers(self, unaccepted_only: bool = False) -> list[dict[str, Any]]: ...


class HandoverLedger:
    """The shift reports as the rules and the view see them, held in memory: read from
    the book when the pipeline syncs (``Pipeline.sync_store``, about once a second, off
    the publish path) and when this process writes or accepts one."""

    def __init__(self, store: HandoverBook) -> None:
        self.store = store
        self.waiting: tuple[dict[str, Any], ...] = ()
        """Reports not accepted yet, oldest first."""
        self.accepted_ms: dict[str, int | None] = {}
        """``handover/<id>`` → when it was accepted, for the accepted ones."""
        self.refresh()

    def refresh(self) -> None:
        every = self.store.handovers()
        self.waiting = tuple(h for h in every if h["accepted_by"] is None)
        self.accepted_ms = {
            f"handover/{h['id']}": h["accepted_ms"] for h in every if h["accepted_by"] is not None
        }


class HandoverRule(Memory):
    """A shift report the incoming director has not accepted within the minutes: an
    urgent warning."""

    name = HANDOVER_UNACCEPTED
    configured = ("ledger", "accept_ms")

    def __init__(self, ledger: HandoverLedger, accept_minutes: float = 30.0) -> None:
        self.ledger = ledger
        self.accept_ms = int(accept_minutes * 60_000)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        return None

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        waiting = {f"handover/{h['id']}": h for h in self.ledger.waiting}
        for scope, h in waiting.items():
            hall = tick.halls.get(h["hall"])
            due = h["written_ms"] + self.accept_ms
            if hall is not None and hall.now_ms >= due:
                written = _hm(h["written_ms"])
                summary = f"shift report of {h['written_by']} not accepted (written {written})"
                book.fire(HANDOVER_UNACCEPTED, h["hall"], scope, "urgent", due, summary)
        for rule, hall_name, scope in list(book.open):
            if rule == HANDOVER_UNACCEPTED and scope not in waiting:
                at = self.ledger.accepted_ms.get(scope)
                book.resolve(rule, hall_name, scope, at or book.now.get(hall_name, 0))
