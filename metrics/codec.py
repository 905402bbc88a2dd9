"""Checkpoints that run no code when loaded: named values to msgpack bytes and back.

A pickle names the code that rebuilds each object, so whoever can write one can run code
in whoever loads it. Here a value is described by a *spec* inferred from it as it is
saved — atoms (``int``, ``str``…), ``list``/``set``/``tuple``/``dict`` of specs, numpy
arrays, ``Column`` and ``Registry``, and instances of the classes a ``Codec`` is given —
and read back by msgspec with the Python type built from that spec. Loading only ever
builds those types: nothing in the bytes can name anything else.

How each value is held:

- numpy arrays: dtype, shape and the raw buffer (numbers only: an object array fails);
  ``Column`` and ``Registry`` by their own ``checkpoint()`` / ``restored()``.
- msgspec Structs and dataclasses of the codec's classes: a row of their field values
  (msgspec reads it back by the fields' annotations); NamedTuples as themselves.
- ``dict`` keyed by ``str``/``int`` as a msgpack map; any other key (a tuple) as a
  list of (key, value) pairs. Sets and tuples come back as sets and tuples.
- The same mutable object (a list, dict, set, or an instance of a non-frozen class) met
  twice is saved once and referred to after by where it was first met, so a ticket in
  its zone's queue is the ticket of the day's tickets again after a restore. It may only
  be shared from a list item, a ``str``/``int``-keyed dict value or a named value.

A value of any other type fails the checkpoint (``CheckpointError`` naming where), so a
new field is never silently left out. Reading garbage fails with ``CheckpointError``
too, never another exception.

Bytes meant to be kept are sealed (``sealed``): a magic, what they hold, the checkpoint
format ``VERSION`` and a CRC-32 of the body. Another version is refused, never guessed.

Imports: metrics.columns, msgspec, numpy, the standard library.
"""

from __future__ import annotations

import dataclasses
import struct
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import reduce
from itertools import starmap
from operator import attrgetter, or_
from typing import Any, Final

import msgspec
import numpy as np

from metrics.columns import Column, Registry, numeric_dtype

VERSION: Final = 1
"""The checkpoint format. Bump it whenever what a spec means or how a value is held
changes: bytes of another version are refused."""
MAGIC: Final = b"hwckpt\r\n"
_HEAD: Final = struct.Struct(">8s4sI")  # magic, what the body holds, VERSION
_TAIL: Final = struct.Struct(">I")  # CRC-32 of the body

Buffer = bytes | bytearray | memoryview
#: A spec: an atom's name, or a tuple whose first item says the kind (see ``_pytype``).
Spec = Any
Path = tuple[str | int, ...]

_ATOMS: Final[dict[type, str]] = {
    type(None): "none",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "bytes",
}
_ATOM_TYPES: Final[dict[str, Any]] = {
    "none": None,
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "bytes": bytes,
    "any": Any,
}
#: Held by value: no two places share them, or they cannot change (numpy arrays are
#: saved whole; sharing one between two fields is not supported).
_LEAVES: Final[dict[type, str]] = {np.ndarray: "ndarray", Column: "column", Registry: "registry"}
#: msgspec's type for a leaf's payload (array-like: at most one per union).
_LEAF_TYPES: Final[dict[str, Any]] = {
    "ndarray": tuple[str, list[int], memoryview],
    "column": tuple[str, int, memoryview],
    "registry": tuple[int, str, list[str]],
}
_CONTAINERS: Final = (list, dict, set)
#: Kinds msgpack holds as an array.
_ARRAY_LIKE: Final = frozenset(
    ("list", "tuple", "tuples", "pairs", "obj", "set", "frozenset", *_LEAF_TYPES)
)
#: The spec kinds a container of each type may be saved under.
_KINDS_OF: Final[dict[type, tuple[str, ...]]] = {
    list: ("list",),
    tuple: ("tuple", "tuples"),
    set: ("set",),
    frozenset: ("frozenset",),
    dict: ("dict", "pairs"),
}
_NATIVE_KEYS: Final = frozenset({"str", "int", "any", ("union", ("int", "str"))})
_MAX_DEPTH: Final = 32
_MAX_DECODERS: Final = 4096


