"""Storage helpers for the state engine: growable numpy columns and capped registries.

Each says what a checkpoint keeps of it (``checkpoint()``) and is rebuilt from that
(``restored()``): plain values and raw buffers, for ``metrics.codec``.

Imports: numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: numpy kinds a checkpoint may hold: bool, signed and unsigned ints, floats, complex.
_NUMERIC_KINDS = frozenset("biufc")


def numeric_dtype(name: str) -> np.dtype[Any]:
    """The dtype ``name`` (``dtype.str``, e.g. ``<i8``), if it holds plain numbers.

    Raises:
        ValueError: another dtype (objects, records, strings): a checkpoint holds none.
    """
    dtype = np.dtype(name)
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.hasobject:
        raise ValueError(f"an array of dtype {name!r}: only plain numbers are saved")
    return dtype


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

    def checkpoint(self) -> tuple[str, int, memoryview]:
        """(dtype, capacity, the filled part's bytes): what ``restored`` takes back."""
        return self._data.dtype.str, len(self._data), self.view().view(np.uint8).data

    @classmethod
    def restored(cls, dtype: str, capacity: int, data: bytes | memoryview) -> Column:
        """The column ``checkpoint()`` described (its capacity kept within reason: a
        checkpoint's numbers never allocate more than twice what they hold).

        Raises:
            ValueError: not a dtype of numbers, or bytes that are not whole items.
        """
        values = np.frombuffer(data, numeric_dtype(dtype))
        n = len(values)
        column = cls(dtype, max(n, min(capacity, 2 * n + 256)))
        column._data[:n] = values
        column._n = n
        return column


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

    def checkpoint(self) -> tuple[int, str, list[str]]:
        """(cap, overflow label, names in index order): what ``restored`` takes back."""
        return self.cap, self.overflow, self.names

    @classmethod
    def restored(cls, cap: int, overflow: str, names: list[str]) -> Registry:
        """The registry ``checkpoint()`` described.

        Raises:
            ValueError: more names than the cap, or a name twice.
        """
        registry = cls(cap, overflow)
        registry._index = {name: i for i, name in enumerate(names)}
        if len(registry._index) != len(names) or len(names) > cap:
            raise ValueError("a registry over its cap, or with a name twice")
        registry.names = list(names)
        return registry
