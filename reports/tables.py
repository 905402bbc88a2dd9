"""The report's tables: rows per hall, zone, window and staff, the alerts, the window
evaluation (窗口测评).

Every figure is a ``HallSnapshot`` field (docs/figures.md), a count of alerts, or (the
rating coverage, the evaluation's counts) a snapshot count less the repeated ratings the
gathering counted (``DayData.repeat_ratings``). One day
shows the day's figures as they are; several days add them up: counts are summed, means
are weighted by the count they are the mean of, shares (service level, utilization, 好评率)
are recombined from their parts, and a percentile, which cannot be added up, is shown as
the worst day's (docs/reports.md).

Imports: reports.gather (DayData), metrics.snapshot, metrics.figures (wilson_lower),
metrics.calibration, alerts.model, feeds.hallclock, stdlib.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from alerts.model import Alert, kind_of, rectified
from feeds.hallclock import local_datetime, service_day
from metrics.calibration import HallCalibration
from metrics.figures import wilson_lower
from metrics.snapshot import HallSnapshot
from reports.gather import DayData

Cell = str | int | float | None
OUTCOMES: Final = ("done", "to_backend", "incomplete", "rejected", "transferred")
#: Rules whose scope starts with a window / with a zone.
WINDOW_RULES: Final = frozenset(("service_overtime", "long_pause", "idle_window", "bad_rating"))
ZONE_RULES: Final = frozenset(("wait_overtime", "unattended_zone"))
#: The window evaluation ranks windows with at least this many ratings (our default: the
#: documents give none; ``report --min-ratings`` sets it).
MIN_RATINGS: Final = 30


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the report: a machine name (the CSV file), a title, columns, rows."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[list[Cell]]


def _sum(values: Iterable[float | int]) -> float:
    return float(sum(values))


def _wmean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean of means weighted by their counts (None when nothing counts)."""
    num = den = 0.0
    for value, weight in pairs:
        if value is not None and weight > 0:
            num, den = num + value * weight, den + weight
    return num / den if den else None