class CheckpointError(ValueError):
    """A checkpoint that cannot be made (a value of a type the codec does not know) or
    taken back (another version, damaged, not a checkpoint at all)."""


class _Ref(msgspec.Struct, frozen=True):
    """Where a shared object was first met: a named value, then keys and indices."""

    at: list[str | int]


@dataclasses.dataclass(frozen=True, slots=True)
class _Class:
    """One class a codec saves as a row of its fields (NamedTuples: as themselves)."""

    cls: type
    name: str
    mutable: bool
    row: Callable[[Any], Any] | None
    """Field values as a tuple; None for a NamedTuple (msgspec holds it natively)."""
    row_type: Any


def _class(cls: type) -> _Class:
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _Class(cls, cls.__qualname__, False, None, cls)
    if issubclass(cls, msgspec.Struct):
        fields = cls.__struct_fields__
        mutable = not cls.__struct_config__.frozen
    elif dataclasses.is_dataclass(cls):
        every = dataclasses.fields(cls)
        fields = tuple(f.name for f in every if f.init)
        if len(fields) != len(every):
            raise TypeError(f"{cls.__qualname__}: a field outside __init__ cannot be restored")
        mutable = not cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    else:
        raise TypeError(f"{cls.__qualname__}: not a msgspec Struct, dataclass or NamedTuple")
    if getattr(cls, "__match_args__", None) != fields:
        raise TypeError(f"{cls.__qualname__}: every field must be positional")
    hints = typing.get_type_hints(cls)
    get = attrgetter(*fields)
    row = get if len(fields) > 1 else (lambda v: (get(v),))
    return _Class(cls, cls.__qualname__, mutable, row, tuple[tuple(hints[f] for f in fields)])  # type: ignore[misc]


def _where(path: Path) -> str:
    return ".".join(map(str, path)) or "(top)"


def _kind(spec: Spec) -> str:
    return spec if isinstance(spec, str) else str(spec[0])


def _union(specs: Iterable[Spec]) -> Spec:
    """One spec for values of any of ``specs``: containers of one kind merge into one
    (msgspec reads a union with at most one array-like and one map-like member)."""
    members: set[Spec] = set()
    for s in specs:
        if isinstance(s, tuple) and s[0] == "union":
            members.update(s[1])
        else:
            members.add(s)
    if len(members) > 1:
        members.discard("any")
    if len(members) <= 1:
        return members.pop() if members else "any"
    groups: dict[str, list[Spec]] = {}
    out: list[Spec] = []
    for s in members:
        if isinstance(s, str) or s[0] == "obj":
            out.append(s)
        else:
            groups.setdefault(s[0], []).append(s)
    for kind in ("list", "set", "frozenset"):
        if kind in groups:
            out.append((kind, _union(s[1] for s in groups[kind])))
    fixed, var = groups.get("tuple", []), groups.get("tuples", [])
    if fixed and not var and len({len(s[1]) for s in fixed}) == 1:
        out.append(
            ("tuple", tuple(_union(col) for col in zip(*(s[1] for s in fixed), strict=True)))
        )
    elif fixed or var:
        items = [x for s in fixed for x in s[1]] + [s[1] for s in var]
        out.append(("tuples", _union(items)))
    maps = groups.get("dict", []) + groups.get("pairs", [])
    if maps:
        keys, values = _union(s[1] for s in maps), _union(s[2] for s in maps)
        pairs = "pairs" in groups or keys not in _NATIVE_KEYS
        out.append(("pairs" if pairs else "dict", keys, values))
    if len(out) == 1:
        return out[0]
    return ("union", tuple(sorted(out, key=repr)))


