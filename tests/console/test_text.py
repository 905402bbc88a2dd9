"""The console phrases every alert summary the rules write in Chinese (the store keeps the
English as written). A rule whose summary changes form shows up here, untranslated."""

from __future__ import annotations

from alerts.names import RULE_NAMES, Names
from alerts.rules import AlertEngine
from console.text import Words, summary
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
    # Channels and outcomes in the hall's words, not the protocol's.
    assert summary("complaint c-1 via desk at window W02", "zh") == "投诉 c-1(渠道 现场,窗口 W02)"
    assert (
        summary("case K-1 (bdc-01, bdcdj, 5 working days) overdue since end of 2026-11-20", "zh")
        == "办件 K-1(bdc-01,bdcdj,承诺时限5个工作日)已于 2026-11-20 超时"
    )
    assert summary("a form no rule writes yet", "zh") == "a form no rule writes yet"


def test_names_of_the_config_in_chinese_ids_in_english() -> None:
    """Zones, items and departments by the display names of their hall (a zone id means
    the same only within a hall); English keeps the text as the rule wrote it."""
    names = Names(
        zones={"anqiu": {"estate": "不动产交易纳税登记"}},
        items={"anqiu": {"bdc-01": "二手房转移登记"}},
        depts={"bdcdj": "不动产登记中心"},
    )
    wait = "ticket B012 (estate) waiting over 30 min"
    assert summary(wait, "zh", names, "anqiu") == "B012号(不动产交易纳税登记)等候超过30分钟"
    assert summary(wait, "zh", names, "city") == "B012号(estate)等候超过30分钟"
    assert summary(wait, "en", names, "anqiu") == wait
    case = "case K-1 (bdc-01, bdcdj, 5 working days) overdue since end of 2026-11-20"
    assert summary(case, "zh", names, "anqiu") == (
        "办件 K-1(二手房转移登记,不动产登记中心,承诺时限5个工作日)已于 2026-11-20 超时"
    )
    trip = "ticket B044: second trip for item bdc-01 (visit of 2026-11-18 incomplete)"
    assert summary(trip, "zh", names, "anqiu") == (
        "B044号:事项 二手房转移登记 来回跑,未做到最多跑一次(2026-11-18 来办,材料不全,已一次性告知)"
    )
    rating = "bad rating 1 at window W03 via device: rectification note due 2026-11-23"
    assert summary(rating, "zh") == "差评 1 分,窗口 W03(评价器),整改说明期限 2026-11-23"


def test_english_summaries_hold_no_chinese_gloss() -> None:
    """``(空`` was all that showed of ``(空岗)`` at the end of a cut English alert row."""
    every = day()
    city, engine = CityState(), AlertEngine()
    engine.on_batch(city.apply(every[:4000]))
    engine.on_tick(city.snapshots())
    idle = [a.summary for a in engine.book.open.values() if a.rule == "idle_window"]
    idle += [a.summary for a in engine.book.resolved if a.rule == "idle_window"]
    assert idle and not any("空" in s for s in idle)


def test_rule_and_state_names_are_one_table() -> None:
    """The console's words for rules and states are alerts.names' (the shift report's and
    the day report's too): the hall's terms, 未处置 / 已销号, 来回跑, 暂停提醒, 大厅时间."""
    zh, en = Words("zh"), Words("en")
    for rule, (chinese, english) in RULE_NAMES.items():
        assert (zh[rule], en[rule]) == (chinese, english)
    assert (zh["firing"], zh["resolved"], zh["second_trip"]) == ("未处置", "已销号", "来回跑")
    assert (zh["key_silence"], zh["f_resolve"], zh["hall_clock"]) == (
        "暂停提醒",
        "销号",
        "大厅时间",
    )
    assert zh["lag"] != zh["key_silence"]  # a silent feed is not a silenced alert
    assert zh.hall("county-a") == "county-a"  # no name configured: the id