def _worst(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return max(got) if got else None


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def hm(ms: int | None) -> str:
    """Hall-local ``MM-DD HH:MM`` of a hall timestamp ('' for None)."""
    return "" if ms is None else local_datetime(ms).strftime("%m-%d %H:%M")


def _mins(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


@dataclass(slots=True)
class _Alerts:
    """The period's alerts, indexed for the tables."""

    all: list[Alert]
    complaint_windows: dict[tuple[str, str], str]
    complaint_answers: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(hall, complaint) -> its first ``complaint_answered`` (ms) in the period."""

    def where(self, pred: Callable[[Alert], bool]) -> list[Alert]:
        return [a for a in self.all if pred(a)]

    def cards(self, alerts: Sequence[Alert]) -> tuple[int, int]:
        return cards_of(alerts)

    def warnings(self, alerts: Sequence[Alert]) -> tuple[int, int]:
        return warnings_of(alerts)

    def of_window(self, hall: str, window: str) -> list[Alert]:
        return self.where(
            lambda a: a.hall == hall and a.rule in WINDOW_RULES and a.scope.split("/")[0] == window
        )

    def complaints_of_window(self, hall: str, window: str) -> int:
        return sum(
            1
            for a in self.all
            if a.rule == "complaint" and self.complaint_windows.get((hall, a.scope)) == window
        )


def _count(alerts: Iterable[Alert], severity: str) -> int:
    return sum(1 for a in alerts if a.severity == severity)


def cards_of(alerts: Sequence[Alert]) -> tuple[int, int]:
    """(yellow cards, red cards) among ``alerts``, each by its severity at the end."""
    return _count(alerts, "yellow"), _count(alerts, "red")


def warnings_of(alerts: Sequence[Alert]) -> tuple[int, int]:
    """(warnings, of which urgent) among ``alerts`` (预警: every alert that is no card)."""
    mine = [a for a in alerts if kind_of(a.severity) == "warning"]
    return len(mine), _count(mine, "urgent")


def build(
    days: Sequence[DayData], names: Callable[[str], str] = str, min_ratings: int = MIN_RATINGS
) -> list[Table]:
    """Every table of the report for ``days`` (one day, or the days of a month or a
    quarter); ``names`` gives a person's roster name (who rectified a bad rating);
    ``min_ratings``: the window evaluation ranks windows with at least this many."""
    several = len(days) > 1
    per_hall: dict[str, list[HallSnapshot]] = {}
    for d in days:
        for name, snap in d.snapshots.items():
            per_hall.setdefault(name, []).append(snap)
    windows: dict[tuple[str, str], str] = {}
    for d in days:
        windows.update(d.complaint_windows)
    answers: dict[tuple[str, str], int] = {}
    for d in days:
        for key, at in d.complaint_answers.items():
            answers[key] = min(at, answers.get(key, at))
    # Each day holds the alerts that fired that day, so no alert is in two days.
    alerts = _Alerts([a for d in days for a in d.alerts], windows, answers)
    repeats: dict[tuple[str, str], tuple[int, int]] = {}
    for d in days:
        for window, (n, bad) in d.repeat_ratings.items():
            was = repeats.get(window, (0, 0))
            repeats[window] = (was[0] + n, was[1] + bad)
    p90 = "worst day p90 wait min" if several else "p90 wait min"
    tables = [
        _halls(per_hall, alerts, p90, repeats),
        _zones(per_hall, alerts, p90),
        calibration(days),
        _windows(per_hall, alerts, several),
        _staff(per_hall, several),
        ranking(per_hall, alerts, repeats, min_ratings),
        _cards(alerts),
        _bad_ratings(alerts, names),
        _complaints(alerts),
        _second_trips(alerts),
    ]
    if several:
        tables.insert(0, _days(days))
    return tables


def _days(days: Sequence[DayData]) -> Table:
    rows: list[list[Cell]] = []
    for d in days:
        for name, s in sorted(d.snapshots.items()):
            ratings = sum(w.ratings_today for w in s.windows)
            bad = sum(w.bad_ratings_today for w in s.windows)
            here = [a for a in d.alerts if a.hall == name]
            complaints = sum(1 for a in here if a.rule == "complaint")
            rows.append([d.day.isoformat(), name, s.issued_today, s.served_today,
                         _mins(s.day_waits.mean_s), _mins(s.day_waits.p90_s),
                         s.day_waits.service_level, ratings, _share(ratings - bad, ratings), bad,
                         complaints, *cards_of(here), *warnings_of(here),
                         d.alert_sources.get(name, "")])  # fmt: skip
    cols = ("day", "hall", "issued", "served", "mean wait min", "p90 wait min", "service level",
            "ratings", "good rate", "bad ratings", "complaints", "yellow cards", "red cards",
            "warnings", "urgent warnings", "alerts from")  # fmt: skip
    return Table("days", "Day by day", cols, rows)


def _halls(
    per_hall: dict[str, list[HallSnapshot]],
    al: _Alerts,
    p90: str,
    repeats: Mapping[tuple[str, str], tuple[int, int]],
) -> Table:
    rows: list[list[Cell]] = []
    for name, snaps in sorted(per_hall.items()):
        zones = [z for s in snaps for z in s.zones]
        wins = [w for s in snaps for w in s.windows]
        ratings = sum(w.ratings_today for w in wins)
        bad = sum(w.bad_ratings_today for w in wins)
        here = [a for a in al.all if a.hall == name]
        yellow, red = al.cards(here)
        warnings, urgent = al.warnings(here)
        served = sum(s.served_today for s in snaps)
        rated = ratings - sum(n for (hall, _w), (n, _b) in repeats.items() if hall == name)
        rows.append([
            name, len(snaps), sum(s.issued_today for s in snaps), served,
            sum(z.abandoned_today for z in zones),
            sum(s.day_waits.count for s in snaps),
            _mins(_wmean((s.day_waits.mean_s, s.day_waits.count) for s in snaps)),
            _mins(_worst(s.day_waits.p90_s for s in snaps)),
            _wmean((s.day_waits.service_level, s.day_waits.count) for s in snaps),
            ratings, _share(ratings - bad, ratings), bad,
            sum(1 for a in here if a.rule == "bad_rating" and rectified(a)),
            _share(rated, served), sum(1 for a in here if a.rule == "complaint"),
            sum(1 for a in here if a.rule == "complaint_overdue"),
            yellow, red, warnings, urgent, sum(1 for a in here if a.rule == "second_trip"),
        ])  # fmt: skip
    cols = ("hall", "days", "issued", "served", "abandoned", "waits", "mean wait min", p90,
            "service level", "ratings", "good rate", "bad ratings", "bad rectified",
            "rating coverage", "complaints", "complaints overdue", "yellow cards", "red cards",
            "warnings", "urgent warnings", "second trips")  # fmt: skip
    return Table("halls", "Halls", cols, rows)


def _zones(per_hall: dict[str, list[HallSnapshot]], al: _Alerts, p90: str) -> Table:
    rows: list[list[Cell]] = []
    for hall, snaps in sorted(per_hall.items()):
        names = sorted({z.name for s in snaps for z in s.zones})
        for zone in names:
            zs = [z for s in snaps for z in s.zones if z.name == zone]
            here = [
                a
                for a in al.all
                if a.hall == hall and a.rule in ZONE_RULES and a.scope.split("/")[0] == zone
            ]
            warnings, urgent = al.warnings(here)
            rows.append([
                hall, zone, sum(z.issued_today for z in zs), sum(z.served_today for z in zs),
                sum(z.no_show_today for z in zs), sum(z.left_today for z in zs),
                sum(z.expired_today for z in zs), sum(z.day.count for z in zs),
                _mins(_wmean((z.day.mean_s, z.day.count) for z in zs)),
                _mins(_worst(z.day.p90_s for z in zs)),
                _wmean((z.day.service_level, z.day.count) for z in zs),
                _mins(zs[-1].wait_limit_s),
                _mins(_wmean((z.mean_service_s, z.served_today) for z in zs)),
                warnings, urgent,
            ])  # fmt: skip
    cols = ("hall", "zone", "issued", "served", "no-show", "left", "expired", "waits",
            "mean wait min", p90, "service level", "wait limit min", "mean service min",
            "warnings", "urgent warnings")  # fmt: skip
    return Table("zones", "Zones", cols, rows)


def calibration(days: Sequence[DayData]) -> Table:
    """Per hall, its zones then the hall: the expected wait at each ticket's issue against
    its realized wait, beside the last hour's mean wait (``metrics.calibration``); days
    add up ticket by ticket."""
    per_hall: dict[str, HallCalibration] = {}
    for d in days:
        for hall, cal in d.calibration.items():
            was = per_hall.get(hall)
            if was is None:
                per_hall[hall] = cal
                continue
            zones = dict(was.zones)
            for zone, c in cal.zones.items():
                zones[zone] = zones[zone].plus(c) if zone in zones else c
            per_hall[hall] = HallCalibration(zones, was.hall.plus(cal.hall))
    rows: list[list[Cell]] = []
    for hall, cal in sorted(per_hall.items()):
        for zone, c in [*sorted(cal.zones.items()), ("", cal.hall)]:
            f, b = c.forecast, c.baseline
            beats = c.beats_baseline
            rows.append([
                hall, zone, c.issued, c.called, c.not_called, c.no_forecast, c.no_baseline,
                f.tickets, _mins(f.bias_s), _mins(f.mae_s), f.within_share,
                _mins(b.bias_s), _mins(b.mae_s), b.within_share,
                None if beats is None else "yes" if beats else "no",
            ])  # fmt: skip
    cols = ("hall", "zone", "tickets", "called", "not called", "no forecast", "no baseline",
            "compared", "expected bias min", "expected MAE min", "expected within 5 min rate",
            "last hour bias min", "last hour MAE min", "last hour within 5 min rate",
            "beats last hour")  # fmt: skip
    return Table("calibration", "Expected wait: forecast at issue against the wait", cols, rows)


def _windows(per_hall: dict[str, list[HallSnapshot]], al: _Alerts, several: bool) -> Table:
    rows: list[list[Cell]] = []
    for hall, snaps in sorted(per_hall.items()):
        for window in sorted({w.name for s in snaps for w in s.windows}):
            ws = [w for s in snaps for w in s.windows if w.name == window]
            ratings = sum(w.ratings_today for w in ws)
            bad = sum(w.bad_ratings_today for w in ws)
            here = al.of_window(hall, window)
            warnings, urgent = al.warnings(here)
            open_s = _sum(w.open_s for w in ws)
            rows.append([
                hall, window, sum(w.services_today for w in ws),
                *(sum(w.outcomes.get(o, 0) for w in ws) for o in OUTCOMES),
                _mins(_wmean((w.mean_service_s, w.services_today) for w in ws)),
                _mins(_worst(w.p90_service_s for w in ws)),
                open_s / 3600, _share(_sum(w.serving_s for w in ws), open_s),
                _sum(w.idle_waiting_s for w in ws) / 60,
                _wmean((w.walk_mean_s, w.walks) for w in ws),
                ratings, _wmean((w.rating_mean, w.ratings_today) for w in ws),
                _share(ratings - bad, ratings), bad,
                sum(1 for a in here if a.rule == "bad_rating" and rectified(a)),
                al.complaints_of_window(hall, window), warnings, urgent,
            ])  # fmt: skip
    p90 = "worst day p90 service min" if several else "p90 service min"
    cols = ("hall", "window", "services", *OUTCOMES, "mean service min", p90, "open h",
            "utilization", "idle while waiting min", "walk mean s", "ratings", "rating mean",
            "good rate", "bad ratings", "bad rectified", "complaints", "warnings",
            "urgent warnings")  # fmt: skip
    return Table("windows", "Windows", cols, rows)


def _staff(per_hall: dict[str, list[HallSnapshot]], several: bool) -> Table:
    rows: list[list[Cell]] = []
    for hall, snaps in sorted(per_hall.items()):
        for staff in sorted({p.name for s in snaps for p in s.staff}):
            ps = [p for s in snaps for p in s.staff if p.name == staff]
            ratings = sum(p.ratings_today for p in ps)
            bad = sum(p.bad_ratings_today for p in ps)
            open_s = _sum(p.open_s for p in ps)
            rows.append([
                hall, staff, sum(p.services_today for p in ps),
                _mins(_wmean((p.mean_service_s, p.services_today) for p in ps)),
                _mins(_worst(p.p90_service_s for p in ps)),
                open_s / 3600, _share(_sum(p.serving_s for p in ps), open_s),
                _sum(p.idle_waiting_s for p in ps) / 60,
                ratings, _wmean((p.rating_mean, p.ratings_today) for p in ps),
                _share(ratings - bad, ratings), bad,
            ])  # fmt: skip
    p90 = "worst day p90 service min" if several else "p90 service min"
    cols = ("hall", "staff", "services", "mean service min", p90, "open h", "utilization",
            "idle while waiting min", "ratings", "rating mean", "good rate",
            "bad ratings")  # fmt: skip
    return Table("staff", "Staff", cols, rows)


def ranking(
    per_hall: dict[str, list[HallSnapshot]],
    al: _Alerts,
    repeats: Mapping[tuple[str, str], tuple[int, int]] | None = None,
    min_ratings: int = MIN_RATINGS,
) -> Table:
    """Window evaluation (窗口测评; seed 002: 每季度組織人員對窗口進行星級窗口測評): each
    window's ratings counted once per service (``repeats``: second ratings of a rated
    service, left out), bad ratings, good rate and its 95 % Wilson lower bound, rating
    coverage (rated services ÷ services served). Windows with ``min_ratings`` or more are
    ranked by the lower bound (higher first), then fewer complaints, urgent warnings,
    unrectified bad ratings and idle time while people waited, then more served; the
    others follow unranked, saying why."""
    repeats = repeats or {}
    rows: list[list[Cell]] = []
    for hall, snaps in per_hall.items():
        for window in {w.name for s in snaps for w in s.windows}:
            ws = [w for s in snaps for w in s.windows if w.name == window]
            again, again_bad = repeats.get((hall, window), (0, 0))
            ratings = sum(w.ratings_today for w in ws) - again
            bad = sum(w.bad_ratings_today for w in ws) - again_bad
            served = sum(w.services_today - w.outcomes.get("transferred", 0) for w in ws)
            here = al.of_window(hall, window)
            unrectified = sum(1 for a in here if a.rule == "bad_rating" and not rectified(a))
            short = f"{ratings} of the {min_ratings} ratings needed"
            rows.append([
                None, hall, window, ratings, again, bad, _share(ratings - bad, ratings),
                wilson_lower(ratings - bad, ratings), served, _share(ratings, served),
                unrectified, al.complaints_of_window(hall, window), al.warnings(here)[1],
                _sum(w.idle_waiting_s for w in ws) / 60,
                None if ratings >= min_ratings else short,
            ])  # fmt: skip

    def key(r: list[Cell]) -> tuple[object, ...]:
        if r[14] is not None:  # unranked: after the ranked, by hall and window
            return (True, 0.0, r[1], r[2])
        rest = (r[11], r[12], r[10], r[13], -float(r[8] or 0), r[1], r[2])
        return (False, -float(r[7] or 0.0), *rest)

    rows.sort(key=key)
    for i, r in enumerate(rows):
        if r[14] is None:
            r[0] = i + 1
    cols = ("rank", "hall", "window", "ratings", "repeat ratings (not counted)", "bad ratings",
            "good rate", "good rate low 95 %", "served", "rating coverage", "bad unrectified",
            "complaints", "urgent warnings", "idle while waiting min",
            "not ranked because")  # fmt: skip
    title = f"Window evaluation (窗口测评): ranked from {min_ratings} ratings up"
    return Table("ranking", title, cols, rows)


def _cards(al: _Alerts) -> Table:
    """Per hall and rule: cards (黄牌/红牌) apart from warnings (预警, notice or urgent)."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for a in al.all:
        kind = kind_of(a.severity)
        c = counts.setdefault((a.hall, a.rule, kind), [0, 0, 0])
        c[0 if a.severity in ("yellow", "notice") else 1] += 1
        c[2] += a.state != "resolved"
    # Cards first (they are the formal sanctions), then warnings.
    order = sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][2] != "card", kv[0][1]))
    rows: list[list[Cell]] = [[h, r, k, *c] for (h, r, k), c in order]
    return Table("cards", "Cards (黄牌/红牌) and warnings (预警) by rule",
                 ("hall", "rule", "kind", "yellow / notice", "red / urgent", "still open"),
                 rows)  # fmt: skip


