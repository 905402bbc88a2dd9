"""Shared test fixtures and waiting on conditions (events and halls: tests/factories.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.factories import T0, ms

__all__ = ["T0", "fake_pseudo", "ms", "wait_for"]  # T0 and ms live in tests/factories.py


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``make test`` runs on two workers (pytest-xdist, ``--dist loadgroup``). The
    province's tests start NATS clusters with gateways, shards and feeds as processes,
    and wait out lease expiries: they run one after another on one worker (group
    ``province``), beside the rest, so no two clusters compete for the two cores."""
    for item in items:
        if item.nodeid.startswith("tests/province/"):
            item.add_marker(pytest.mark.xdist_group("province"))
