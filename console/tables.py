"""The console's table screens: city, windows, queue, alerts, cases, complaints, feeds.

Each is a ``ViewTable``: it turns the published ``View`` (and the hall shown) into keyed
rows and lets ``sync_rows`` touch only the cells that changed. Every table can be
filtered (``/``: rows with the text in any cell) and sorted (``s`` cycles the column,
``S`` reverses), so the same three keys work on every screen.

Imports: textual, rich, metrics.snapshot, runtime.view, console.*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text

from alerts.model import DISPLAY_RANK
from console.text import Words, clock, duration, newest_clock, summary, when
from console.widgets import (
    SEVERITY_STYLE,
    STATE_STYLE,
    Row,
    ViewTable,
    card_counts,
    escalation_cell,
)
from metrics.snapshot import HallSnapshot
from runtime.view import View


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def _none_last(x: Any) -> tuple[bool, Any]:
    return (x is None, x if x is not None else 0)


class CityTable(ViewTable):
    """Every hall on one row; Enter opens the hall's overview."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "hall",
        "waiting",
        "longest",
        "served",
        "mean_wait",
        "windows_open",
        "red",
        "yellow",
        "urgent",
        "notice",
        "hall_clock",
        "feed",
        "lag",
    )

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        # Which feed carries each hall (from its hello), and how long since it last spoke.
        carriers = {h: f for f in view.city.feeds for h in f.halls}
        counts = card_counts(view)
        for name, h in view.city.halls.items():
            feed = carriers.get(name) or (view.city.feeds[0] if len(view.city.feeds) == 1 else None)
            lag_s = None
            if feed is not None and feed.last_event_wall is not None:
                lag_s = max(0.0, view.published_wall - feed.last_event_wall)
            feed_cell: str | Text = "–"
            if feed is not None:
                feed_cell = Text(
                    f"{'●' if feed.connected else '○'} {feed.name}",
                    "green" if feed.connected else "bold red",
                )
            lag: str | Text = "–" if lag_s is None else f"{lag_s:.0f}s"
            if lag_s is not None and lag_s > 30:
                lag = Text(str(lag), "bold red")
            mine = counts.get(name, {})
            red, yellow = mine.get("red", 0), mine.get("yellow", 0)
            urgent, notice = mine.get("urgent", 0), mine.get("notice", 0)
            cells: list[str | Text] = [
                name,
                str(h.waiting),
                duration(h.longest_wait_s) if h.waiting else "–",
                str(h.served_today),
                duration(h.mean_wait_s),
                f"{h.windows_open}/{h.windows_total}",
                Text(str(red), "bold red") if red else "0",
                Text(str(yellow), "bold yellow") if yellow else "0",
                Text(str(urgent), "bold red") if urgent else "0",
                str(notice),
                clock(h.now_ms),
                feed_cell,
                lag,
            ]
            sort = (name, h.waiting, h.longest_wait_s, h.served_today,
                    _none_last(h.mean_wait_s), h.windows_open, red, yellow, urgent, notice,
                    h.now_ms,
                    str(feed_cell), _none_last(lag_s))  # fmt: skip
            yield name, cells, sort


