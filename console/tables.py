"""The console's table screens: city, windows, queue, alerts, backlog, cases, complaints,
feeds.

Each is a ``ViewTable``: it turns the published ``View`` (and the hall shown) into keyed
rows, and its ``KeyedTable`` draws again only the rows that changed. Every table can be
filtered (``/``: rows with the text in any cell) and sorted (``s`` cycles the column,
``S`` reverses), so the same three keys work on every screen.

Imports: textual, rich, metrics.snapshot, runtime.view, console.*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text

from alerts.model import DISPLAY_RANK
from alerts.topics import topic_name, topic_of
from console.colours import tinted
from console.text import Words, clock, duration, newest_clock, when
from console.widgets import (
    SEVERITY_STYLE,
    STATE_STYLE,
    Row,
    ViewTable,
    escalation_cell,
    long_text,
    severity_cell,
    state_cell,
    topic_counts,
)
from feeds.source import runs_ahead
from metrics.snapshot import HallSnapshot
from runtime.view import (
    BACKLOG_ORDER,
    AlertCounts,
    AlertView,
    View,
    alert_counts,
    backlog_order,
    live_order,
    split_live,
)


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
        "urgent",
        "notice",
        "backlog",
        "hall_clock",
        "feed",
        "lag",
    )

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        # Which feed carries each hall (from its hello), and how long since it last spoke.
        carriers = {h: f for f in view.city.feeds for h in f.halls}
        counts = alert_counts(view)
        none = AlertCounts()
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
            # Live alerts by severity (a live card would count with its warning's
            # urgency), the backlog as one count: its kinds are on the backlog screen.
            mine = counts.get(name, none)
            urgent = mine.live["urgent"] + mine.live["red"]
            notice = mine.live["notice"] + mine.live["yellow"]
            backlog = mine.backlog
            cells: list[str | Text] = [
                words.hall(name),
                str(h.waiting),
                duration(h.longest_wait_s) if h.waiting else "–",
                str(h.served_today),
                duration(h.mean_wait_s),
                f"{h.windows_open}/{h.windows_total}",
                Text(str(urgent), "bold red") if urgent else "0",
                Text(str(notice), "yellow") if notice else "0",
                str(backlog),
                clock(h.now_ms),
                feed_cell,
                lag,
            ]
            sort = (name, h.waiting, h.longest_wait_s, h.served_today,
                    _none_last(h.mean_wait_s), h.windows_open, urgent, notice, backlog,
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
                zones = [words.zone(hall.hall, z) for z in w.zones]
                more = f" +{len(zones) - 2}" if len(zones) > 2 else ""  # a column, not a list
                name.append(" " + "/".join(zones[:2]) + more, "dim")
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
            else:  # tinted as it nears the zone's limit, before a warning fires
                wait = tinted(wait, wait_s, limits.get(q.zone, 1800.0))
            cells: list[str | Text] = [
                q.ticket,
                words.zone(hall.hall, q.zone),
                Text(words["priority"], "bold magenta") if q.priority else "",
                clock(q.issued_ms),
                wait,
            ]
            yield q.ticket, cells, (q.ticket, q.zone, not q.priority, q.issued_ms, -wait_s)


def split_city(view: View) -> tuple[list[AlertView], list[AlertView]]:
    """(live, backlog) of every hall's open alerts, each hall on its own clock, in the
    order they are listed (``runtime.view.live_order``, ``backlog_order``)."""
    by_hall: dict[str, list[AlertView]] = {}
    for a in view.alerts:
        by_hall.setdefault(a.hall, []).append(a)
    newest = newest_clock(view)
    live: list[AlertView] = []
    backlog: list[AlertView] = []
    for name, mine in by_hall.items():
        hall = view.city.halls.get(name)
        now, then = split_live(mine, hall.now_ms if hall is not None else newest)
        live += now
        backlog += then
    return sorted(live, key=live_order), sorted(backlog, key=backlog_order)


def silence_ends(view: View) -> dict[int, int]:
    """Silence id → when it ends (hall ms), for the marks on silenced rows."""
    return {s.id: s.until_ms for s in view.silences}


class AlertsTable(ViewTable):
    """Every hall's open alerts, the live ones first (gravest, then newest first), then
    the backlog (by kind, oldest first), then the most recently resolved; silenced rows
    marked, at the end of their part."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "severity", "kind", "level", "state", "rule", "hall", "since", "what",
    )  # fmt: skip
    FIT = True
    DROP = ("kind", "level", "rule", "state")  # (the rule is in the text; a silenced
    # row's severity is struck through)

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        today = newest_clock(view)
        until = silence_ends(view)
        live, backlog = split_city(view)
        for kind, alerts in (("live", live), ("backlog", backlog), ("resolved", view.resolved)):
            for a in alerts:
                quiet = a.state == "resolved" or a.silenced_by is not None
                cells: list[str | Text] = [
                    severity_cell(a, words),
                    Text(words[kind], "dim" if kind != "live" else "bold"),
                    escalation_cell(a, words),
                    state_cell(a, words, until),
                    words[a.rule],
                    words.hall(a.hall),
                    when(a.raised_ms or a.fired_ms, today),
                    long_text(words.alert(a), quiet),
                ]
                rank = DISPLAY_RANK.get(a.severity, 4)
                yield str(a.id), cells, (rank, kind, -a.level, a.state, a.rule, a.hall,
                                         a.raised_ms or a.fired_ms, a.summary)  # fmt: skip


