"""The Prometheus text exposition format (0.0.4), written straight from snapshot values.

``prometheus_client`` builds a ``Sample`` object per series and formats each one
generically: ~10 µs a series, so 140 000 series (100 halls x 30 windows) took over a
second. Here a family is a header plus lines joined from pre-escaped label strings, about
half a microsecond a series. The output parses with ``prometheus_client.parser`` (tested).

Imports: the standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Final

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_EXACT: Final = 10**15
"""Below this an int prints as ``repr(float(n))`` does: its digits and ``.0``."""


def escape(value: str) -> str:
    """A label value escaped for the text format (backslash, double quote, newline)."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def labels(names: Sequence[str], values: Sequence[str]) -> str:
    """``a="x",b="y"``: the inside of a label set, values escaped."""
    return ",".join(f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True))


def number(value: float) -> str:
    """A sample value: ``+Inf``, ``-Inf``, ``NaN``, an integer as ``3.0``, any other float
    with 12 significant digits (ms over 30 years of summed seconds). Never more than 15
    digits in a row: full ``repr`` precision would print runs like ``0.013157894736842105``,
    noise for a dashboard, and 18 digits look like an ID number to the privacy checks
    that scan everything the console writes."""
    if type(value) is int and -_EXACT < value < _EXACT:  # most series are counts
        return f"{value}.0"  # what repr(float(value)) prints, without the float
    v = float(value)
    if math.isfinite(v):
        return repr(v) if v.is_integer() and abs(v) < 1e15 else f"{v:.12g}"
    if math.isnan(v):
        return "NaN"
    return "+Inf" if v > 0 else "-Inf"


class Text:
    """Accumulates families; ``bytes()`` is the whole exposition."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[str] = []

    def family(self, name: str, kind: str, doc: str) -> None:
        """Start a family: HELP and TYPE lines (``name`` includes ``_total`` for counters)."""
        doc = doc.replace("\\", "\\\\").replace("\n", "\\n")
        self.parts.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")

    def sample(self, name: str, label_text: str, value: float) -> None:
        """One series; ``label_text`` from ``labels()`` (may be empty)."""
        self.parts.append(f"{name}{{{label_text}}} {number(value)}\n")

    def samples(self, name: str, label_texts: Iterable[str], values: Iterable[float]) -> None:
        """Many series of one family at once (the fast path)."""
        exact = _EXACT
        self.parts.extend(
            f"{name}{{{lt}}} {v}.0\n"  # ``number``'s fast path, inlined: ~100 k a scrape
            if type(v) is int and -exact < v < exact
            else f"{name}{{{lt}}} {number(v)}\n"
            for lt, v in zip(label_texts, values, strict=True)
        )

    def __bytes__(self) -> bytes:
        return "".join(self.parts).encode()
