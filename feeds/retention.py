"""Personal data kept no longer than needed (个人信息保护法 art. 19: the shortest period
the purpose needs).

A person's pseudonym serves two rules: the second trip (最多跑一次: back within the
second-trip window after a failed visit) and scalping (one service day). A pseudonym with
its key is still personal information, so recorded days older than the second-trip
window plus a margin lose their ``person`` fields: each such day file is rewritten
without them (atomically: a new archive, fsynced, renamed over the old one). Everything
else of the day stays, so its figures, its report and its alerts (kept in the alert
store as records) are unchanged. Recordings older than ``delete_after_days`` are removed
altogether when that is set (default: keep).

Only finished days are touched: the day files of today and of the window are never
opened. A line that is not JSON is kept as it is and counted (it cannot be read as an
event anyway).

Imports: feeds.journal (file names), msgspec, structlog, the standard library.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec
import structlog

from feeds.journal import index_path

log = structlog.get_logger("hallwatch.retention")

#: A recorded day file: ``<day>[.N].jsonl`` or its archive ``….jsonl.gz``.
_DAY_FILE: Final = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\d+)?\.jsonl(?:\.gz)?$")
_PERSON: Final = b'"person"'


@dataclass(frozen=True, slots=True)
class Retention:
    """How long recorded days keep their pseudonyms, and themselves."""

    strip_after_days: int
    delete_after_days: int = 0
    """0: keep them."""


@dataclass(slots=True)
class RetentionRun:
    """What one run did (or, with ``dry_run``, would do)."""

    stripped: list[Path] = field(default_factory=list)
    """Day files rewritten without their ``person`` fields."""
    deleted: list[Path] = field(default_factory=list)
    persons_removed: int = 0
    unreadable_lines: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would strip" if self.dry_run else "stripped"
        out = [f"{verb} person fields from {len(self.stripped)} recorded day file(s) "
               f"({self.persons_removed} fields)"]  # fmt: skip
        out += [f"  {p}" for p in self.stripped]
        verb = "would delete" if self.dry_run else "deleted"
        out.append(f"{verb} {len(self.deleted)} recorded day file(s)")
        out += [f"  {p}" for p in self.deleted]
        if self.unreadable_lines:
            out.append(f"{self.unreadable_lines} line(s) not JSON: kept as they were")
        return out


def day_of(path: Path) -> dt.date | None:
    """The service day a journal file records, from its name; None for other files."""
    m = _DAY_FILE.match(path.name)
    return dt.date.fromisoformat(m.group(1)) if m else None


def apply_retention(
    journal: Path,
    today: dt.date,
    *,
    strip_after_days: int,
    delete_after_days: int = 0,
    dry_run: bool = False,
) -> RetentionRun:
    """Strip ``person`` from recorded days older than ``strip_after_days`` before
    ``today`` and delete those older than ``delete_after_days`` (0: keep them).

    Args:
        journal: The journal folder (``<data dir>/journal``), one folder per feed.
        today: The service day now (the hall clock's, never the wall clock's in a run).
    """
    run = RetentionRun(dry_run=dry_run)
    if not journal.is_dir():
        return run
    strip_before = today - dt.timedelta(days=strip_after_days)
    delete_before = today - dt.timedelta(days=delete_after_days) if delete_after_days else None
    for folder in sorted(p for p in journal.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            day = day_of(path)
            if day is None:
                continue
            if delete_before is not None and day < delete_before:
                run.deleted.append(path)
                if not dry_run:
                    path.unlink()
                    index_path(path).unlink(missing_ok=True)
            elif day < strip_before and _has_person(path):
                run.persons_removed += _strip(path, run, dry_run)
                run.stripped.append(path)
    if not dry_run and (run.stripped or run.deleted):
        log.info(
            "retention_applied",
            stripped=len(run.stripped),
            deleted=len(run.deleted),
            persons_removed=run.persons_removed,
            strip_before=strip_before.isoformat(),
            delete_before=delete_before.isoformat() if delete_before else None,
        )
    return run


def _read(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def _has_person(path: Path) -> bool:
    return _PERSON in _read(path)


def _strip(path: Path, run: RetentionRun, dry_run: bool) -> int:
    """Rewrite ``path`` as a gzip archive without ``person`` fields; the count removed.
    A plain ``.jsonl`` (a day that was never archived) becomes its ``.jsonl.gz``."""
    removed = 0
    out: list[bytes] = []
    decode, encode = msgspec.json.decode, msgspec.json.encode
    for line in _read(path).splitlines():
        if _PERSON not in line:
            out.append(line)
            continue
        try:
            event: Any = decode(line)
        except msgspec.DecodeError:
            run.unreadable_lines += 1
            out.append(line)
            continue
        if isinstance(event, dict) and event.pop("person", None) is not None:
            removed += 1
        out.append(encode(event))
    if dry_run:
        return removed
    target = path if path.name.endswith(".gz") else path.with_name(path.name + ".gz")
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(b"".join(line + b"\n" for line in out))
        raw.flush()
        os.fsync(raw.fileno())
    partial.replace(target)
    if target != path:  # the plain day file and its checksum index go with it
        path.unlink()
        index_path(path).unlink(missing_ok=True)
    return removed
