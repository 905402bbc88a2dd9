"""Storage helpers for the state engine: growable numpy columns and capped registries.

Imports: numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class Column:
    """An append-only numpy column with geometric growth (amortised O(1) appends).

    ``col[i]`` reads and writes one element; ``col.view()`` is the filled part (no copy).
    """

    __slots__ = ("_data", "_n")

    def __init__(self, dtype: Any, capacity: int = 256) -> None:
        self._data: npt.NDArray[Any] = np.zeros(capacity, dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need > len(self._data):
            size = max(need, 2 * len(self._data))
            grown = np.zeros(size, self._data.dtype)
            grown[: self._n] = self._data[: self._n]
            self._data = grown

    def append(self, value: Any) -> None:
        if self._n == len(self._data):
            self._reserve(1)
        self._data[self._n] = value
        self._n += 1

    def extend(self, values: npt.ArrayLike) -> None:
        arr = np.asarray(values)
        self._reserve(len(arr))
        self._data[self._n : self._n + len(arr)] = arr
        self._n += len(arr)

    def view(self) -> npt.NDArray[Any]:
        return self._data[: self._n]

    def __getitem__(self, i: int) -> Any:
        return self._data[i]

    def __setitem__(self, i: int, value: Any) -> None:
        self._data[i] = value


class Registry:
    """Names to dense indices, capped: past the cap every new name maps to the overflow.

    Keeps Prometheus labels bounded (docs/metrics.md, "Labels") whatever a feed sends.
    """

    __slots__ = ("_index", "cap", "names", "overflow")

    def __init__(self, cap: int, overflow: str) -> None:
        self.cap = cap
        self.overflow = overflow
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        i = self._index.get(name)
        if i is not None:
            return i
        if len(self.names) >= self.cap - 1 and name != self.overflow:
            return self.index(self.overflow)
        i = self._index[name] = len(self.names)
        self.names.append(name)
        return i

    def get(self, name: str) -> int | None:
        return self._index.get(name)
