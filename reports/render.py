"""The report as Markdown and CSV, and the files ``run.py report --out DIR`` writes.

Markdown is for people (shares as percentages, minutes with one decimal; a list of
alerts stops after ``MD_LIST_ROWS`` and says how many more); CSV is for spreadsheets
(plain numbers, shares as 0..1, an empty cell for a figure that is not defined), one file
per table, complete. Neither ever holds a visitor's ``person``: the tables are
built from snapshots and alerts, which never carry it.

Imports: alerts.names, feeds.journal (safe_name), reports.gather, reports.tables, reports.chart,
the standard library.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from alerts.names import NO_NAMES, Names, rule_both
from feeds.journal import safe_name
from reports.chart import day_chart, period_chart
from reports.gather import DayData
from reports.tables import MIN_RATINGS, Cell, Table, build

#: The tables that list alerts one by one: Markdown shows the first ``MD_LIST_ROWS``.
LISTS: Final = frozenset(("bad_ratings", "complaints", "second_trips"))
MD_LIST_ROWS: Final = 100
#: Columns shown as percentages in Markdown.
_SHARE_WORDS: Final = ("rate", "level", "utilization", "coverage")

#: The documents quoted, cited by place, year and title: a reader of the report has them,
#: not this project's numbering of them (no "seed 001").
QUOTES: Final = (
    "Anqiu 2018 (安丘市“一次办好”政务服务): “評價結果作為工作人員考核和評先樹優的重要依據。"
    "政務辦每季度組織人員對窗口"
    "進行星級窗口測評,評選出流動紅旗服務標兵” — quarterly (`--quarter`), or by month. "
    "Yinchuan 2022 (银川市加快推进政务服务标准化规范化便利化实施方案): one rating per service, "
    "“线下“一次一评”和线上“一事一评””: a second "
    "rating of a rated ticket at the same window is shown and not counted. Ranked by the good "
    "rate's 95 % lower bound (Wilson): with good rates near Luozhuang's 99.93 %, a window with "
    "one rating must not outrank one with 500 (docs/reports.md). Rating coverage: rated "
    "services ÷ services served (transfers left out).",
    "Guangdong 2016 (广东省推广一门式一网式政府服务模式改革实施方案), on cards: "
    "“對即將超時辦理的事項,進行實時預警和黃牌警告,及時提醒相關單位加緊辦理;"
    "對超時未辦的事項進行紅牌警告和督辦” and “對擅自增加或改變申請材料、違規設置辦理條件等行為,"
    "進行紅牌警告、強制停止實施”: cards for those two only; every other alert is a warning (预警).",
)


def _md_cell(column: str, value: Cell, places: Names = NO_NAMES) -> str:
    """A cell as Markdown shows it: halls by their display names and rules by the hall's
    words (``办结时限 (case deadline)``), as the console and the shift report name them;
    the CSV keeps the ids (a spreadsheet's keys)."""
    if value is None:
        return "—"
    if column == "rule" and isinstance(value, str):
        return rule_both(value)
    if column == "hall" and isinstance(value, str):
        return places.hall(value).replace("|", "\\|")
    if isinstance(value, float):
        if any(w in column for w in _SHARE_WORDS):
            return f"{value * 100:.2f} %"
        return f"{value:.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _csv_cell(value: Cell) -> str | int:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def period_name(days: Sequence[DayData], period: str | None) -> str:
    """The report's period as file names use it: ``YYYY-Qn``, ``YYYY-MM`` or the day
    ``YYYY-MM-DD``."""
    return period if period else days[0].day.isoformat()


def _kind(period: str | None) -> str:
    """``quarter``, ``month`` or ``day``."""
    if not period:
        return "day"
    return "quarter" if "Q" in period.upper() else "month"


def _where(days: Sequence[DayData], source: str) -> str:
    """The halls whose alerts came from ``source``, with the days when not every day."""
    per_hall: dict[str, list[str]] = {}
    for d in days:
        for hall, got in d.alert_sources.items():
            if got == source:
                per_hall.setdefault(hall, []).append(d.day.isoformat()[5:])
    parts = []
    for hall, when in sorted(per_hall.items()):
        every = len(when) == sum(1 for d in days if hall in d.alert_sources)
        parts.append(hall if every or len(days) == 1 else f"{hall} ({', '.join(when)})")
    return ", ".join(parts)


def markdown(
    days: Sequence[DayData],
    tables: Sequence[Table],
    period: str | None = None,
    charts: Sequence[Path] = (),
    places: Names = NO_NAMES,
) -> str:
    """The whole report as one Markdown document (with links to ``charts``, files
    next to it); ``period``: the month ``YYYY-MM`` or quarter ``YYYY-Qn`` (None: a day)."""
    span = _kind(period)
    kind = {"day": "Daily report", "month": "Monthly report", "quarter": "Quarterly report"}[span]
    period = period_name(days, period)
    halls = sorted({h for d in days for h in d.snapshots})
    lines = [f"# {kind} {period}", ""]
    named = [h if places.hall(h) == h else f"{places.hall(h)} ({h})" for h in halls]
    lines.append(f"- Halls: {', '.join(named) or '—'}")
    shown = ", ".join(d.day.isoformat()[5:] for d in days)
    lines.append(f"- Days with a recording: {len(days)} ({shown})")
    for source, words in (
        ("store", "Alerts from the alert store (alerts.db)"),
        ("replay", "Alerts from the alert engine run over the recording (the store had none; "
         "no person acted on them, so none is acknowledged or rectified)"),
    ):  # fmt: skip
        where = _where(days, source)
        if where:
            lines.append(f"- {words}: {where}")
    for d in days:
        for what in d.unreadable:
            lines.append(f"- Left out, cannot be read: {what}")
    bad = sum(d.bad_lines for d in days)
    if bad:
        lines.append(f"- {bad} recorded lines were not valid events and were skipped")
    lines += [
        "- Figures: docs/figures.md; how a month or a quarter adds days up: docs/reports.md",
        "",
    ]
    if charts:
        what = "queue and waits" if span == "day" else "served and waits"
        lines += [f"## The {span}: {what}", ""]
        lines += [f"![{c.stem}]({c.name})" for c in charts] + [""]
    for table in tables:
        lines += [f"## {table.title}", ""]
        if table.name == "ranking":
            lines += [f"> {QUOTES[0]}", ""]
        if table.name == "cards":
            lines += [f"> {QUOTES[1]}", ""]
        if not table.rows:
            lines += ["(none)", ""]
            continue
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
        listed = table.rows if table.name not in LISTS else table.rows[:MD_LIST_ROWS]
        for row in listed:
            cells = (_md_cell(c, v, places) for c, v in zip(table.columns, row, strict=True))
            lines.append("| " + " | ".join(cells) + " |")
        if len(listed) < len(table.rows):
            more = len(table.rows) - len(listed)
            lines += ["", f"… and {more} more: every one is in the CSV ({table.name})."]
        lines.append("")
    return "\n".join(lines)


def csv_text(table: Table) -> str:
    """One table as CSV (header row first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def write(
    days: Sequence[DayData],
    out: Path | None,
    fmt: str,
    period: str | None = None,
    names: Callable[[str], str] = str,
    min_ratings: int = MIN_RATINGS,
    places: Names = NO_NAMES,
) -> tuple[str, list[Path]]:
    """Render the report of a day, or of ``period`` (``YYYY-MM`` or ``YYYY-Qn``). With
    ``out``: write ``report-<period>.md``, one ``<period>-<table>.csv`` per table and the
    charts (a day: ``<period>-<hall>.svg`` per hall; a month or quarter:
    ``<period>.svg``); return the files. Without: return the text for stdout (Markdown, or
    every CSV one after the other, each under a ``# <table>`` line). ``names``: a
    person's roster name (who rectified); ``min_ratings``: the window evaluation ranks
    windows with at least this many ratings; ``places``: display names (the config's)."""
    tables = build(days, names, min_ratings)
    name = period_name(days, period)
    if out is None:
        if fmt == "csv":
            return "\n".join(f"# {t.name}\n{csv_text(t)}" for t in tables), []
        return markdown(days, tables, period, places=places), []
    out.mkdir(parents=True, exist_ok=True)
    charts: list[Path] = []
    if period:
        path = out / f"{name}.svg"
        path.write_text(period_chart(days, period), encoding="utf-8")
        charts.append(path)
    else:
        for hall, snap in sorted(days[0].snapshots.items()):
            path = out / f"{name}-{safe_name(hall)}.svg"
            path.write_text(day_chart(snap, days[0].samples.get(hall, [])), encoding="utf-8")
            charts.append(path)
    files: list[Path] = []
    if fmt in ("md", "all"):
        path = out / f"report-{name}.md"
        path.write_text(markdown(days, tables, period, charts, places), encoding="utf-8")
        files.append(path)
    if fmt in ("csv", "all"):
        for t in tables:
            path = out / f"{name}-{t.name}.csv"
            path.write_text(csv_text(t), encoding="utf-8")
            files.append(path)
    return "", files + charts
