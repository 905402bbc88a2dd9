"""Logging: structlog JSON lines to a file or stderr, never onto the Textual screen.

Imports: structlog, the standard library.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

import structlog


def configure(path: Path | None = None, level: str = "info") -> None:
    """JSON lines to ``path`` (appended, 0600) or to stderr when None."""
    stream: TextIO
    if path is None:
        stream = sys.stderr
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        stream = path.open("a", encoding="utf-8", buffering=1)
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