class Codec:
    """Saves and reads back named values (an object's attributes, a rule's memory).

    Args:
        classes: the Structs, dataclasses and NamedTuples values may hold instances of
            (besides atoms, containers, numpy arrays, ``Column`` and ``Registry``).
            Every field positional: a row of field values is passed to the class.
    """

    def __init__(self, *classes: type) -> None:
        self._by_type = {cls: _class(cls) for cls in classes}
        self._by_name = {c.name: c for c in self._by_type.values()}
        if len(self._by_name) != len(self._by_type):
            raise TypeError("two classes of one name")
        self._decoders: dict[Spec, msgspec.msgpack.Decoder[Any]] = {}
        self._types: dict[Spec, Any] = {}
        self._plain: dict[Spec, bool] = {}
        self._entries = msgspec.msgpack.Decoder(list[tuple[str, Any, msgspec.Raw]])
        self._encoder = msgspec.msgpack.Encoder()

    # --- saving --------------------------------------------------------------------------

    def dump(self, values: Mapping[str, Any]) -> bytes:
        """``values`` as msgpack: one (name, spec, payload) entry each.

        Raises:
            CheckpointError: a value (or something in it) of a type the codec does not
                know, an object shared where it cannot be referred to, or values of
                kinds msgspec cannot tell apart in one container (both named).
        """
        walk = _Walk(self)
        specs = {name: walk.infer(value, (name,), True) for name, value in values.items()}
        entries = []
        for name, value in values.items():
            spec = specs[name]
            try:
                self._decoder(spec)  # what cannot be read back is not written
            except (TypeError, ValueError) as error:
                raise CheckpointError(f"{name}: cannot be read back ({error})") from error
            entries.append((name, spec, walk.payload(spec, value, (name,))))
        try:
            return self._encoder.encode(entries)
        except (TypeError, OverflowError) as error:
            raise CheckpointError(f"cannot encode: {error}") from error

    # --- reading -------------------------------------------------------------------------

    def load(self, data: Buffer) -> dict[str, Any]:
        """The values ``dump`` saved, of the very types they had.

        Raises:
            CheckpointError: not what ``dump`` writes (garbage, an unknown spec or class).
        """
        try:
            values: dict[str, Any] = {}
            fixups: list[tuple[Any, Any, list[str | int]]] = []
            for name, wire, raw in self._entries.decode(data):
                spec = self._spec(wire, 0)
                values[name] = self._finish(spec, self._decoder(spec).decode(raw), fixups)
                if isinstance(values[name], _Ref):
                    fixups.append((values, name, values[name].at))
            for container, key, at in fixups:
                target: Any = values[str(at[0])]
                for step in at[1:]:
                    target = target[step]
                if isinstance(target, _Ref):
                    raise CheckpointError("a reference to a reference")
                container[key] = target
            return values
        except CheckpointError:
            raise
        except Exception as error:  # garbage of any shape: refused, never a traceback
            raise CheckpointError(f"undecodable: {type(error).__name__}: {error}") from error

    def _spec(self, wire: Any, depth: int) -> Spec:
        """A spec as read (lists for tuples), checked: only known atoms, kinds, classes."""
        if depth > _MAX_DEPTH:
            raise CheckpointError("spec nested too deep")
        if isinstance(wire, str):
            if wire in _ATOM_TYPES or wire in _LEAF_TYPES or wire == "ref":
                return wire
            raise CheckpointError(f"unknown spec {wire[:40]!r}")
        if not isinstance(wire, list) or not wire:
            raise CheckpointError("bad spec")
        kind, *rest = wire
        d = depth + 1
        if kind in ("list", "set", "frozenset", "tuples") and len(rest) == 1:
            return (kind, self._spec(rest[0], d))
        if kind in ("dict", "pairs") and len(rest) == 2:
            return (kind, self._spec(rest[0], d), self._spec(rest[1], d))
        if kind in ("tuple", "union") and len(rest) == 1 and isinstance(rest[0], list):
            return (kind, tuple(self._spec(s, d) for s in rest[0]))
        if kind == "obj" and len(rest) == 1:
            if rest[0] in self._by_name:
                return (kind, rest[0])
            raise CheckpointError(f"a class this codec does not know: {str(rest[0])[:40]!r}")
        raise CheckpointError(f"unknown spec kind {str(kind)[:40]!r}")

    def _decoder(self, spec: Spec) -> msgspec.msgpack.Decoder[Any]:
        found = self._decoders.get(spec)
        if found is None:
            if len(self._decoders) > _MAX_DECODERS:  # (specs a file made up: forget them)
                self._decoders.clear()
                self._types.clear()
                self._plain.clear()
            found = self._decoders[spec] = msgspec.msgpack.Decoder(self._pytype(spec))
        return found

    def plain(self, spec: Spec) -> bool:
        """msgspec alone saves and reads such values back exactly (nothing to convert)."""
        found = self._plain.get(spec)
        if found is None:
            found = self._plain[spec] = self._is_plain(spec)
        return found

    def _is_plain(self, spec: Spec) -> bool:
        if isinstance(spec, str):
            return spec in _ATOM_TYPES
        kind = spec[0]
        if kind in ("list", "set", "frozenset", "tuples"):
            return self.plain(spec[1])
        if kind in ("tuple", "union"):
            return all(map(self.plain, spec[1]))
        if kind == "dict":
            return self.plain(spec[2])
        return kind == "obj" and self._by_name[spec[1]].row is None

    def _pytype(self, spec: Spec) -> Any:
        """The type msgspec reads a payload of ``spec`` as."""
        found = self._types.get(spec)
        if found is not None:
            return found
        if isinstance(spec, str):
            t = _ATOM_TYPES[spec] if spec in _ATOM_TYPES else _LEAF_TYPES.get(spec, _Ref)
        else:
            kind = spec[0]
            if kind == "list" or (kind in ("set", "frozenset") and not self.plain(spec)):
                t = list[self._pytype(spec[1])]  # type: ignore[misc]
            elif kind == "set":
                t = set[self._pytype(spec[1])]  # type: ignore[misc]
            elif kind == "frozenset":
                t = frozenset[self._pytype(spec[1])]  # type: ignore[misc]
            elif kind == "tuples":
                t = tuple[self._pytype(spec[1]), ...]  # type: ignore[misc]
            elif kind == "tuple":
                t = tuple[tuple(map(self._pytype, spec[1]))] if spec[1] else tuple[()]  # type: ignore[misc]
            elif kind == "dict":
                t = dict[self._pytype(spec[1]), self._pytype(spec[2])]  # type: ignore[misc]
            elif kind == "pairs":
                t = list[tuple[self._pytype(spec[1]), self._pytype(spec[2])]]  # type: ignore[misc]
            elif kind == "obj":
                t = self._by_name[spec[1]].row_type
            else:  # union
                t = reduce(or_, map(self._pytype, spec[1]))
        self._types[spec] = t
        return t

    def _finish(
        self, spec: Spec, value: Any, fixups: list[tuple[Any, Any, list[str | int]]]
    ) -> Any:
        """A payload as msgspec read it, made into the saved value (references wait in
        ``fixups`` until every value is read)."""
        if self.plain(spec):
            return value
        if isinstance(spec, str):
            if spec == "ndarray":
                dtype, shape, buffer = value
                return np.frombuffer(buffer, numeric_dtype(dtype)).reshape(shape).copy()
            if spec == "column":
                return Column.restored(*value)
            if spec == "registry":
                return Registry.restored(*value)
            return value  # a _Ref: where it is held, the caller notes it
        kind = spec[0]
        if kind == "obj":
            return self._by_name[spec[1]].cls(*value)
        if kind == "union":
            return self._finish(self._member(spec, value), value, fixups)
        if kind in ("list", "dict"):
            item = spec[1] if kind == "list" else spec[2]
            if isinstance(item, tuple) and item[0] == "obj":
                cls = self._by_name[item[1]].cls
                if kind == "list":
                    return list(starmap(cls, value))
                return dict(zip(value.keys(), starmap(cls, value.values()), strict=True))
            if kind == "list":
                out: Any = [self._finish(item, v, fixups) for v in value]
                refs: Iterable[tuple[Any, Any]] = enumerate(out)
            else:
                out = {k: self._finish(item, v, fixups) for k, v in value.items()}
                refs = out.items()
            fixups.extend((out, k, v.at) for k, v in refs if isinstance(v, _Ref))
            return out
        if kind == "pairs":
            out = {self._finish(spec[1], k, fixups): self._finish(spec[2], v, fixups)
                   for k, v in value}  # fmt: skip
        elif kind in ("set", "frozenset"):
            out = {self._finish(spec[1], v, fixups) for v in value}
            out = out if kind == "set" else frozenset(out)
        elif kind == "tuples":
            out = tuple(self._finish(spec[1], v, fixups) for v in value)
        else:  # tuple
            if len(value) != len(spec[1]):
                raise CheckpointError("a tuple of another length")
            out = tuple(map(lambda s, v: self._finish(s, v, fixups), spec[1], value))
        held = out.items() if isinstance(out, dict) else out
        if any(isinstance(v, _Ref) for v in held):
            raise CheckpointError(f"a reference where none can be ({kind})")
        return out

    def _member(self, spec: Spec, value: Any) -> Spec:
        """The member of a union spec a payload as read belongs to, by its type: msgspec
        reads unions of at most one array-like and one map-like member."""
        if isinstance(value, _Ref):
            wanted: frozenset[str] = frozenset(("ref",))
        elif isinstance(value, dict):
            wanted = frozenset(("dict",))
        elif isinstance(value, list | tuple | set | frozenset):
            wanted = _ARRAY_LIKE
        else:
            return "any"  # an atom: as read
        for member in spec[1]:
            if _kind(member) in wanted:
                return member
        raise CheckpointError("a value of no member of its union")


