"""SVG snapshots of the console at 80x24 and 120x40, in Chinese and English, on a frozen
hall clock (the scripted morning, applied before the app starts; no feed, no timing).

Update after an intended change of the screens: ``pytest tests/console/test_snapshots.py
--snapshot-update``, and look at the SVGs before committing them."""

from __future__ import annotations

import pytest

from alerts.rules import AlertEngine
from console.app import HallwatchApp
from feeds.decode import FrameDecoder
from feeds.source import Batch, MemorySource
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from tests.factories import console_morning


def frozen_app(lang: str) -> HallwatchApp:
    """The console on the scripted morning, applied and published before it starts."""
    feed = MemorySource("lz", [], FrameDecoder(lambda p: p))
    feed.status.connected = True
    sup = Pipeline([feed], alerts=AlertEngine())
    events = console_morning()
    for i, e in enumerate(e for e in events if e.seq is not None):
        e.seq = i + 1
    sup.apply(feed.status, Batch("lz", events))
    sup.publish()
    return HallwatchApp(Desk(sup, operator="wang"), lang=lang, run_pipeline=False)


@pytest.mark.parametrize(
    ("lang", "size", "keys"),
    [
        ("en", (80, 24), []),
        ("zh", (120, 40), []),
        ("en", (120, 40), ["w"]),
        ("zh", (80, 24), ["a"]),
    ],
    ids=["overview-en-80x24", "overview-zh-120x40", "windows-en-120x40", "alerts-zh-80x24"],
)
def test_screens(snap_compare, lang: str, size: tuple[int, int], keys: list[str]) -> None:
    assert snap_compare(frozen_app(lang), terminal_size=size, press=keys)
