"""The case cards' summaries say which limit (docs/alerts.md, "Working days"): the console
phrases them in Chinese with the hall's words, 承诺时限 for the promise and 法定时限 for
the law (seed 004: 法定办结时限、承诺办结时限). Summaries stored before they named the
promise ("5 working days") still read as the promise."""

from __future__ import annotations

from alerts.names import Names
from console.text import summary

NAMES = Names(items={"aq": {"bdc-01": "二手房转移登记"}}, depts={"bdcdj": "不动产登记中心"})


def test_the_promise_and_the_law_in_chinese() -> None:
    promise = "case K-1 (bdc-01, bdcdj, promised 0 working days) due end of 2026-11-20"
    assert summary(promise, "zh", NAMES, "aq") == (
        "办件 K-1(二手房转移登记,不动产登记中心,承诺时限0个工作日)将于 2026-11-20 到期"
    )
    late = "case K-1 (bdc-01, bdcdj, promised 5 working days) overdue since end of 2026-11-20"
    old = "case K-1 (bdc-01, bdcdj, 5 working days) overdue since end of 2026-11-20"
    assert (
        summary(late, "zh")
        == summary(old, "zh")
        == ("办件 K-1(bdc-01,bdcdj,承诺时限5个工作日)已于 2026-11-20 超时")
    )
    law = (
        "case K-1 (bdc-01, bdcdj, legal 30 working days) past its legal limit since end of "
        "2026-12-31 (promised 5)"
    )
    assert summary(law, "zh", NAMES, "aq") == (
        "办件 K-1(二手房转移登记,不动产登记中心,法定时限30个工作日,承诺5个工作日)"
        "已于 2026-12-31 超过法定时限"
    )
    assert summary(law, "en") == law