class _Among:
    """Objects first met together as the items of one container (a day's tickets):
    the path of each is worked out only for the few referred to again."""

    __slots__ = ("_keys", "container", "path")

    def __init__(self, path: Path, container: dict[Any, Any] | list[Any]) -> None:
        self.path = path
        self.container = container
        self._keys: dict[int, Any] | None = None

    def path_of(self, value: Any) -> Path:
        if self._keys is None:
            c = self.container
            self._keys = {id(v): k for k, v in (c.items() if isinstance(c, dict) else enumerate(c))}
        return (*self.path, self._keys[id(value)])


_UNSEEN: Final = object()


class _Walk:
    """One ``dump``: infers every value's spec, then builds the payloads; remembers
    where each mutable object was first met (``seen``), to save it once."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.classes = codec._by_type
        self.seen: dict[int, Path | _Among | None] = {}
        """id → where it was first met; None: where nothing can refer to it."""

    def _first(self, value: Any) -> Path | None:
        """Where ``value`` was first met (None: nowhere it can be referred to)."""
        where = self.seen[id(value)]
        return where.path_of(value) if isinstance(where, _Among) else where

    def _tracked(self, value: Any) -> bool:
        t = type(value)
        return t in _CONTAINERS or (t in self.classes and self.classes[t].mutable)

    def infer(self, value: Any, path: Path, referable: bool) -> Spec:
        t = type(value)
        atom = _ATOMS.get(t)
        if atom is not None:
            return atom
        leaf = _LEAVES.get(t)
        if leaf is not None:
            if leaf == "ndarray":
                try:
                    numeric_dtype(value.dtype.str)
                except ValueError as error:
                    raise CheckpointError(f"{_where(path)}: {error}") from error
            return leaf
        cls = self.classes.get(t)
        if t in _CONTAINERS or (cls is not None and cls.mutable):
            first = self.seen.get(id(value), _UNSEEN)
            if first is not _UNSEEN:
                if first is None or not referable:
                    raise CheckpointError(
                        f"{_where(path)}: a {t.__qualname__} also held elsewhere, where "
                        "it cannot be referred to (inside a tuple, set, or tuple-keyed dict)"
                    )
                return "ref"
            self.seen[id(value)] = path if referable else None
        if cls is not None:
            return ("obj", cls.name)
        if t is list:
            return ("list", self._items(value, path, value, True))
        if t is dict:
            keys = self._keys(value, path)
            if keys in _NATIVE_KEYS:
                return ("dict", keys, self._items(list(value.values()), path, value, True))
            return ("pairs", keys, self._items(list(value.values()), path, value, False))
        if t is tuple:
            return ("tuple", tuple(self.infer(v, (*path, i), False) for i, v in enumerate(value)))
        if t is set or t is frozenset:
            return (t.__name__, self._items(list(value), path, None, False))
        raise CheckpointError(
            f"{_where(path)}: a {t.__module__}.{t.__qualname__}, a type the checkpoint "
            "does not know (add it to the codec, or say how to save it)"
        )

    def _keys(self, value: dict[Any, Any], path: Path) -> Spec:
        types = set(map(type, value))
        if types <= {str, int}:
            return _union(_ATOMS[t] for t in types)
        return _union(self.infer(k, (*path, "(key)"), False) for k in value)

    def _items(self, values: list[Any], path: Path, container: Any, referable: bool) -> Spec:
        """The spec of the items ``values`` of ``container`` (a dict, list, tuple or set)."""
        types = set(map(type, values))
        if len(types) == 1:
            t = next(iter(types))
            atom = _ATOMS.get(t)
            if atom is not None:
                return atom
            cls = self.classes.get(t)
            if cls is not None and not cls.mutable:
                return ("obj", cls.name)
            if cls is not None:  # mutable: each is met here first, or it is a reference
                ids = list(map(id, values))
                seen = self.seen
                if seen.keys().isdisjoint(ids):
                    before = len(seen)
                    seen.update(dict.fromkeys(ids, _Among(path, container) if referable else None))
                    if len(seen) - before == len(ids):
                        return ("obj", cls.name)
                    for i in ids:  # one object twice in it: each item on its own
                        seen.pop(i, None)
        elif types.issubset(_ATOMS):
            return _union(_ATOMS[t] for t in types)
        keys = container if isinstance(container, dict) else range(len(values))
        paths = ((*path, k) for k in keys)
        return _union(map(lambda v, p: self.infer(v, p, referable), values, paths))

    def payload(self, spec: Spec, value: Any, path: Path) -> Any:
        """``value`` as msgspec encodes it under ``spec``."""
        codec = self.codec
        if codec.plain(spec):
            return value
        if isinstance(spec, str):
            if spec == "ndarray":
                a = np.ascontiguousarray(value)
                return (a.dtype.str, list(a.shape), a.reshape(-1).view(np.uint8).data)
            if spec in ("column", "registry"):
                return value.checkpoint()
            first = self._first(value)  # "ref"
            assert first is not None
            return _Ref(list(first))
        kind = spec[0]
        if kind == "obj":
            row = self.classes[type(value)].row
            assert row is not None
            return row(value)
        if kind == "union":
            return self.payload(self._member(spec, value, path), value, path)
        if kind in ("list", "tuples"):
            item = spec[1]
            if isinstance(item, tuple) and item[0] == "obj":
                return list(map(self.classes[type(value[0])].row, value)) if value else []  # type: ignore[arg-type]
            return [self.payload(item, v, (*path, i)) for i, v in enumerate(value)]
        if kind == "dict":
            item = spec[2]
            if isinstance(item, tuple) and item[0] == "obj" and value:
                row = self.classes[type(next(iter(value.values())))].row
                return dict(zip(value.keys(), map(row, value.values()), strict=True))  # type: ignore[arg-type]
            return {k: self.payload(item, v, (*path, k)) for k, v in value.items()}
        if kind == "pairs":
            return [(self.payload(spec[1], k, path), self.payload(spec[2], v, (*path, k)))
                    for k, v in value.items()]  # fmt: skip
        if kind in ("set", "frozenset"):
            return [self.payload(spec[1], v, path) for v in value]
        return [
            self.payload(s, v, (*path, i))
            for i, (s, v) in enumerate(zip(spec[1], value, strict=True))
        ]

    def _member(self, spec: Spec, value: Any, path: Path) -> Spec:
        """The member of a union spec ``value`` is saved under."""
        members = spec[1]
        if "ref" in members and self._tracked(value) and self._first(value) != path:
            return "ref"
        t = type(value)
        atom = _ATOMS.get(t) or _LEAVES.get(t)
        if atom is not None:
            return atom
        cls = self.classes.get(t)
        wanted = _KINDS_OF.get(t, ("obj",))
        for member in members:
            if _kind(member) in wanted and (cls is None or member[1] == cls.name):
                return member
        raise CheckpointError(f"{_where(path)}: no member of {spec!r} for a {t.__qualname__}")


def attributes(obj: object) -> dict[str, Any]:
    """An object's attributes by name, in its ``__dict__`` and its ``__slots__``."""
    found = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                found.setdefault(name, getattr(obj, name))
    return found


