"""One table of rule names for the console, the shift report and the day report: every
rule the engine runs is in it, in both languages, and the hall's terms for the states."""

from __future__ import annotations

from alerts.names import NO_NAMES, RULE_NAMES, Names, rule_both, rule_name, state_name
from tests.factories import ALL_RULES


def test_every_rule_the_engine_runs_has_a_name_in_both_languages() -> None:
    assert set(ALL_RULES) - {"storage_failed"} <= set(RULE_NAMES)
    assert "storage_failed" in RULE_NAMES  # the pipeline's own (runtime.storage)
    for rule, (zh, en) in RULE_NAMES.items():
        assert zh and en and zh != en, rule


def test_names_and_ids() -> None:
    assert rule_name("case_deadline") == "办结时限"
    assert rule_name("case_deadline", "en") == "case deadline"
    assert rule_both("second_trip") == "来回跑 (second trip)"
    assert rule_both("a_new_rule") == rule_name("a_new_rule") == "a_new_rule"  # shown, not hidden
    assert [state_name(s) for s in ("firing", "acknowledged", "resolved")] == [
        "未处置",
        "已确认",
        "已销号",
    ]
    names = Names(halls={"city": "市民中心"}, zones={"city": {"estate": "不动产"}})
    assert (names.hall("city"), names.zone("city", "estate")) == ("市民中心", "不动产")
    assert (names.zone("county-a", "estate"), names.dept("bdcdj")) == ("estate", "bdcdj")
    assert names and not NO_NAMES
