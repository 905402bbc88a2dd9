"""CSV ticket logs from other queue systems, turned into recordings ``replay`` can serve.

``python run.py import-csv FILE --map arrival=取号时间,call=叫号时间,…`` reads a ticket
log (one row per ticket: arrival, call, service start, service end, window, service
type, outcome; optionally ticket, zone, person, staff) and writes protocol-v1 events,
one recording file per service day (``<out>/<day>.jsonl``, the journal's format).

Real logs are messy, so every row problem has a kind, is counted and reported, and
never stops the import:

| kind | what | what happens |
| --- | --- | --- |
| ``malformed`` | wrong number of fields, or bytes not in the encoding | row skipped |
| ``bad_time`` | arrival missing or unreadable | row skipped |
| ``bad_id`` | ticket, window, zone, item or staff over 64 characters | row skipped |
| ``duplicate_ticket`` | a ticket id seen before the same day | row skipped |
| ``out_of_order`` | arrival earlier than the row before | kept; events are sorted |
| ``bad_step_time`` | a call, start or end time unreadable | that time treated as absent |
| ``start_before_call`` | service start before the call (queue exit) | start moved to the call |
| ``end_before_start`` | service end before its start | end moved to the start |
| ``past_midnight`` | call, start or end after the arrival's day ended | moved to 23:59:59.999 |
| ``blank_window`` | blank or placeholder window (``""``, ``0``, ``-``, ``NULL``…) | ``unknown`` |
| ``unknown_outcome`` | an outcome value not in the outcome map | ``done`` if served |
| ``never_called`` | no call, start or end: never served | ``expired`` at day end |

Times are hall-local (China Standard Time) unless they carry an offset; ``person`` is
pseudonymized with the installation's key before anything is written.

Imports: feeds.protocol, feeds.hallclock, msgspec, the standard library.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec

from feeds.hallclock import HALL_TZ, day_start_ms, service_day
from feeds.protocol import (
    SERVICE_OUTCOMES,
    AbandonReason,
    Event,
    ServiceFinished,
    ServiceOutcome,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)

FIELDS: Final = ("arrival", "call", "start", "end", "window", "item", "outcome", "ticket",
                 "zone", "person", "staff")  # fmt: skip
KINDS: Final = ("malformed", "bad_time", "bad_id", "duplicate_ticket", "out_of_order",
                "bad_step_time", "start_before_call", "end_before_start", "past_midnight",
                "blank_window", "unknown_outcome", "never_called")  # fmt: skip
PLACEHOLDERS: Final = frozenset({"", "0", "00", "-", "--", "?", "null", "none", "n/a", "na",
                                 "无", "未知", "空", "#N/A"})  # fmt: skip
#: Outcome words of common queue systems (lower-cased) → (service outcome | abandon reason).
OUTCOMES: Final[dict[str, str]] = {
    "done": "done", "办结": "done", "已办结": "done", "完成": "done", "办理完成": "done",
    "即办": "done", "to_backend": "to_backend", "受理": "to_backend", "转后台": "to_backend",
    "承诺件": "to_backend", "incomplete": "incomplete", "补正": "incomplete",
    "材料不全": "incomplete", "补齐补正": "incomplete", "rejected": "rejected",
    "不予受理": "rejected", "退回": "rejected", "transferred": "transferred", "转窗": "transferred",
    "转办": "transferred", "no_show": "no_show", "过号": "no_show", "未到": "no_show",
    "left": "left", "弃号": "left", "离开": "left",
}  # fmt: skip
_SERVICE: Final[dict[str, ServiceOutcome]] = {o: o for o in SERVICE_OUTCOMES}
_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                   "%Y%m%d%H%M%S", "%Y-%m-%d %H:%M:%S.%f")  # fmt: skip
_DAY_END_MS: Final = 86_400_000 - 1


class CsvImportError(ValueError):
    """The import cannot start: a mapping or header problem (row problems never stop it)."""


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows read and written, and every kind of problem counted."""

    rows: int = 0
    tickets: int = 0
    events: int = 0
    problems: collections.Counter[str] = field(default_factory=collections.Counter)
    examples: dict[str, int] = field(default_factory=dict)
    """Per kind: the line number of its first occurrence."""
    files: list[Path] = field(default_factory=list)

    def count(self, kind: str, line: int) -> None:
        self.problems[kind] += 1
        self.examples.setdefault(kind, line)

    def lines(self) -> list[str]:
        """A human summary, one line per fact."""
        out = [f"rows read: {self.rows}", f"tickets written: {self.tickets}",
               f"events written: {self.events}"]  # fmt: skip
        for kind in KINDS:
            if self.problems[kind]:
                first = self.examples[kind]
                out.append(f"{kind}: {self.problems[kind]} (first at line {first})")
        out += [f"wrote {path}" for path in self.files]
        return out


