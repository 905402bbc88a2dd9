"""The read side's fast paths give the same figures, bit for bit, as their definitions."""

from __future__ import annotations

import numpy as np

from metrics import figures as fig


def _by_definition(values: np.ndarray, groups: np.ndarray, n: int) -> list:
    """(mean, p90) per group as docs/figures.md defines them: ndarray.mean, linear p90."""
    sorted_ms, bounds = fig.group_sorted(values, groups, n)
    out = []
    for g in range(n):
        part = sorted_ms[bounds[g] : bounds[g + 1]]
        if len(part):
            out.append((float(part.mean()) / 1000.0, fig.quantiles(part, (0.9,))[0] / 1000.0))
        else:
            out.append((None, None))
    return out


def test_grouped_mean_p90_all_groups_at_once_is_exact() -> None:
    rng = np.random.default_rng(8)
    for _ in range(500):
        n = int(rng.integers(1, 12))
        m = int(rng.integers(0, 80))
        groups = rng.integers(0, n, m).astype(np.int32)
        values = rng.integers(0, int(rng.choice([10, 10**4, 10**8])), m).astype(np.int64)
        got = fig.grouped_mean_p90(values, groups, n)
        assert got == _by_definition(values, groups, n)
        assert all(type(x) in (float, type(None)) for pair in got for x in pair)
    # Floats (never from the state today) and huge integers take the per-group path.
    values = rng.random(50) * 1e6
    groups = rng.integers(0, 4, 50)
    assert fig.grouped_mean_p90(values, groups, 4) == _by_definition(values, groups, 4)
    assert (
        fig.grouped_mean_p90(np.zeros(0, np.int64), np.zeros(0, np.int32), 3) == [(None, None)] * 3
    )


def test_an_int_sample_prints_as_its_float_would() -> None:
    from metrics.promtext import Text, number

    for n in (0, 1, -1, 42, 2**40, 10**15 - 1, -(10**15) + 1, 10**15, -(10**15), 2**53):
        assert number(n) == number(float(n))
    text = Text()
    text.samples("m", ['a="1"', 'a="2"', 'a="3"'], [7, 7.0, 10**15])
    assert bytes(text) == b'm{a="1"} 7.0\nm{a="2"} 7.0\nm{a="3"} 1e+15\n'


def test_an_unchanged_case_keeps_its_view_a_changed_one_gets_a_new_one() -> None:
    from feeds.protocol import CaseAccepted, CasePaused, CaseSubmitted, Heartbeat
    from metrics.state import CityState
    from tests.factories import ms

    state = CityState()

    def cases(*events: object) -> dict:
        state.apply(list(events))  # type: ignore[arg-type]
        return {c.case: c for c in state.snapshot("h").cases}

    first = cases(
        CaseSubmitted(seq=1, ts=ms(0), hall="h", case="C1", item="i", dept="d", promised_days=3),
        CaseSubmitted(seq=2, ts=ms(0), hall="h", case="C2", item="i", dept="d", promised_days=0),
    )
    second = cases(CaseAccepted(seq=3, ts=ms(2), hall="h", case="C1"))
    assert second["C1"] is not first["C1"] and not second["C1"].deemed
    assert second["C1"].accepted_ms == ms(2)
    assert second["C2"] is first["C2"]  # nothing about C2 changed
    # C2 is now deemed accepted (09:10); a same-day case is yellow only from the hall's
    # closing time (17:30), not from its acceptance.
    third = cases(Heartbeat(ts=ms(11), hall="h"))
    assert third["C2"] is not second["C2"] and third["C2"].deemed
    assert third["C2"].card == "none" and third["C1"] is second["C1"]
    fourth = cases(CasePaused(seq=4, ts=ms(12), hall="h", case="C1", reason="专家评审"))
    assert fourth["C1"].paused and fourth["C1"] is not third["C1"]
    # Paused for a listed procedure: the deadline moves by whole working days (8 minutes
    # stopped so far: one day), and again with the next working day of pause.
    fifth = cases(Heartbeat(ts=ms(20), hall="h"))
    assert fifth["C1"].deadline_ms == third["C1"].deadline_ms + 86_400_000
    assert fifth["C1"] is not fourth["C1"]  # the figures moved (the clock): a new view
    assert fifth["C2"] is third["C2"]  # nothing about C2 changed
    sixth = cases(Heartbeat(ts=ms(8 * 60 + 30), hall="h"))  # 17:30, the hall closes
    assert sixth["C2"].card == "yellow" and sixth["C2"] is not fifth["C2"]


