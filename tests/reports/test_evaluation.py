"""The window evaluation (窗口测评): ranked by the good rate's Wilson lower bound from a
minimum of ratings, one rating per service, and the rating coverage; worked by hand.

Issue #18, point 5: “With good rates near 99.9 %, a window with one 5-point rating
outranks one with 500 ratings and one bad one.” Seed 002 (Anqiu) gives the evaluation:
“政務辦每季度組織人員對窗口進行星級窗口測評”; seed 004 (Yinchuan) one rating per service:
“做到线下“一次一评”和线上“一事一评””; seed 003 (Luozhuang) the size of good rates:
“共收集评价7199条,好评率99.93%”.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feeds.hallclock import day_start_ms
from feeds.protocol import (
    Event,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.replay import renumber
from metrics.figures import wilson_lower
from reports.gather import gather
from reports.render import write
from reports.tables import MIN_RATINGS, build
from tests.reports.test_report import record, table

DAY = dt.date(2025, 11, 26)
H = {"hall": "h", "seq": 1}


def at(hh: int, mm: int, ss: float = 0) -> int:
    return day_start_ms(DAY) + int(((hh * 60 + mm) * 60 + ss) * 1000)


def service(t: int, ticket: str, window: str, outcome: str = "done") -> list[Event]:
    """Issued, called, started at ``t``; finished 20 s later."""
    return [
        TicketIssued(ts=t, ticket=ticket, zone="z", person=f"P-SECRET-{ticket}", **H),
        TicketCalled(ts=t, ticket=ticket, window=window, **H),
        ServiceStarted(ts=t, ticket=ticket, window=window, **H),
        ServiceFinished(ts=t + 20_000, ticket=ticket, window=window, outcome=outcome, **H),
    ]


def rating(t: int, window: str, score: int, ticket: str | None) -> Rating:
    return Rating(ts=t, window=window, score=score, channel="device", ticket=ticket, **H)


def rows_of(tables: list, name: str) -> dict[str, dict]:
    cols, rows = table(tables, name)
    return {str(r[2] if name == "ranking" else r[1]): dict(zip(cols, r, strict=True)) for r in rows}


def test_the_wilson_lower_bound_by_hand() -> None:
    # p = good / n, z = 1.96, z² = 3.8416;
    # LB = (p + z²/2n − z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n).
    # 499 good of 500: p = 0.998; z²/2n = 0.0038416; p(1−p)/n = 3.992e-6, z²/4n² =
    # 3.8416e-6, sqrt(7.8336e-6) = 0.00279886, × 1.96 = 0.00548577;
    # (0.998 + 0.0038416 − 0.00548577) / 1.0076832 = 0.99635583 / 1.0076832 = 0.98876.
    assert wilson_lower(499, 500) == pytest.approx(0.98876, abs=1e-5)
    # 1 good of 1: p = 1, the root is z·sqrt(z²/4) = z²/2 = 1.9208, which cancels z²/2n:
    # 1 / (1 + 3.8416) = 0.20654.
    assert wilson_lower(1, 1) == pytest.approx(0.20654, abs=1e-5)
    # 30 of 30 (our minimum, all good): 1 / (1 + 3.8416/30) = 1 / 1.128053 = 0.88648.
    assert wilson_lower(30, 30) == pytest.approx(0.88648, abs=1e-5)
    # Luozhuang's 7199 ratings at 99.93 %: 7194 good (7194/7199 = 0.999305);
    # z²/2n = 0.00026681; p(1−p)/n = 9.6476e-8, z²/4n² = 1.8532e-8,
    # sqrt(1.15008e-7) × 1.96 = 0.00066469; (0.999305 + 0.00026681 − 0.00066469)
    # / 1.00053363 = 0.998375.
    assert wilson_lower(7194, 7199) == pytest.approx(0.998375, abs=1e-6)
    assert wilson_lower(0, 0) is None


def test_one_five_point_rating_does_not_outrank_500_ratings_and_one_bad(tmp_path: Path) -> None:
    events: list[Event] = [
        WindowState(ts=at(8, 30), window="W1", state="open", staff="s1", **H),
        WindowState(ts=at(8, 30), window="W2", state="open", staff="s2", **H),
        *service(at(8, 40), "A001", "W1"),
        rating(at(8, 40, 25), "W1", 5, "A001"),
    ]
    for i in range(500):  # W2: a service every 30 s from 09:00, each rated; one rated 1
        t = at(9, 0) + i * 30_000
        events += [*service(t, f"B{i:03d}", "W2"), rating(t + 25_000, "W2", 1 if i == 250 else 5,
                                                          f"B{i:03d}")]  # fmt: skip
    record(tmp_path, renumber(events))
    days = gather([DAY], tmp_path)

    # By the good rate alone W1 (100 %) would come first; by the bound W2 (98.88 %) does.
    w = rows_of(build(days, min_ratings=1), "ranking")
    assert (w["W2"]["rank"], w["W1"]["rank"]) == (1, 2)
    assert (w["W2"]["good rate"], w["W1"]["good rate"]) == (0.998, 1.0)
    assert w["W2"]["good rate low 95 %"] == pytest.approx(0.98876, abs=1e-5)
    assert w["W1"]["good rate low 95 %"] == pytest.approx(0.20654, abs=1e-5)

    # With our default minimum (30), W1 is listed after, unranked, and says why.
    tables = build(days)
    _, rows = table(tables, "ranking")
    assert MIN_RATINGS == 30 and [r[2] for r in rows] == ["W2", "W1"]
    w = rows_of(tables, "ranking")
    assert w["W2"] == {
        "rank": 1, "hall": "h", "window": "W2", "ratings": 500,
        "repeat ratings (not counted)": 0, "bad ratings": 1, "good rate": 0.998,
        "good rate low 95 %": pytest.approx(0.98876, abs=1e-5), "served": 500,
        "rating coverage": 1.0, "bad unrectified": 1, "complaints": 0, "urgent warnings": 0,
        "idle while waiting min": 0.0, "not ranked because": None,
    }  # fmt: skip
    assert (w["W1"]["rank"], w["W1"]["not ranked because"]) == (None, "1 of the 30 ratings needed")
    text, _ = write(days, None, "md")
    assert "## Window evaluation (窗口测评): ranked from 30 ratings up" in text
    assert "| — | h | W1 | 1 | 0 | 0 | 100.00 % | 20.65 % |" in text
    assert "| 1 | h | W2 | 500 | 0 | 1 | 99.80 % | 98.88 % | 500 | 100.00 % |" in text
    assert "P-SECRET" not in text


def test_one_rating_per_service_and_the_rating_coverage(tmp_path: Path) -> None:
    """A ticket rated twice at one window: the second rating is shown and not counted.
    A ticket transferred from W2 and done at W3 was served twice: a rating at each counts.
    Coverage = rated services ÷ services served (transfers left out)."""
    events: list[Event] = [
        WindowState(ts=at(8, 30), window=w, state="open", staff=f"s{w}", **H)
        for w in ("W1", "W2", "W3")
    ]
    events += [
        *service(at(9, 0), "C1", "W1"), rating(at(9, 0, 30), "W1", 5, "C1"),
        rating(at(9, 5), "W1", 1, "C1"),  # C1 again (by the QR code): a repeat, and bad
        *service(at(9, 10), "C2", "W1"), rating(at(9, 10, 30), "W1", 4, "C2"),
        *service(at(9, 20), "C3", "W1"), *service(at(9, 30), "C4", "W1"),  # not rated
        *service(at(9, 40), "D1", "W2", "transferred"), rating(at(9, 40, 30), "W2", 3, "D1"),
        TicketCalled(ts=at(9, 45), ticket="D1", window="W3", **H),
        ServiceStarted(ts=at(9, 45), ticket="D1", window="W3", **H),
        ServiceFinished(ts=at(9, 50), ticket="D1", window="W3", outcome="done", **H),
        rating(at(9, 50, 30), "W3", 5, "D1"),  # the same ticket at another window: counted
    ]  # fmt: skip
    record(tmp_path, renumber(events))
    days = gather([DAY], tmp_path)
    assert days[0].repeat_ratings == {("h", "W1"): (1, 1)}
    tables = build(days, min_ratings=1)
    w = rows_of(tables, "ranking")
    # W1: 3 ratings recorded (5, 1, 4), the repeat (1, bad) left out: 2 counted, none bad;
    # 4 served (C1-C4): coverage 2/4. W2: 1 rating, its one service a transfer: no
    # coverage. W3: 1 of 1.
    got = {k: (r["ratings"], r["repeat ratings (not counted)"], r["bad ratings"], r["served"],
               r["rating coverage"]) for k, r in w.items()}  # fmt: skip
    assert got == {"W1": (2, 1, 0, 4, 0.5), "W2": (1, 0, 0, 0, None), "W3": (1, 0, 0, 1, 1.0)}
    # Ranked: W1 (2 of 2: 1 / (1 + 3.8416/2) = 1 / 2.9208 = 0.34237) then W3 and W2 (1 of 1:
    # 0.20654 each), W3 first for having served more.
    assert [(r["window"], r["rank"]) for r in w.values()] == [("W1", 1), ("W3", 2), ("W2", 3)]
    assert w["W1"]["good rate low 95 %"] == pytest.approx(0.34237, abs=1e-5)
    # The windows table keeps the snapshot's figures: every rating the feed sent.
    win = rows_of(tables, "windows")
    assert (win["W1"]["ratings"], win["W1"]["bad ratings"]) == (3, 1)
    # The hall: 5 ratings less 1 repeat = 4 rated services, of 5 served (C1-C4, D1 at W3).
    cols, rows = table(tables, "halls")
    hall = dict(zip(cols, rows[0], strict=True))
    assert (hall["ratings"], hall["served"], hall["rating coverage"]) == (5, 5, 0.8)
