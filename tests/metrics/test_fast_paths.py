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
    third = cases(Heartbeat(ts=ms(11), hall="h"))  # C2 is now deemed accepted: yellow
    assert third["C2"] is not second["C2"] and third["C2"].deemed
    assert third["C2"].card == "yellow" and third["C1"] is second["C1"]
    fourth = cases(CasePaused(seq=4, ts=ms(12), hall="h", case="C1", reason="expert review"))
    assert fourth["C1"].paused and fourth["C1"] is not third["C1"]
    fifth = cases(Heartbeat(ts=ms(20), hall="h"))  # paused: the deadline moves with time
    assert fifth["C1"].deadline_ms == fourth["C1"].deadline_ms + ms(20) - ms(12)