def parse_map(text: str) -> dict[str, str]:
    """``field=column,…`` → {field: column}. ``arrival`` is required.

    Raises:
        CsvImportError: on an unknown field or a missing ``arrival``.
    """
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep or name.strip() not in FIELDS or not column.strip():
            raise CsvImportError(f"--map: {part!r}: expected FIELD=COLUMN, FIELD one of {FIELDS}")
        mapping[name.strip()] = column.strip()
    if "arrival" not in mapping:
        raise CsvImportError("--map: arrival=COLUMN is required")
    return mapping


def _time(text: str) -> int | None:
    """A log timestamp as ms since the epoch (hall time unless it names an offset)."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in _FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=HALL_TZ)
    return int(moment.timestamp() * 1000)


@dataclass(slots=True)
class _Row:
    line: int
    arrival: int
    values: dict[str, str]
    times: dict[str, int | None]


def read_rows(
    path: Path, mapping: dict[str, str], report: ImportReport, encoding: str = "utf-8-sig"
) -> list[_Row]:
    """The rows of the log with their times parsed; problems counted in ``report``.

    Raises:
        CsvImportError: when a mapped column is not in the header.
    """
    raw_lines = path.read_bytes().splitlines()
    if not raw_lines:
        raise CsvImportError(f"{path}: empty file")
    try:
        header = next(csv.reader([raw_lines[0].decode(encoding)]))
    except UnicodeDecodeError as error:
        raise CsvImportError(f"{path}: line 1 is not {encoding}: {error}") from None
    header = [h.strip() for h in header]
    missing = [c for c in mapping.values() if c not in header]
    if missing:
        raise CsvImportError(f"{path}: columns {missing} not in the header {header}")
    index = {name: header.index(column) for name, column in mapping.items()}
    rows: list[_Row] = []
    last_arrival = None
    for number, raw in enumerate(raw_lines[1:], 2):
        if not raw.strip():
            continue
        report.rows += 1
        try:
            fields = next(csv.reader([raw.decode(encoding)]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            report.count("malformed", number)
            continue
        if len(fields) != len(header):
            report.count("malformed", number)
            continue
        values = {name: fields[i].strip() for name, i in index.items()}
        try:
            arrival = _time(values["arrival"])
        except ValueError:
            arrival = None
        if arrival is None:
            report.count("bad_time", number)
            continue
        times: dict[str, int | None] = {}
        for step in ("call", "start", "end"):
            try:
                times[step] = _time(values.get(step, ""))
            except ValueError:
                report.count("bad_step_time", number)
                times[step] = None
        if last_arrival is not None and arrival < last_arrival:
            report.count("out_of_order", number)
        last_arrival = arrival
        rows.append(_Row(number, arrival, values, times))
    rows.sort(key=lambda r: r.arrival)
    return rows


def to_events(
    rows: Iterable[_Row],
    hall: str,
    report: ImportReport,
    pseudonymize: Callable[[str], str],
    outcomes: dict[str, str] | None = None,
) -> dict[dt.date, list[Event]]:
    """Each day's events, sorted by ``ts`` (``seq`` 0: numbered when written)."""
    words = {**OUTCOMES, **{k.lower(): v for k, v in (outcomes or {}).items()}}
    days: dict[dt.date, list[Event]] = collections.defaultdict(list)
    seen: dict[dt.date, set[str]] = collections.defaultdict(set)
    windows: dict[tuple[dt.date, str], list[int]] = {}
    numbers: collections.Counter[dt.date] = collections.Counter()

    for row in rows:
        day = service_day(row.arrival)
        events = days[day]
        day_end = day_start_ms(day) + _DAY_END_MS
        v = row.values
        numbers[day] += 1
        ticket = v.get("ticket") or f"T{numbers[day]:05d}"
        ids = [
            ticket,
            v.get("window", ""),
            v.get("zone", ""),
            v.get("item", ""),
            v.get("staff", ""),
        ]
        if any(len(x) > 64 for x in ids):
            report.count("bad_id", row.line)
            continue
        if ticket in seen[day]:
            report.count("duplicate_ticket", row.line)
            continue
        seen[day].add(ticket)
        call, start, end = row.times["call"], row.times["start"], row.times["end"]
        clamped = False
        for name, t in (("call", call), ("start", start), ("end", end)):
            if t is not None and t > day_end:
                clamped = True
                row.times[name] = day_end
        if clamped:
            report.count("past_midnight", row.line)
            call, start, end = row.times["call"], row.times["start"], row.times["end"]
        if call is not None and start is not None and start < call:
            report.count("start_before_call", row.line)
            start = call
        if call is not None and call < row.arrival:
            call = row.arrival
        if start is not None and start < row.arrival:
            start = row.arrival
        if end is not None and start is not None and end < start:
            report.count("end_before_start", row.line)
            end = start
        word = v.get("outcome", "").strip()
        result = words.get(word.lower()) if word else None
        if word and result is None:
            report.count("unknown_outcome", row.line)
        person = v.get("person") or None
        events.append(
            TicketIssued(
                seq=0, ts=row.arrival, hall=hall, ticket=ticket, zone=v.get("zone") or "all",
                item=v.get("item") or None, person=pseudonymize(person) if person else None,
            )
        )  # fmt: skip
        report.tickets += 1
        if call is None and start is None and end is None:
            report.count("never_called", row.line)
            reason: AbandonReason = "left" if result == "left" else "expired"
            events.append(
                TicketAbandoned(seq=0, ts=day_end, hall=hall, ticket=ticket, reason=reason)
            )
            continue
        window = v.get("window", "")
        if window.lower() in PLACEHOLDERS:
            report.count("blank_window", row.line)
            window = "unknown"
        first = call if call is not None else start if start is not None else end
        assert first is not None
        used = windows.setdefault((day, window), [first, first])
        used[0], used[1] = min(used[0], first), max(used[1], end or start or first)
        events.append(TicketCalled(seq=0, ts=first, hall=hall, ticket=ticket, window=window))
        if result in ("no_show", "left"):  # called, and nobody came to the window
            at = end or start or first
            events.append(TicketAbandoned(seq=0, ts=at, hall=hall, ticket=ticket, reason="no_show"))
            continue
        staff = v.get("staff") or None
        begin = start if start is not None else first
        events.append(
            ServiceStarted(seq=0, ts=begin, hall=hall, ticket=ticket, window=window,
                           item=v.get("item") or None, staff=staff)
        )  # fmt: skip
        if end is not None:
            outcome = _SERVICE.get(result or "", "done")
            events.append(
                ServiceFinished(seq=0, ts=end, hall=hall, ticket=ticket, window=window,
                                outcome=outcome)
            )  # fmt: skip
    for (day, window), (opened, closed) in windows.items():
        days[day].append(WindowState(seq=0, ts=opened, hall=hall, window=window, state="open"))
        days[day].append(WindowState(seq=0, ts=closed, hall=hall, window=window, state="closed"))
    for events in days.values():
        events.sort(key=_order)
    return dict(days)


