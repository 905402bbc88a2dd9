"""Shared test helpers: hall times, event builders, waiting on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

#: 2025-11-24 (a Monday) 09:00 CST, in ms.
T0 = 1763946000000


def ms(minutes: float = 0, seconds: float = 0) -> int:
    """T0 plus a duration."""
    return T0 + int(minutes * 60_000 + seconds * 1000)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, yielding to the loop; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.01)


@pytest.fixture
def fake_pseudo() -> Callable[[str], str]:
    return lambda raw: "p-" + str(abs(hash(raw)) % 10**8)