def _stats_by_definition(values: np.ndarray, groups: np.ndarray, n: int, qs: tuple) -> tuple:
    """(counts, sums, means, quantiles of the non-empty groups) as docs/figures.md defines
    them: each group's sorted values, ndarray.mean, linear quantiles; np.bincount sums."""
    sorted_ms, bounds = fig.group_sorted(values, groups, n)
    parts = [sorted_ms[bounds[g] : bounds[g + 1]] for g in range(n)]
    return (
        [len(p) for p in parts],
        np.bincount(groups, weights=values, minlength=n).tolist(),
        [float(p.mean()) / 1000.0 if len(p) else None for p in parts],
        [fig.quantiles(p, qs) for p in parts if len(p)],
    )


def test_grouped_stats_of_many_parts_at_once_is_each_part_by_definition() -> None:
    rng = np.random.default_rng(11)
    qs = (0.5, 0.9, 0.99)
    cases = []
    for _ in range(300):
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(1, 9))
            m = int(rng.integers(0, 60))
            top = int(rng.choice([10, 10**6, 10**9]))
            values = rng.integers(-top // 10, top, m).astype(np.int64)  # a wait may be < 0
            parts.append((values, rng.integers(0, n, m).astype(np.int32), n))
        cases.append(parts)
    # Floats and sums past 2**53 take the group-by-group path: the same definition.
    cases.append([(rng.random(40) * 1e6, rng.integers(0, 3, 40), 3)])
    cases.append([(np.full(5, 2**51, np.int64), np.zeros(5, np.int64), 2)])
    for parts in cases:
        for (values, groups, n), got in zip(parts, fig.grouped_stats(parts, qs), strict=True):
            counts, sums, means, quantiles = _stats_by_definition(values, groups, n, qs)
            assert (got.counts, got.sum_ms, got.mean_s) == (counts, sums, means)
            assert [[q[g] for q in got.quantiles_ms] for g in range(n) if counts[g]] == quantiles
            assert all(type(x) is float for x in got.sum_ms)


def test_grouped_waits_are_wait_stats_of_each_zone_and_the_hall() -> None:
    rng = np.random.default_rng(12)
    for _ in range(200):
        nz = int(rng.integers(1, 5))
        m = int(rng.integers(0, 50))
        wait_ms = rng.integers(0, 4_000_000, m).astype(np.int64)
        zone = rng.integers(0, nz, m).astype(np.int32)
        recent = rng.random(m) < 0.4
        limits = rng.choice([600.0, 1800.0, 1234.5], nz)
        got = fig.grouped_waits(wait_ms, zone, limits, (None, recent))
        for (per_zone, hall), mask in zip(got, (np.ones(m, bool), recent), strict=True):
            ms_, z_ = wait_ms[mask], zone[mask]
            sorted_ms, bounds = fig.group_sorted(ms_, z_, nz)
            assert per_zone == [
                fig.wait_stats(sorted_ms[bounds[k] : bounds[k + 1]], float(limits[k]))
                for k in range(nz)
            ]
            order = np.argsort(ms_, kind="stable")
            assert hall == fig.wait_stats(ms_[order], limits[z_[order]])


def test_outcome_counts_name_the_protocol_outcomes_in_order() -> None:
    from feeds.protocol import SERVICE_OUTCOMES

    row = [3, 1, 4, 1, 5]
    assert fig.outcome_counts(row) == dict(zip(SERVICE_OUTCOMES, row, strict=True))
    assert fig.outcome_counts(np.asarray(row)) == dict(zip(SERVICE_OUTCOMES, row, strict=True))


def test_a_snapshot_from_the_day_totals_memo_is_the_one_built_afresh() -> None:
    from feeds.protocol import Heartbeat, ServiceFinished, TicketCalled
    from metrics import day_totals
    from metrics.state import CityState
    from metrics.view import build_snapshot
    from tests.factories import figures_day, ms

    def fresh(h: object) -> object:
        day_totals._MEMOS.clear()
        return build_snapshot(h)  # type: ignore[arg-type]

    def same(a: object, b: object) -> None:
        fields = ("zones", "windows", "staff", "day_waits", "hour_waits", "served_today")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]

    state = CityState()
    state.apply(figures_day())
    h = state.halls["lz"]
    h.flush()
    first = build_snapshot(h)
    same(first, fresh(h))
    # The clock moves and nothing is appended: the totals come from the memo.
    state.apply([Heartbeat(ts=ms(75), hall="lz")])
    h.flush()
    from_memo = build_snapshot(h)
    assert from_memo.windows[0].open_s > first.windows[0].open_s
    same(from_memo, fresh(h))
    # A service ends (the columns grow): new totals.
    state.apply(
        [
            TicketCalled(seq=100, ts=ms(76), hall="lz", ticket="B004", window="W01"),
            ServiceFinished(seq=101, ts=ms(80), hall="lz", ticket="B002", window="W01",
                            outcome="done"),
        ]
    )  # fmt: skip
    h.flush()
    grown = build_snapshot(h)
    assert grown.served_today == from_memo.served_today + 1
    same(grown, fresh(h))