def _bad_ratings(al: _Alerts, names: Callable[[str], str] = str) -> Table:
    rows: list[list[Cell]] = []
    for a in al.where(lambda a: a.rule == "bad_rating"):
        due = service_day(a.due_ms - 1).isoformat() if a.due_ms else ""
        fixed = rectified(a)
        on_time = fixed and a.due_ms is not None and (a.resolved_ms or 0) <= a.due_ms
        timely = ("yes" if on_time else "no") if fixed else ""
        rows.append([a.hall, a.scope.split("/")[0], hm(a.fired_ms), a.severity, due,
                     "rectified" if fixed else a.state,
                     names(a.resolved_by) if fixed and a.resolved_by else "",
                     hm(a.resolved_ms) if fixed else "", timely, a.resolve_note or ""])  # fmt: skip
    cols = ("hall", "window", "rated", "severity", "note due", "state", "rectified by",
            "rectified at", "on time", "rectification note")  # fmt: skip
    return Table("bad_ratings", "Bad ratings (差评) and their rectification", cols, rows)


def _complaints(al: _Alerts) -> Table:
    """Each complaint: its first answer (现场处理答复: a ``complaint_answered``, else the
    settlement) and whether it was settled by its due time, the hall's closing time of
    the same working day (当日事当日毕; the alert's due time, docs/alerts.md)."""
    overdue = {(a.hall, a.scope) for a in al.all if a.rule == "complaint_overdue"}
    rows: list[list[Cell]] = []
    for a in al.where(lambda a: a.rule == "complaint"):
        key = (a.hall, a.scope)
        closed = a.resolved_ms
        answer = al.complaint_answers.get(key)
        first: int | None
        if answer is not None and (closed is None or answer <= closed):
            first, by = answer, "answer"
        else:
            first, by = closed, "settlement" if closed is not None else ""
        if a.due_ms is not None:
            in_time = closed is not None and closed <= a.due_ms
        else:  # an alert stored before complaints had a due time: the day decides
            in_time = closed is not None and service_day(closed) == service_day(a.fired_ms)
        minutes = None if first is None else max(first - a.fired_ms, 0) / 60_000
        rows.append([a.hall, a.scope, al.complaint_windows.get(key, ""), hm(a.fired_ms),
                     hm(first), by, minutes, hm(a.due_ms), hm(closed),
                     "yes" if in_time else "no", "yes" if key in overdue else "no"])  # fmt: skip
    cols = ("hall", "complaint", "window", "received", "first answer", "answered by",
            "first answer min", "due", "closed", "settled by due", "overdue")  # fmt: skip
    return Table("complaints", "Complaints (当日事当日毕, 现场处理答复)", cols, rows)


def _second_trips(al: _Alerts) -> Table:
    rows: list[list[Cell]] = [
        [a.hall, hm(a.fired_ms), a.summary] for a in al.where(lambda a: a.rule == "second_trip")
    ]
    return Table("second_trips", "Second trips (来回跑)", ("hall", "at", "what"), rows)
