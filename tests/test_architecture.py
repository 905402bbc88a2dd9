"""The one-way data flow of style.md, enforced by import-linter contracts in pyproject."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


PACKAGES = ("feeds", "metrics", "alerts", "runtime", "reports", "province", "console", "cli")


def test_no_wait_for_that_can_swallow_a_stop() -> None:
    """Python 3.11's ``asyncio.wait_for`` swallows a cancel that comes as its awaitable
    completes (fixed in 3.12): the cancelled task runs on and a stop never ends. A
    ``serve`` given SIGTERM just as its feed said hello ran on for 20 minutes reconnecting
    (the hello waited on by wait_for). ``asyncio.timeout`` has no such window. The one
    exception is the shard's stop, which catches the cancel on purpose."""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "asyncio.wait_for(" in line and "asyncio.shield(" not in line
    ]
    assert found == [], f"use asyncio.timeout instead: {found}"