class WindowsTable(ViewTable):
    """The hall's windows: state and time in it, staff, throughput, service times."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "window",
        "state",
        "in_state",
        "staff",
        "ticket",
        "last_hour",
        "today",
        "mean_service",
        "p90_service",
        "utilization",
        "idle_waiting",
        "rating",
        "bad",
    )

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        if hall is None:
            return
        now = hall.now_ms
        # Natural order (W2 before W10), not the order the feed first named them in.
        for w in sorted(hall.windows, key=lambda w: (len(w.name), w.name)):
            ticket: str | Text = "–"
            if w.ticket is not None:
                elapsed = duration((now - w.ticket_since_ms) / 1000)
                ticket = Text(f"{w.ticket} {elapsed}", "green" if w.serving else "cyan")
            bad = w.bad_ratings_today
            name = Text(w.name)
            if w.zones:  # the zones it served today: which queue the window works for
                name.append(" " + "/".join(w.zones), "dim")
            cells: list[str | Text] = [
                name,
                Text(words[w.state], STATE_STYLE.get(w.state, "")),
                duration((now - w.state_since_ms) / 1000) if w.state_since_ms else "–",
                w.staff or "–",
                ticket,
                str(w.services_last_hour),
                str(w.services_today),
                duration(w.mean_service_s),
                duration(w.p90_service_s),
                _pct(w.utilization),
                duration(w.idle_waiting_s) if w.idle_waiting_s else "–",
                _num(w.rating_mean, "{:.2f}"),
                Text(str(bad), "bold red") if bad else "0",
            ]
            sort = (
                (len(w.name), w.name),
                w.state,
                now - w.state_since_ms,
                w.staff or "",
                w.ticket or "",
                w.services_last_hour,
                w.services_today,
                _none_last(w.mean_service_s),
                _none_last(w.p90_service_s),
                _none_last(w.utilization),
                w.idle_waiting_s,
                _none_last(w.rating_mean),
                bad,
            )
            yield w.name, cells, sort


class QueueTable(ViewTable):
    """Waiting tickets, priority lane first, then longest waiting; overtime coloured."""

    COLUMNS: ClassVar[tuple[str, ...]] = ("ticket", "zone", "priority", "issued_at", "wait")

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        if hall is None:
            return
        limits = {z.name: z.wait_limit_s for z in hall.zones}
        cards = {
            a.scope.split("/", 1)[1]: a.severity
            for a in view.alerts
            if a.hall == hall.hall and a.rule == "wait_overtime" and "/" in a.scope
        }
        for q in hall.queue:
            wait_s = (hall.now_ms - q.queued_ms) / 1000
            card = cards.get(q.ticket)
            wait: str | Text = duration(wait_s)
            if card is not None:
                wait = Text(f" {wait} ", SEVERITY_STYLE[card])
            elif wait_s >= limits.get(q.zone, 1800.0):
                wait = Text(str(wait), "bold red")
            cells: list[str | Text] = [
                q.ticket,
                q.zone,
                Text(words["priority"], "bold magenta") if q.priority else "",
                clock(q.issued_ms),
                wait,
            ]
            yield q.ticket, cells, (q.ticket, q.zone, not q.priority, q.issued_ms, -wait_s)


class AlertsTable(ViewTable):
    """Firing alerts (red cards, urgent warnings, yellow cards, notices) and the most
    recently resolved, of every hall."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "severity", "level", "state", "rule", "hall", "since", "what",
    )  # fmt: skip

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        today = newest_clock(view)
        for a in (*view.alerts, *view.resolved):
            firing = a.state != "resolved"
            text = summary(a.summary, words.lang)
            card = Text(f" {words[a.severity]} ", SEVERITY_STYLE.get(a.severity, ""))
            cells: list[str | Text] = [
                card if firing else Text(words[a.severity], "dim"),
                escalation_cell(a, words),
                words[a.state],
                words[a.rule],
                a.hall,
                when(a.fired_ms, today),
                text if firing else Text(text, "dim"),
            ]
            rank = DISPLAY_RANK.get(a.severity, 4)
            yield str(a.id), cells, (rank, -a.level, not firing, a.rule, a.hall, a.fired_ms,
                                     a.summary)  # fmt: skip


class CasesTable(ViewTable):
    """Open back-office cases: deadline and card on working days; paused ones marked."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "case",
        "item",
        "dept",
        "promised",
        "accepted_at",
        "deadline",
        "card",
    )

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        if hall is None:
            return
        for c in hall.cases:
            card: str | Text = "–"
            if c.card in SEVERITY_STYLE:
                card = Text(f" {words[c.card]} ", SEVERITY_STYLE[c.card])
            accepted = _day(c.accepted_ms) + (f" ({words['deemed']})" if c.deemed else "")
            deadline = _due(c.deadline_ms)
            if c.paused:  # the listed procedure that stops the clock, or a reason that does not
                why = c.procedure or f"{c.pause_reason or ''} ({words['clock_runs']})"
                deadline += f" {words['paused']} {why}"
            cells: list[str | Text] = [
                c.case,
                c.item,
                c.dept,
                str(c.promised_days),
                accepted,
                deadline,
                card,
            ]
            rank = {"red": 0, "yellow": 1}.get(c.card, 2)
            yield c.case, cells, (c.case, c.item, c.dept, c.promised_days, c.accepted_ms,
                                  c.deadline_ms, rank)  # fmt: skip


def _day(ts_ms: int) -> str:
    from feeds.hallclock import local_datetime

    return local_datetime(ts_ms).strftime("%m-%d %H:%M")


def _due(ts_ms: int) -> str:
    """A deadline: the end of a working day reads as that day's ``24:00``, not as the
    next day's ``00:00`` (a deadline falls at the end of a working day)."""
    from feeds.hallclock import local_datetime

    at = local_datetime(ts_ms)
    if at.hour == 0 and at.minute == 0:
        return local_datetime(ts_ms - 1).strftime("%m-%d") + " 24:00"
    return at.strftime("%m-%d %H:%M")


