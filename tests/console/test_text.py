"""The console phrases every alert summary the rules write in Chinese (the store keeps the
English as written). A rule whose summary changes form shows up here, untranslated."""

from __future__ import annotations

from alerts.rules import AlertEngine
from console.text import summary
from metrics.state import CityState
from tests.alerts.test_demo_day import day


def test_every_summary_of_a_demo_day_is_phrased_in_chinese() -> None:
    events = day()
    city, engine = CityState(), AlertEngine()
    for i in range(0, len(events), 500):
        part = events[i : i + 500]
        engine.on_batch(city.apply(part))
        engine.on_tick(city.snapshots())
    book = engine.book
    written = {a.summary for a in [*book.resolved, *book.open.values()]}
    assert len(written) > 20
    untranslated = [s for s in written if summary(s, "zh") == s]
    assert untranslated == []
    assert all(summary(s, "en") == s for s in written)


def test_known_forms() -> None:
    assert (
        summary("ticket A028 (invest) waiting over 30 min", "zh") == "A028号(invest)等候超过30分钟"
    )
    assert summary("complaint c-1 via desk at window W02", "zh") == "投诉 c-1(渠道 desk,窗口 W02)"
    assert (
        summary("case K-1 (bdc-01, bdcdj, 5 working days) overdue since end of 2026-11-20", "zh")
        == "办件 K-1(bdc-01,bdcdj,承诺时限5个工作日)已于 2026-11-20 超时"
    )
    assert summary("a form no rule writes yet", "zh") == "a form no rule writes yet"
