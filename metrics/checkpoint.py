"""Every hall's state as bytes and back (``CityState.checkpoint`` / ``restore``).

A hall is saved attribute by attribute, whatever attributes ``HallState`` has now
(``metrics.codec`` infers how to hold each and fails on a type it does not know), but
for two that are not the hall's to keep: ``settings`` comes from the configuration in
use when it is restored (a checkpoint is only used with the configuration it was made
with: ``runtime.snapshot``), and ``out``, the result of the batch being applied, starts
empty. A hall read back has exactly the attributes a new ``HallState`` has, or it is
refused.

The bytes: sealed ``b"city"`` (``metrics.codec.sealed``), the body a msgpack array of
one ``Codec.dump`` per hall, written one hall at a time (``checkpoint_stream``).

Imports: metrics.codec, metrics.hall, metrics.cases (the snapshot memo's figures),
metrics.snapshot (CaseView).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from itertools import chain
from typing import Any, Final

import msgspec

from metrics.cases import _CaseFigures
from metrics.codec import (
    Buffer,
    CheckpointError,
    Codec,
    attributes,
    msgpack_array,
    sealed,
    set_attributes,
    unsealed,
)
from metrics.hall import ApplyResult, Case, HallState, Settings, Ticket
from metrics.snapshot import CaseView

KIND: Final = b"city"
NOT_SAVED: Final = ("settings", "out")
"""Attributes a hall takes at restore instead: its settings, an empty batch result."""
CODEC: Final = Codec(Ticket, Case, CaseView, _CaseFigures)
_HALLS: Final = msgspec.msgpack.Decoder(list[msgspec.Raw])


@cache
def _saved_names() -> frozenset[str]:
    """The attributes a checkpoint of a hall holds: a new hall's, but ``NOT_SAVED``."""
    return frozenset(attributes(HallState("", Settings()))) - set(NOT_SAVED)


def saved_attributes(hall: HallState) -> dict[str, Any]:
    """What a checkpoint keeps of ``hall``: every attribute but ``NOT_SAVED``."""
    return {k: v for k, v in attributes(hall).items() if k not in NOT_SAVED}


def dump_hall(hall: HallState) -> bytes:
    """One hall's attributes (``NOT_SAVED`` aside) as ``Codec.dump`` bytes.

    Raises:
        CheckpointError: an attribute (named) holds a type the codec does not know.
    """
    return CODEC.dump(saved_attributes(hall))


def load_hall(data: Buffer, settings_of: Callable[[str], Settings]) -> HallState:
    """The hall ``dump_hall`` saved, under ``settings_of(its id)``.

    Raises:
        CheckpointError: garbage, or not the attributes this code's halls have.
    """
    values = CODEC.load(data)
    names = values.keys()
    if names != _saved_names():
        missing, extra = sorted(_saved_names() - names), sorted(names - _saved_names())
        raise CheckpointError(f"a hall of other fields (lacks {missing}, has {extra})")
    if not isinstance(values["hall"], str):
        raise CheckpointError("a hall without an id")
    hall = HallState.__new__(HallState)
    set_attributes(hall, values)
    hall.settings = settings_of(hall.hall)
    hall.out = ApplyResult()
    return hall


def checkpoint_stream(halls: Mapping[str, HallState]) -> Iterator[bytes]:
    """Sealed bytes of every hall, one hall at a time (what ``load_halls`` reads).

    Each hall is flushed first, as for a snapshot (what it buffered goes to its numpy
    columns, which are saved as raw bytes: smaller and quicker than lists of ints); no
    figure depends on when a hall flushes."""
    every = list(halls.values())
    body = chain((msgpack_array(len(every)),), map(_flushed_dump, every))
    return sealed(KIND, body)  # type: ignore[return-value]


def _flushed_dump(hall: HallState) -> bytes:
    hall.flush()
    with _no_collection():
        return dump_hall(hall)


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while halls are read (or one is saved): that makes many
    small objects and no cycle, and the collections they set off (a full one scans the
    whole heap) cost a city's restore ~40% more (bench/snapshot.py)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_halls(data: Buffer, settings_of: Callable[[str], Settings]) -> dict[str, HallState]:
    """Every hall ``checkpoint_stream`` saved, by id.

    Raises:
        CheckpointError: not a city checkpoint of this version, damaged, or garbage.
    """
    body = unsealed(KIND, data)
    try:
        raws = _HALLS.decode(body)
    except msgspec.DecodeError as error:
        raise CheckpointError(f"undecodable: {error}") from error
    halls: dict[str, HallState] = {}
    with _no_collection():
        for raw in raws:
            hall = load_hall(raw, settings_of)
            if hall.hall in halls:
                raise CheckpointError(f"hall {hall.hall!r} twice")
            halls[hall.hall] = hall
    return halls
