"""The alert book: identity, dedup, lifecycle, silences. See docs/alerts.md.

An alert is identified by rule + hall + scope (a ticket, a zone, a window, a case, a
complaint). Dedup is only against open alerts: a condition that comes back after its alert
resolved opens a new alert linked to the old one (``previous``), unless the "new"
condition started no later than the old alert's resolution — then it is the same history
seen again (a replay after a restart, or a condition a person resolved by hand) and is
ignored. Yellow rising to red (notice to urgent) is one alert, never falling back.

States: ``pending`` (condition true, waiting out the rule's ``for`` delay; not shown,
not stored) → ``firing`` → ``acknowledged`` (who, when, note) → ``resolved`` (by the rule
when the condition clears, after an optional hold time, or by a person with a note).
Severities: cards (``yellow``/``red``, the documents' 黄牌/红牌: case deadlines and added
materials only) and warnings (``notice``/``urgent``: 预警, everything else); each rises
within its kind (``alerts.model``).
An acknowledgement lapses after ``ack_timeout`` without resolution (back to firing); an
unacknowledged red card escalates a level every ``escalate_after``. Silences (who, why,
until) mark matching alerts silenced: they stay open and counted but do not escalate.

Every time is hall time, stamped from the condition (or the timer) itself rather than
from when the engine looked, so a replay at any speed gives the same alerts.

Imports: alerts.model, metrics.codec (its error), msgspec, the standard library.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import Final

import msgspec

from alerts.model import (
    _RANK,
    DISPLAY_RANK,
    SEVERITIES,
    STATES,
    SYSTEM,
    ActionError,
    Alert,
    Change,
    EscalationPolicy,
    Key,
    Listener,
    Silence,
    Sink,
    Timing,
)
from metrics.codec import CheckpointError

__all__ = [
    "SEVERITIES",
    "STATES",
    "SYSTEM",
    "ActionError",
    "Alert",
    "AlertBook",
    "Change",
    "Key",
    "Listener",
    "Silence",
    "Sink",
    "Timing",
]


#: Open alerts one hall may hold. Past it, its oldest ``notice`` warning is closed
#: unhandled (the store and the audit trail keep it; counted per hall): alerts that wait
#: for a person (bad ratings, second trips) would otherwise pile up without bound under a
#: flood, and a hall with a thousand open alerts is past reading anyway. Cards (formal
#: sanctions) and urgent warnings are never closed this way.
MAX_OPEN_PER_HALL: Final = 1000


class _Transient(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``AlertBook.transient()`` as saved: msgspec reads it back by these types."""

    clearing: list[tuple[Key, int]]
    """Open alerts waiting out their hold time: since when their condition is clear."""
    pending: list[tuple[Key, Alert]]


_TRANSIENT: Final = msgspec.msgpack.Decoder(_Transient)