class ComplaintsTable(ViewTable):
    """The complaint ledger (投诉台账): open complaints with their age, oldest first, then
    the bad ratings (差评) still waiting for their rectification note, with its due day."""

    COLUMNS: ClassVar[tuple[str, ...]] = ("complaint", "channel", "window", "received", "age")

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        if hall is None:
            return
        for c in hall.complaints:
            age = (hall.now_ms - c.received_ms) / 1000
            cells: list[str | Text] = [
                c.complaint,
                c.channel,
                c.window or "–",
                when(c.received_ms, hall.now_ms),
                Text(duration(age), "bold red" if age > 4 * 3600 else ""),
            ]
            yield c.complaint, cells, (c.complaint, c.channel, c.window or "", c.received_ms, -age)
        for a in view.alerts:
            if a.hall != hall.hall or a.rule != "bad_rating":
                continue
            age = (hall.now_ms - a.fired_ms) / 1000
            due = f" · {words['due']} {_due(a.due_ms)}" if a.due_ms else ""
            style = SEVERITY_STYLE.get(a.severity, "")
            cells = [
                Text(f"{words['bad_rating']} #{a.id}", style),
                words["rating_channel"],
                a.scope.split("/", 1)[0],
                when(a.fired_ms, hall.now_ms),
                Text(duration(age) + due, style),
            ]
            yield f"rating-{a.id}", cells, (f"~{a.id}", "~", a.scope, a.fired_ms, -age)


class FeedsTable(ViewTable):
    """Every feed: connection, seq, events, rejections by reason, gaps, last error."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "feed",
        "state",
        "halls",
        "last_seq",
        "events",
        "rejected",
        "gaps",
        "connects",
        "seq_restarts",
        "delivery_lag",
        "last_error",
    )

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        for f in view.city.feeds:
            # Wall time at receipt minus the newest event's ts (hall_feed_lag_seconds).
            delivery = f.delivery_lag_s
            rejected = ", ".join(f"{reason} {n}" for reason, n in f.rejected) or "0"
            state = Text(
                words["connected"] if f.connected else words["disconnected"],
                "green" if f.connected else "bold red",
            )
            cells: list[str | Text] = [
                f.name,
                state,
                " ".join(f.halls),
                str(f.last_seq),
                str(f.events_total),
                Text(rejected, "yellow") if f.rejected else rejected,
                Text(str(f.gaps_total), "yellow") if f.gaps_total else "0",
                str(f.connects),
                Text(str(f.seq_restarts), "yellow") if f.seq_restarts else "0",
                _delivery_lag(delivery),
                f.last_error or "",
            ]
            total_rejected = sum(n for _, n in f.rejected)
            yield f.name, cells, (f.name, f.connected, f.halls, f.last_seq, f.events_total,
                                  total_rejected, f.gaps_total, f.connects, f.seq_restarts,
                                  _none_last(delivery), f.last_error or "")  # fmt: skip


def _delivery_lag(seconds: float | None) -> str | Text:
    """``0.3s`` under a minute (``-2.0s`` for a hall clock ahead), then ``4:05``/``1h05``;
    yellow from 30 s either way (a late feed, a wrong hall clock, or a replay)."""
    if seconds is None:
        return "–"
    if abs(seconds) < 60:
        shown = f"{seconds:.1f}s"
    else:
        shown = ("-" if seconds < 0 else "") + duration(abs(seconds))
    return Text(shown, "yellow") if abs(seconds) >= 30 else shown


TABLE_SCREENS: dict[str, type[ViewTable]] = {
    "city": CityTable,
    "windows": WindowsTable,
    "queue": QueueTable,
    "alerts": AlertsTable,
    "cases": CasesTable,
    "complaints": ComplaintsTable,
    "feeds": FeedsTable,
}
"""Screen name → table, in the order of the screen keys."""
