"""One writer per data dir: two processes appending to one journal would interleave its
lines, and two alert books would hand out the same ids.

``DataDirLock`` takes an advisory lock (``flock``) on ``<data dir>/hallwatch.lock`` and
writes the holder's pid and command into it. The kernel drops the lock when the process
ends, however it ends (``kill -9`` included), so a file left behind never blocks the
next start; only a live holder does, and the refusal names it.

Imports: the standard library.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Final

LOCK_FILE: Final = "hallwatch.lock"


class DataDirBusy(Exception):
    """Another live process writes this data dir; the message names it."""


class DataDirError(Exception):
    """The data dir, or a file in it, cannot be used (read-only, not this user's, full,
    damaged): the message names the file and says what to do (``runtime.storage``)."""


class DataDirLock:
    """The lock of one data dir, held from ``acquire`` until ``release`` (or exit)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ``DataDirBusy`` naming the process that holds it.

        Raises:
            DataDirBusy: a live process holds it.
            OSError: the data dir cannot be written (read-only, no permission).
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise DataDirBusy(
                f"{self.path.parent} is in use by pid {holder.get('pid', '?')} "
                f"({holder.get('command', 'unknown command')}): one serve or console "
                "per data dir; stop it, or give this one another --data-dir"
            ) from None
        record = {"pid": os.getpid(), "command": " ".join(sys.argv), "since": time.time()}
        with contextlib.suppress(OSError):  # a full disk: the lock is held all the same
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(record, ensure_ascii=False).encode() + b"\n")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def _holder(fd: int) -> dict[str, object]:
    """What the holder wrote into the lock file (empty if it is still writing it)."""
    try:
        data = os.pread(fd, 4096, 0)
        found = json.loads(data) if data.strip() else {}
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
