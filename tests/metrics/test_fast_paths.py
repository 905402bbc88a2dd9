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
