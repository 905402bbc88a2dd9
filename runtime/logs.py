"""Logging: structlog JSON lines to a file or stderr, never onto the Textual screen.

A log line that cannot be written (the log file on a full disk) is dropped, never
raised into whatever was logging: the process goes on, and /metrics says the disk is
full (``runtime.storage``). A log file that cannot be opened at start is a
``DataDirError`` (exit 2, naming the file and what to do).

Imports: runtime.datadir (its error), structlog, the standard library.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

from runtime.datadir import DataDirError


class _Forgiving:
    """A text stream whose failed writes are dropped (and counted), never raised."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.dropped = 0

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError:
            self.dropped += 1
            return 0

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError:
            self.dropped += 1


def configure(path: Path | None = None, level: str = "info") -> None:
    """JSON lines to ``path`` (appended, 0600) or to stderr when None.

    Raises:
        DataDirError: the log file cannot be opened (read-only, not this user's).
    """
    stream: Any
    if path is None:
        stream = sys.stderr
    else:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            stream = _Forgiving(path.open("a", encoding="utf-8", buffering=1))
        except OSError as error:
            raise DataDirError(
                f"{path}: cannot open the log file: {error.strerror or error}. Make it (or "
                "its folder) writable by this user, or give another --log-file."
            ) from error
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # websockets logs through stdlib logging; keep it off the screen, quiet unless warning.
    logging.basicConfig(stream=stream, level=logging.WARNING, force=True)