_RANK: Final = {WindowState: 0, TicketIssued: 1, TicketCalled: 2, ServiceStarted: 3,
                ServiceFinished: 4, TicketAbandoned: 4}  # fmt: skip


def _order(ev: Event) -> tuple[int, int]:
    """By time; at one time a window opens before it calls, a ticket is issued before it
    is called, … and a window closes last."""
    closing = isinstance(ev, WindowState) and ev.state == "closed"
    return ev.ts, 9 if closing else _RANK.get(type(ev), 5)


def write_days(days: dict[dt.date, list[Event]], out: Path, report: ImportReport) -> None:
    """One recording per day, ``<out>/<day>.jsonl`` (mode 0600, replaced if present)."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    encode = msgspec.json.Encoder().encode
    for day in sorted(days):
        path = out / f"{day.isoformat()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for seq, ev in enumerate(days[day], 1):
                f.write(encode(msgspec.structs.replace(ev, seq=seq)) + b"\n")
        report.events += len(days[day])
        report.files.append(path)


def import_csv(
    path: Path,
    mapping: dict[str, str],
    out: Path,
    *,
    hall: str,
    pseudonymize: Callable[[str], str],
    encoding: str = "utf-8-sig",
    outcomes: dict[str, str] | None = None,
) -> ImportReport:
    """Read a CSV ticket log and write its recordings; see the module docstring.

    Raises:
        CsvImportError: when the mapping or header makes the import impossible.
        OSError: when the file cannot be read or the recordings written.
    """
    report = ImportReport()
    rows = read_rows(path, mapping, report, encoding)
    days = to_events(rows, hall, report, pseudonymize, outcomes)
    write_days(days, out, report)
    return report


def parse_outcomes(text: str | None) -> dict[str, Any]:
    """``WORD=OUTCOME,…`` for ``--outcome``; OUTCOME a service outcome, no_show or left.

    Raises:
        CsvImportError: on an unknown OUTCOME.
    """
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        word, _, value = part.partition("=")
        if value not in {*_SERVICE, "no_show", "left"}:
            raise CsvImportError(f"--outcome: {part!r}: OUTCOME must be one of "
                               f"{sorted({*_SERVICE, 'no_show', 'left'})}")  # fmt: skip
        out[word.strip()] = value
    return out