def set_attributes(obj: object, values: Mapping[str, Any]) -> None:
    """Set ``obj``'s attributes (``__dict__`` or ``__slots__``) to ``values``."""
    for name, value in values.items():
        setattr(obj, name, value)


# --- sealed bytes -------------------------------------------------------------------------


def sealed(kind: bytes, body: Iterable[Buffer]) -> Iterator[Buffer]:
    """``body`` (the chunks of one msgpack value) between a head (magic, ``kind``,
    ``VERSION``) and its CRC-32: joined, they are bytes ``unsealed`` takes back. A
    generator, so a file can take one chunk at a time."""
    if len(kind) != 4:
        raise ValueError("a kind is 4 bytes")
    yield _HEAD.pack(MAGIC, kind, VERSION)
    crc = 0
    for chunk in body:
        crc = zlib.crc32(chunk, crc)
        yield chunk
    yield _TAIL.pack(crc)


def unsealed(kind: bytes, data: Buffer) -> memoryview:
    """The body of ``sealed`` bytes (no copy).

    Raises:
        CheckpointError: not sealed bytes of ``kind``, of another ``VERSION``, or damaged.
    """
    view = memoryview(data)
    if view.nbytes < _HEAD.size + _TAIL.size or view.format != "B":
        raise CheckpointError("not a checkpoint")
    magic, got, version = _HEAD.unpack_from(view)
    if magic != MAGIC:
        raise CheckpointError("not a checkpoint")
    if got != kind:
        raise CheckpointError(f"a checkpoint of {got!r}, not of {kind!r}")
    if version != VERSION:
        age = "an older" if version < VERSION else "a newer"
        raise CheckpointError(f"made by {age} hallwatch (checkpoint version {version})")
    body = view[_HEAD.size : view.nbytes - _TAIL.size]
    (crc,) = _TAIL.unpack_from(view, view.nbytes - _TAIL.size)
    if zlib.crc32(body) != crc:
        raise CheckpointError("damaged (its CRC-32 does not match)")
    return body


def msgpack_array(items: int) -> bytes:
    """The head of a msgpack array of ``items`` values (each then written as it is)."""
    return b"\xdd" + items.to_bytes(4, "big")