class AlertBook:
    """Open (and pending) alerts by identity, silences, plus a tail of resolved alerts."""

    def __init__(
        self, timing: Timing | None = None, keep_resolved: int = 2000, sink: Sink | None = None
    ) -> None:
        self.timing = timing or Timing()
        self.open: dict[Key, Alert] = {}
        """Firing and acknowledged alerts."""
        self.pending: dict[Key, Alert] = {}
        self.resolved: deque[Alert] = deque(maxlen=keep_resolved)
        self.silences: dict[int, Silence] = {}
        self.now: dict[str, int] = {}
        """Each hall's clock as the book last saw it: actions by people are stamped with it."""
        self._last: dict[Key, tuple[int, int]] = {}
        """key → (id, resolved_ms) of the last resolved alert of that identity."""
        self._per_hall: Counter[str] = Counter()
        """Open alerts per hall."""
        self._sheddable: dict[str, deque[Key]] = {}
        """Per hall, keys of alerts opened as ``notice``, oldest first (some closed or
        raised since)."""
        self.shed: Counter[str] = Counter()
        """Per hall, alerts closed unhandled because the hall was at its cap."""
        self._restored: set[Key] = set()
        """Keys of the alerts ``restore`` took from the store (a restart)."""
        self._next_id = 1
        self._next_silence = 1
        self._ended: dict[int, int] = {}
        """silence id → when it ended, to restart escalation clocks from there."""
        self.sink = sink
        self.listeners: list[Listener] = []
        self.escalation: EscalationPolicy | None = None
        """Who a red card escalates to and on what time (duty time); None: every
        ``escalate_after`` of hall time, to nobody named (the bare lifecycle)."""

    # --- bookkeeping ---------------------------------------------------------------------

    def restore(
        self, alerts: list[Alert], silences: list[Silence], next_id: int, next_sid: int
    ) -> None:
        """Load what a store kept: open alerts and live silences (a restart)."""
        for a in sorted(alerts, key=lambda a: a.fired_ms):
            self.open[a.key] = a
            self._restored.add(a.key)
            self._count_open(a)
            self.now[a.hall] = max(self.now.get(a.hall, 0), a.fired_ms)
        for s in silences:
            self.silences[s.id] = s
        self._next_id = max(self._next_id, next_id)
        self._next_silence = max(self._next_silence, next_sid)

    def transient(self) -> bytes:
        """What the store does not keep: open alerts waiting out their hold time (key →
        since when clear) and pending alerts, as msgpack. A state snapshot carries them,
        so a restart from it neither leaves a cleared alert open nor forgets a pending
        one."""
        clearing = [(k, a.clearing_since) for k, a in self.open.items() if a.clearing_since]
        return msgspec.msgpack.encode(_Transient(clearing, list(self.pending.items())))

    def restore_transient(self, data: bytes) -> None:
        """Take back ``transient()`` from a snapshot, over what the store restored.

        Raises:
            CheckpointError: (a ValueError) not what ``transient()`` writes; nothing
                is taken then.
        """
        try:
            saved = _TRANSIENT.decode(data)
        except msgspec.DecodeError as error:
            raise CheckpointError(f"the book's transient part undecodable: {error}") from error
        pending = dict(saved.pending)
        for key, since in saved.clearing:
            alert = self.open.get(key)
            if alert is not None and alert.clearing_since is None and since >= alert.fired_ms:
                alert.clearing_since = since
        for key, alert in pending.items():
            if key not in self.open:
                self.pending.setdefault(key, alert)

    def _emit(self, alert: Alert, what: str, at_ms: int, actor: str = SYSTEM,
              note: str | None = None) -> None:  # fmt: skip
        alert.history.append((at_ms, what))
        change = Change(alert, what, at_ms, actor, note)
        if self.sink is not None:
            self.sink.alert_changed(change)
        for listener in self.listeners:
            listener(change)

    def _see(self, hall: str, at_ms: int) -> None:
        if at_ms > self.now.get(hall, 0):
            self.now[hall] = at_ms

    def _previous(self, key: Key) -> tuple[int, int] | None:
        last = self._last.get(key)
        if last is None and self.sink is not None:
            last = self.sink.last_resolved(key)
        return last

    def _silence_of(self, alert: Alert) -> int | None:
        for s in self.silences.values():
            if s.matches(alert):
                return s.id
        return None

    # --- what rules call -----------------------------------------------------------------

    def fire(
        self,
        rule: str,
        hall: str,
        scope: str,
        severity: str,
        at_ms: int,
        summary: str,
        *,
        for_ms: int = 0,
        hold_ms: int = 0,
        due_ms: int | None = None,
    ) -> Alert | None:
        """The condition holds since ``at_ms``: open the alert, or raise an open one's
        severity (never lowers it). With ``for_ms`` it is pending until the condition has
        held that long (``tick`` promotes it). Returns None when this is history already
        resolved (the condition began no later than the last alert's resolution)."""
        key = (rule, hall, scope)
        self._see(hall, at_ms)
        alert = self.open.get(key)
        if alert is not None and alert.clearing_since is not None:
            ended = alert.clearing_since + alert.hold_ms
            if at_ms >= ended:  # its hold ran out before this: it ended then, this is anew
                self._close(alert, ended, SYSTEM, None, "resolved")
                alert = None
        if alert is not None:
            alert.clearing_since = None
            if _RANK[severity] > _RANK[alert.severity]:
                alert.severity = severity
                alert.raised_ms = at_ms
                alert.summary = summary
                self._emit(alert, f"raised to {severity}", at_ms)
            return alert
        last = self._previous(key)
        if last is not None and at_ms <= last[1]:
            return None
        pending = self.pending.get(key)
        if pending is not None:
            if _RANK[severity] > _RANK[pending.severity]:
                pending.severity, pending.summary = severity, summary
            return pending
        alert = Alert(
            id=0,
            rule=rule,
            hall=hall,
            scope=scope,
            severity=severity,
            fired_ms=at_ms,
            summary=summary,
            previous=last[0] if last else None,
            due_ms=due_ms,
            hold_ms=hold_ms,
            for_ms=for_ms,
        )
        if for_ms > 0:
            alert.state = "pending"
            alert.pending_since = at_ms
            self.pending[key] = alert
            return alert
        self._open(alert, at_ms)
        return alert

    def _open(self, alert: Alert, at_ms: int) -> None:
        alert.id = self._next_id
        self._next_id += 1
        alert.state = "firing"
        alert.fired_ms = at_ms
        alert.silenced_by = self._silence_of(alert)
        self.open[alert.key] = alert
        self._emit(alert, f"fired {alert.severity}", at_ms)
        if self._count_open(alert) > MAX_OPEN_PER_HALL:
            self._shed(alert.hall, at_ms)

    def _count_open(self, alert: Alert) -> int:
        """Count one more open alert of its hall; returns the hall's open alerts."""
        hall = alert.hall
        self._per_hall[hall] += 1
        if alert.severity == "notice":
            keys = self._sheddable.setdefault(hall, deque())
            keys.append(alert.key)
            if len(keys) > 2 * MAX_OPEN_PER_HALL:  # mostly closed since: keep the open
                keys = self._sheddable[hall] = deque(k for k in keys if k in self.open)
        return self._per_hall[hall]

    def _shed(self, hall: str, at_ms: int) -> None:
        """Close the hall's oldest open notice, unhandled (it is at its cap)."""
        keys = self._sheddable.get(hall)
        while keys:
            alert = self.open.get(keys.popleft())
            if alert is not None and alert.severity == "notice":
                note = f"closed unhandled: the hall had over {MAX_OPEN_PER_HALL} open alerts"
                self._close(alert, at_ms, SYSTEM, note, "resolved unhandled")
                self.shed[hall] += 1
                return

    def resolve(self, rule: str, hall: str, scope: str, at_ms: int) -> Alert | None:
        """The condition cleared at ``at_ms``: resolve (or, with a hold time, start
        waiting it out); a pending alert is dropped without a trace."""
        key = (rule, hall, scope)
        self._see(hall, at_ms)
        pending = self.pending.pop(key, None)
        if pending is not None and pending.pending_since is not None:
            if at_ms < pending.pending_since + pending.for_ms:
                return None
            self._open(pending, pending.pending_since + pending.for_ms)  # it did fire
        alert = self.open.get(key)
        if alert is None or (at_ms < alert.fired_ms and key in self._restored):
            return None  # (cleared before it began: the journal replayed after a restart
            # goes over an earlier episode of an alert the store kept open)
        self._timers(alert, at_ms)  # what its timers did before it cleared
        if alert.hold_ms > 0:
            if alert.clearing_since is None:
                alert.clearing_since = at_ms
            if at_ms < alert.clearing_since + alert.hold_ms:
                return None
            at_ms = alert.clearing_since + alert.hold_ms
        return self._close(alert, at_ms, SYSTEM, None, "resolved")

    def _close(self, alert: Alert, at_ms: int, actor: str, note: str | None, what: str) -> Alert:
        del self.open[alert.key]
        self._per_hall[alert.hall] -= 1
        alert.state = "resolved"
        alert.resolved_ms = at_ms
        alert.resolved_by = actor
        alert.resolve_note = note
        alert.clearing_since = None
        self._last[alert.key] = (alert.id, at_ms)
        if len(self._last) > 4 * (self.resolved.maxlen or 1):
            self._last.clear()  # the store (if any) remembers the rest
        self.resolved.append(alert)
        self._emit(alert, what, at_ms, actor, note)
        return alert

    def tick(self, hall: str, now_ms: int) -> None:
        """Run the hall's timers up to ``now_ms`` (``tick_all`` for one hall)."""
        self.tick_all({hall: now_ms})

    def tick_all(self, clocks: Mapping[str, int]) -> None:
        """Run each hall's timers up to its clock: pending → firing, hold times, silences,
        acknowledgement timeouts, escalation of unacknowledged red cards. One pass over
        the open alerts for every hall (a scan per hall cost halls x alerts a publish)."""
        for hall, now_ms in clocks.items():
            self._see(hall, now_ms)
        for key, p in list(self.pending.items()):
            now_ms = clocks.get(p.hall, -1)
            if now_ms >= 0 and p.pending_since is not None:
                start = p.pending_since + p.for_ms
                if now_ms >= start:
                    del self.pending[key]
                    self._open(p, start)
        for sid, s in list(self.silences.items()):
            now_ms = clocks.get(s.hall, -1)
            if now_ms >= 0 and now_ms >= s.until_ms:
                del self.silences[sid]
                s.ended_ms = self._ended[sid] = s.until_ms
                if self.sink is not None:
                    self.sink.silence_changed(s, "expired", SYSTEM, s.until_ms)
        for alert in list(self.open.values()):
            now_ms = clocks.get(alert.hall, -1)
            if now_ms < 0:
                continue
            if alert.clearing_since is not None and now_ms >= alert.clearing_since + alert.hold_ms:
                self._close(alert, alert.clearing_since + alert.hold_ms, SYSTEM, None, "resolved")
                continue
            self._timers(alert, now_ms)

    def _timers(self, alert: Alert, now_ms: int) -> None:
        """One alert's timers up to ``now_ms``: silence, ack timeout, escalation. Each is
        stamped when it fell due, so looking late (or only at resolution) changes nothing."""
        t = self.timing
        silenced = self._silence_of(alert)
        if alert.silenced_by is not None and silenced is None:
            # Out of a silence: the escalation clock starts again when it ended.
            ended = self._ended.get(alert.silenced_by, now_ms)
            alert.escalated_ms = max(alert.escalated_ms or 0, ended)
        alert.silenced_by = silenced
        if alert.state == "acknowledged" and alert.ack_ms is not None:
            lapse = alert.ack_ms + t.ack_timeout_ms
            if now_ms >= lapse:
                alert.state = "firing"
                alert.escalated_ms = lapse  # the escalation clock restarts here
                self._emit(alert, "acknowledgement expired", lapse)
        if alert.state == "firing" and alert.severity == "red" and alert.silenced_by is None:
            self._escalate(alert, now_ms)

    def _escalate(self, alert: Alert, now_ms: int) -> None:
        """Red cards only (督办, seed 001): one level per ``escalate_after`` of duty time,
        each to its role and target (the policy's), stamped when it fell due."""
        t, policy = self.timing, self.escalation
        since = alert.escalated_ms or alert.raised_ms or alert.fired_ms
        top = t.max_level if policy is None else min(t.max_level, policy.max_level)
        if policy is not None and alert.level and alert.escalated_role is None:
            # Restored from the store (which keeps the level): say again to whom.
            alert.escalated_role, alert.escalated_target = policy.step(alert, alert.level)
        while alert.level < top:
            if policy is None:
                due: int | None = since + t.escalate_after_ms
            else:
                due = policy.due_ms(since, t.escalate_after_ms)
            if due is None or now_ms < due:
                return
            since = due
            alert.level += 1
            alert.escalated_ms = due
            note = None
            if policy is not None:
                role, target = policy.step(alert, alert.level)
                alert.escalated_role, alert.escalated_target = role, target
                note = f"{role}: {target}"
            self._emit(alert, f"escalated to level {alert.level}", due, note=note)

    # --- what people do ------------------------------------------------------------------

    def find(self, alert_id: int) -> Alert:
        for a in self.open.values():
            if a.id == alert_id:
                return a
        raise ActionError(f"no open alert #{alert_id}")

    def acknowledge(self, alert_id: int, who: str, note: str = "") -> Alert:
        """A person takes the alert (who, when on the hall clock, a note)."""
        if not who:
            raise ActionError("an acknowledgement needs the operator's identity")
        alert = self.find(alert_id)
        at = self.now.get(alert.hall, alert.fired_ms)
        alert.state = "acknowledged"
        alert.ack_by, alert.ack_ms, alert.ack_note = who, at, note or None
        self._emit(alert, "acknowledged", at, who, note or None)
        return alert

    def resolve_by_hand(self, alert_id: int, who: str, note: str) -> Alert:
        """A person settles the alert; the note (what was done) is required."""
        if not who:
            raise ActionError("a resolution needs the operator's identity")
        if not note.strip():
            raise ActionError("a resolution by hand needs a note saying what was done")
        alert = self.find(alert_id)
        at = self.now.get(alert.hall, alert.fired_ms)
        return self._close(alert, at, who, note.strip(), "resolved by hand")

    def add_silence(
        self,
        hall: str,
        who: str,
        why: str,
        until_ms: int,
        rule: str | None = None,
        scope_prefix: str = "",
    ) -> Silence:
        """Silence matching alerts of ``hall`` until ``until_ms`` (hall time)."""
        now = self.now.get(hall, 0)
        if not who or not why.strip():
            raise ActionError("a silence needs who and why")
        if until_ms <= now:
            raise ActionError("a silence must end after the hall's current time")
        s = Silence(self._next_silence, hall, rule, scope_prefix, who, why.strip(), now, until_ms)
        self._next_silence += 1
        self.silences[s.id] = s
        if self.sink is not None:
            self.sink.silence_changed(s, "created", who, now)
        for a in self.open.values():
            if s.matches(a):
                a.silenced_by = a.silenced_by or s.id
        return s

    def end_silence(self, silence_id: int, who: str) -> Silence:
        s = self.silences.pop(silence_id, None)
        if s is None:
            raise ActionError(f"no active silence #{silence_id}")
        s.ended_ms = self._ended[s.id] = self.now.get(s.hall, s.created_ms)
        if self.sink is not None:
            self.sink.silence_changed(s, "ended", who, s.ended_ms)
        return s  # the next tick takes the alerts out of it (and restarts escalation)

    # --- reading -------------------------------------------------------------------------

    def active(self) -> list[Alert]:
        """Open alerts: red cards, urgent warnings, yellow cards, notices; oldest first."""
        return sorted(self.open.values(), key=lambda a: (DISPLAY_RANK[a.severity], a.fired_ms,
                                                         a.id))  # fmt: skip

    def counts(self) -> Counter[tuple[str, str, str]]:
        """(hall, rule, severity) → open alerts (silenced ones included)."""
        return Counter((a.hall, a.rule, a.severity) for a in self.open.values())
