"""The report as Markdown and CSV, and the files ``run.py report --out DIR`` writes.

Markdown is for people (shares as percentages, minutes with one decimal; a list of
alerts stops after ``MD_LIST_ROWS`` and says how many more); CSV is for spreadsheets
(plain numbers, shares as 0..1, an empty cell for a figure that is not defined), one file
per table, complete. Neither ever holds a visitor's ``person``: the tables are
built from snapshots and alerts, which never carry it.

Imports: feeds.journal (safe_name), reports.gather, reports.tables, reports.chart,
the standard library.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from feeds.journal import safe_name
from reports.chart import day_chart, month_chart
from reports.gather import DayData
from reports.tables import Cell, Table, build

#: The tables that list alerts one by one: Markdown shows the first ``MD_LIST_ROWS``.
LISTS: Final = frozenset(("bad_ratings", "complaints", "second_trips"))
MD_LIST_ROWS: Final = 100
#: Columns shown as percentages in Markdown.
_SHARE_WORDS: Final = ("rate", "level", "utilization")

QUOTES: Final = (
    "Seed 004 (一月一督查): “市政府督查室、市审批服务管理局要组成联合督查组,一月一督查、"
    "一月一调度。对工作中慢作为、不作为的要全市通报。对工作中表现突出、企业和群众评价满意度高"
    "的要表扬激励” — and bad ratings are rectified and fed back: “差评整改情况在线反馈”.",
    "Seed 001 (cards): “對即將超時辦理的事項,進行實時預警和黃牌警告,及時提醒相關單位加緊辦理;"
    "對超時未辦的事項進行紅牌警告和督辦” and “對擅自增加或改變申請材料、違規設置辦理條件等行為,"
    "進行紅牌警告、強制停止實施”: cards for those two only; every other alert is a warning (预警).",
)


def _md_cell(column: str, value: Cell) -> str:
    if value is None:
        return "—"
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


def period_name(days: Sequence[DayData], month: str | None) -> str:
    """The report's period as file names use it: ``YYYY-MM`` or the day ``YYYY-MM-DD``."""
    return month if month else days[0].day.isoformat()


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
    month: str | None = None,
    charts: Sequence[Path] = (),
) -> str:
    """The whole report as one Markdown document (with links to ``charts``, files
    next to it)."""
    period = period_name(days, month)
    kind = "Monthly report" if month else "Daily report"
    halls = sorted({h for d in days for h in d.snapshots})
    lines = [f"# {kind} {period}", ""]
    lines.append(f"- Halls: {', '.join(halls) or '—'}")
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
    lines += ["- Figures: docs/figures.md; how a month adds days up: docs/reports.md", ""]
    if charts:
        lines += ["## The month: served and waits" if month else "## The day: queue and waits", ""]
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
            cells = (_md_cell(c, v) for c, v in zip(table.columns, row, strict=True))
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
    month: str | None = None,
    names: Callable[[str], str] = str,
) -> tuple[str, list[Path]]:
    """Render the report. With ``out``: write ``report-<period>.md``, one
    ``<period>-<table>.csv`` per table and the charts (a day: ``<period>-<hall>.svg`` per
    hall; a month: ``<period>.svg``); return the
    files. Without: return the text for stdout (Markdown, or every CSV one after the other,
    each under a ``# <table>`` line). ``names``: a person's roster name (who rectified)."""
    tables = build(days, names)
    period = period_name(days, month)
    if out is None:
        if fmt == "csv":
            return "\n".join(f"# {t.name}\n{csv_text(t)}" for t in tables), []
        return markdown(days, tables, month), []
    out.mkdir(parents=True, exist_ok=True)
    charts: list[Path] = []
    if month:
        path = out / f"{period}.svg"
        path.write_text(month_chart(days, month), encoding="utf-8")
        charts.append(path)
    else:
        for hall, snap in sorted(days[0].snapshots.items()):
            path = out / f"{period}-{safe_name(hall)}.svg"
            path.write_text(day_chart(snap, days[0].samples.get(hall, [])), encoding="utf-8")
            charts.append(path)
    files: list[Path] = []
    if fmt in ("md", "all"):
        path = out / f"report-{period}.md"
        path.write_text(markdown(days, tables, month, charts), encoding="utf-8")
        files.append(path)
    if fmt in ("csv", "all"):
        for t in tables:
            path = out / f"{period}-{t.name}.csv"
            path.write_text(csv_text(t), encoding="utf-8")
            files.append(path)
    return "", files + charts