class BacklogTable(ViewTable):
    """The hall's backlog (``alerts.topics``): the back office's cards and follow-ups —
    case cards, rectification notes for bad ratings, second trips, scalping, complaints
    of earlier days — by kind, the gravest and oldest first; counted by kind on the top
    edge (silenced ones marked and left out of the counts)."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "kind", "severity", "level", "state", "since", "due", "what",
    )  # fmt: skip
    FIT = True
    DROP = ("due", "level", "state")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counts: dict[str, int] = {}
        self._silenced = 0

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        self._counts, self._silenced = {}, 0
        if hall is None:
            return
        until = silence_ends(view)
        _, backlog = split_live((a for a in view.alerts if a.hall == hall.hall), hall.now_ms)
        for a in sorted(backlog, key=backlog_order):
            topic = topic_of(a.rule)
            if a.silenced_by is None:
                self._counts[topic] = self._counts.get(topic, 0) + 1
            else:
                self._silenced += 1
            cells: list[str | Text] = [
                topic_name(topic, words.lang),
                severity_cell(a, words),
                escalation_cell(a, words),
                state_cell(a, words, until),
                when(a.fired_ms, hall.now_ms),
                _due(a.due_ms) if a.due_ms else "",
                long_text(words.alert(a), a.silenced_by is not None),
            ]
            yield str(a.id), cells, (BACKLOG_ORDER.index(topic) if topic in BACKLOG_ORDER else 9,
                                     DISPLAY_RANK.get(a.severity, 4), -a.level, a.state,
                                     a.fired_ms, a.due_ms or 0, a.summary)  # fmt: skip

    def heading(self, view: View, hall: HallSnapshot | None, words: Words) -> str | None:
        total = sum(self._counts.values())
        head = f"{words['backlog']} {words.hall(hall.hall) if hall else ''} {total}"
        topics = topic_counts(self._counts, BACKLOG_ORDER, words)
        if topics:
            head += f": {topics}"
        if self._silenced:
            head += f"  ({words['silenced_n']} {self._silenced})"
        return head


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
                words.item(hall.hall, c.item),
                words.dept(c.dept),
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
                words.channel(c.channel),
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
            delivery = f.live_lag_s  # none from a demo or replay running ahead
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
                _delivery_lag(delivery, f.pace),
                f.last_error or "",
            ]
            total_rejected = sum(n for _, n in f.rejected)
            yield f.name, cells, (f.name, f.connected, f.halls, f.last_seq, f.events_total,
                                  total_rejected, f.gaps_total, f.connects, f.seq_restarts,
                                  _none_last(delivery), f.last_error or "")  # fmt: skip


def _delivery_lag(seconds: float | None, pace: float | None = None) -> str | Text:
    """``0.3s`` under a minute (``-2.0s`` for a hall clock ahead), then ``4:05``/``1h05``;
    yellow from 30 s either way (a late feed, a wrong hall clock). A feed whose hall clock
    runs faster than real time (the demo, a replay: ``FeedSnapshot.live_lag_s``) shows its
    pace instead, dimmed: ``×60``."""
    if runs_ahead(pace) and pace is not None:
        return Text(f"×{pace:.0f}" if pace >= 10 else f"×{pace:.1f}", "dim")
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
    "backlog": BacklogTable,
    "cases": CasesTable,
    "complaints": ComplaintsTable,
    "feeds": FeedsTable,
}
"""Screen name → table, in the order of the screen keys."""
