"""Frame decoding: one reused msgspec decoder, good events kept, bad ones explained.

A data frame is one event object or a JSON array of them (protocol.md, "Frames"). The
fast path decodes the whole frame in one call. Only when that fails does the slow path
split the array into raw elements and decode each alone, so one bad event never spoils
its batch and every rejection has a reason. ``person`` is pseudonymized here, before any
other code sees the event.

The reason of a rejected element is decided by this module's own checks, not by the
wording of msgspec's errors: the element is decoded generically and checked against
field tables derived once, with ``msgspec.inspect``, from the Structs of feeds.protocol
(the one definition). When one event has several faults, the first check that fails
decides (``event_fault``):

1. not valid JSON (a lone surrogate escape, say): ``not_json``;
2. not a JSON object: ``bad_frame``;
3. ``kind``: absent ``missing_field``, not a string ``bad_type``, unknown
   ``unknown_kind``;
4. a field the kind does not define: ``unknown_field``;
5. a required field absent (in Struct order): ``missing_field``;
6. over the fields present, the worst of ``bad_type`` > ``bad_value`` > ``too_long``
   (the order of ``REASONS``), the first field in Struct order on a tie.

Should msgspec reject what these checks pass (a repeated key, say), the reason is
``bad_type`` with msgspec's message as the detail. A detail names the field and the rule,
never a field's value; an unknown kind or field name is quoted only when it looks like a
name (a vendor's typo), never when it could be an ID number.

Imports: feeds.protocol, msgspec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from feeds.protocol import PERSON_KINDS, Event, Op

#: Rejection reasons, a closed set (the ``reason`` label of hall_feed_rejected_total).
REASONS: Final = (
    "not_json",  # the frame (or an element) is not JSON
    "bad_frame",  # JSON, but neither an event object nor an array of them
    "unknown_kind",  # ``kind`` names no kind of protocol v1
    "missing_field",  # a required field is absent
    "bad_type",  # a field has the wrong JSON type (null where not allowed included)
    "bad_value",  # outside its enumeration or range, or an empty identifier
    "too_long",  # a string over its length limit
    "unknown_field",  # a field protocol v1 does not define
    "frame_too_large",  # the frame is over the client's byte limit
    "batch_too_large",  # the array has more events than the client's limit
    "old_seq",  # the seq repeats or goes back (a duplicate is dropped, never applied twice)
    "unknown_ticket",  # an event for a ticket never issued this service day
    "unknown_case",  # an event for a case never submitted
    "unknown_complaint",  # complaint_closed (or _answered) for a complaint not open
    "duplicate_ticket",  # ticket_issued for a ticket id already issued this day
    "bad_state",  # an event impossible in the ticket's state (e.g. abandoned after done)
    "unexpected_op",  # a control op where a data frame belongs
    "hall_limit",  # an event for a new hall once the console holds MAX_HALLS halls
)

_PERSON_TYPES: Final = frozenset(PERSON_KINDS)
DEFAULT_MAX_FRAME_BYTES: Final = 8 * 1024 * 1024
DEFAULT_MAX_BATCH: Final = 100_000


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected event (or frame): why, and where in the frame."""

    reason: str
    detail: str
    index: int | None = None
    """Position in its frame; None when the whole frame was rejected."""
    seq: int | None = None


@dataclass(slots=True)
class Decoded:
    """What one frame held: good events in frame order, rejections, and any control op."""

    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    op: Op | None = None


class FrameDecoder:
    """Decodes protocol-v1 frames. One instance per feed; reuse it for every frame."""

    def __init__(
        self,
        pseudonymize: Callable[[str], str],
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._pseudonymize = pseudonymize
        self.max_frame_bytes = max_frame_bytes
        self.max_batch = max_batch
        self._frame = msgspec.json.Decoder(list[Event] | Event)
        self._one = msgspec.json.Decoder(Event)
        self._raw_list = msgspec.json.Decoder(list[msgspec.Raw])
        self._op = msgspec.json.Decoder(Op)

    def decode(self, frame: bytes | str) -> Decoded:
        """Decode one frame. Never raises on bad input: it is reported in ``rejections``."""
        out = Decoded()
        if len(frame) > self.max_frame_bytes:
            out.rejections.append(
                Rejection("frame_too_large", f"{len(frame)} bytes > {self.max_frame_bytes}")
            )
            return out
        try:
            decoded = self._frame.decode(frame)
        except msgspec.DecodeError:
            try:
                self._decode_slowly(frame, out)
            except RecursionError:  # msgspec raises it for JSON nested ~1000 deep
                return Decoded(rejections=[Rejection("bad_frame", "nested too deep")])
        except RecursionError:
            out.rejections.append(Rejection("bad_frame", "nested too deep"))
            return out
        else:
            if isinstance(decoded, list):
                if len(decoded) > self.max_batch:
                    out.rejections.append(
                        Rejection("batch_too_large", f"{len(decoded)} events > {self.max_batch}")
                    )
                    return out
                out.events = decoded
            else:
                out.events = [decoded]
        self._pseudonymize_all(out.events)
        return out

    def decode_op(self, frame: bytes | str) -> Op:
        """Decode a control op (hello during the handshake); raises msgspec errors."""
        try:
            return self._op.decode(frame)
        except RecursionError as error:
            raise msgspec.DecodeError("nested too deep") from error

    def _pseudonymize_all(self, events: list[Event]) -> None:
        pseudo = self._pseudonymize
        kinds = _PERSON_TYPES
        for ev in events:
            # An exact type test (the Structs are final) is ~3x cheaper than isinstance.
            if type(ev) in kinds and ev.person is not None:  # type: ignore[union-attr]
                ev.person = pseudo(ev.person)  # type: ignore[union-attr]

    def _decode_slowly(self, frame: bytes | str, out: Decoded) -> None:
        """The frame failed as a whole: find out which parts are good and why others are not."""
        try:
            raws = self._raw_list.decode(frame)
        except msgspec.ValidationError:  # well-formed, but not an array
            self._decode_single(frame, out)
            return
        except msgspec.DecodeError as error:  # malformed JSON
            out.rejections.append(Rejection("not_json", _safe_detail(error)))
            return
        if len(raws) > self.max_batch:
            out.rejections.append(
                Rejection("batch_too_large", f"{len(raws)} events > {self.max_batch}")
            )
            return
        one = self._one
        for index, raw in enumerate(raws):
            try:
                out.events.append(one.decode(raw))
            except msgspec.DecodeError as error:
                reason, detail = _explain(raw, error)
                out.rejections.append(Rejection(reason, detail, index, _peek_seq(raw)))

    def _decode_single(self, frame: bytes | str, out: Decoded) -> None:
        try:
            out.events.append(self._one.decode(frame))
            return
        except msgspec.DecodeError as error:
            event_error = error
        # Not an event: perhaps a control op (gap, error) in the data stream.
        try:
            out.op = self._op.decode(frame)
            return
        except msgspec.DecodeError:
            pass
        reason, detail = _explain(frame, event_error)
        out.rejections.append(Rejection(reason, detail, None, _peek_seq(frame)))


class _SeqOnly(msgspec.Struct):
    seq: int | None = None


_seq_decoder = msgspec.json.Decoder(_SeqOnly)


def _peek_seq(raw: bytes | str | msgspec.Raw) -> int | None:
    """The seq of a rejected event, when one can be read: a rejected seq is still a seq."""
    try:
        return _seq_decoder.decode(raw).seq
    except (msgspec.DecodeError, TypeError, RecursionError):
        return None


def _safe_detail(error: Exception) -> str:
    """msgspec's message: names the field and the rule, never a string field's value
    (only enumeration values are quoted, and ``person`` is no enumeration)."""
    return str(error)[:200]


# --- Why an element was rejected: own checks, on tables derived from feeds.protocol ---

#: A fault: (reason, detail).
Fault = tuple[str, str]
_RANK: Final = {reason: rank for rank, reason in enumerate(REASONS)}
#: JSON type names as msgspec spells them, by the Python type a generic decode gives.
_JSON_NAMES: Final[dict[type, str]] = {
    dict: "object",
    list: "array",
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    type(None): "null",
}
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
#: Generic decoding for the checks; a float beyond range (1e400) becomes inf, not an error.
_generic = msgspec.json.Decoder(float_hook=float)


def _json_type(value: object) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True, slots=True)
class _FieldRule:
    """What one field of one kind accepts (from its annotation in feeds.protocol)."""

    name: str
    types: frozenset[type]
    """Python types of the accepted JSON values (exact: a bool is no int)."""
    expected: str
    """The accepted JSON types, msgspec-style (``str | null``), for details."""
    values: frozenset[str] | None = None
    """A Literal enumeration, or None."""
    min_length: int | None = None
    max_length: int | None = None
    ge: int | None = None
    gt: int | None = None
    le: int | None = None
    lt: int | None = None

    def fault(self, value: object) -> Fault | None:
        """This field's fault, or None: ``bad_type``, else ``bad_value`` or ``too_long``."""
        at = f" - at `$.{self.name}`"
        if type(value) not in self.types:
            return "bad_type", f"Expected `{self.expected}`, got `{_json_type(value)}`{at}"
        if isinstance(value, str):
            if self.values is not None and value not in self.values:
                return "bad_value", f"Expected one of {', '.join(sorted(self.values))}{at}"
            if self.min_length is not None and len(value) < self.min_length:
                return "bad_value", f"Expected `str` of length >= {self.min_length}{at}"
            if self.max_length is not None and len(value) > self.max_length:
                return "too_long", f"Expected `str` of length <= {self.max_length}{at}"
        elif type(value) is int:
            if self.ge is not None and value < self.ge:
                return "bad_value", f"Expected `int` >= {self.ge}{at}"
            if self.gt is not None and value <= self.gt:
                return "bad_value", f"Expected `int` > {self.gt}{at}"
            if self.le is not None and value > self.le:
                return "bad_value", f"Expected `int` <= {self.le}{at}"
            if self.lt is not None and value >= self.lt:
                return "bad_value", f"Expected `int` < {self.lt}{at}"
        return None


@dataclass(frozen=True, slots=True)
class _KindRules:
    """One event kind: its fields in Struct order, which are required, which exist."""

    fields: tuple[_FieldRule, ...]
    required: tuple[str, ...]
    names: frozenset[str]
    """Every key the kind allows, the tag included."""
    closed: bool
    """Unknown fields are a fault (``forbid_unknown_fields``)."""


def _field_rule(name: str, info: mi.Type) -> _FieldRule:
    members = info.types if isinstance(info, mi.UnionType) else (info,)
    types: set[type] = set()
    expected: list[str] = []
    rule: dict[str, Any] = {}
    for member in members:
        if isinstance(member, mi.NoneType):
            types.add(type(None))
            expected.append("null")
        elif isinstance(member, mi.StrType) and member.pattern is None and str not in types:
            types.add(str)
            expected.append("str")
            rule.update(min_length=member.min_length, max_length=member.max_length)
        elif isinstance(member, mi.IntType) and member.multiple_of is None and int not in types:
            types.add(int)
            expected.append("int")
            rule.update(ge=member.ge, gt=member.gt, le=member.le, lt=member.lt)
        elif (
            isinstance(member, mi.LiteralType)
            and all(type(v) is str for v in member.values)
            and str not in types
        ):
            types.add(str)
            expected.append("str")
            rule.update(values=frozenset(member.values))
        else:  # a new kind of field in feeds.protocol: teach the checks about it
            raise TypeError(f"feeds.decode cannot check field `{name}` of type {member!r}")
    return _FieldRule(name, frozenset(types), " | ".join(expected), **rule)


def _kind_rules(union: object) -> tuple[str, dict[str, _KindRules]]:
    """The tag field and, by tag, the rules of every kind of a tagged union of Structs."""
    info = mi.type_info(union)
    structs = info.types if isinstance(info, mi.UnionType) else (info,)
    tag_fields = set()
    kinds: dict[str, _KindRules] = {}
    for struct in structs:
        if not isinstance(struct, mi.StructType) or struct.array_like:
            raise TypeError(f"feeds.decode cannot check {struct!r}")
        tag_fields.add(struct.tag_field)
        fields = tuple(_field_rule(f.encode_name, f.type) for f in struct.fields)
        kinds[str(struct.tag)] = _KindRules(
            fields=fields,
            required=tuple(f.encode_name for f in struct.fields if f.required),
            names=frozenset([str(struct.tag_field), *(f.name for f in fields)]),
            closed=struct.forbid_unknown_fields,
        )
    if len(tag_fields) != 1 or None in tag_fields:
        raise TypeError(f"feeds.decode needs one tag field, not {tag_fields}")
    return str(tag_fields.pop()), kinds


_TAG, _KINDS = _kind_rules(Event)


def event_fault(value: object) -> Fault | None:
    """The reason and detail of the first fault of a generically decoded event, in the
    order of this module's docstring; None when these checks find none."""
    if not isinstance(value, dict):
        return "bad_frame", f"Expected `object`, got `{_json_type(value)}`"
    if _TAG not in value:
        return "missing_field", f"Object missing required field `{_TAG}`"
    kind = value[_TAG]
    if not isinstance(kind, str):
        return "bad_type", f"Expected `str`, got `{_json_type(kind)}` - at `$.{_TAG}`"
    rules = _KINDS.get(kind)
    if rules is None:
        return "unknown_kind", f"Invalid value{_name_or_nothing(kind)} - at `$.{_TAG}`"
    if rules.closed:
        for name in value:
            if name not in rules.names:
                return "unknown_field", f"Object contains unknown field{_name_or_nothing(name)}"
    for name in rules.required:
        if name not in value:
            return "missing_field", f"Object missing required field `{name}`"
    worst: Fault | None = None
    for rule in rules.fields:
        if rule.name in value:
            fault = rule.fault(value[rule.name])
            if fault is not None and (worst is None or _RANK[fault[0]] < _RANK[worst[0]]):
                worst = fault
    return worst


def _name_or_nothing(text: str) -> str:
    """An unknown kind or key, quoted when it looks like a name (a vendor's typo), left
    out otherwise: it is input, and could be an ID number."""
    return f" `{text}`" if _NAME.fullmatch(text) else ""


def _explain(raw: bytes | str | msgspec.Raw, error: msgspec.DecodeError) -> Fault:
    """Why msgspec rejected ``raw``, decided by the checks above, not by its wording."""
    if not isinstance(error, msgspec.ValidationError):
        return "not_json", _safe_detail(error)
    try:
        value = _generic.decode(raw)
    except msgspec.ValidationError:
        return "bad_type", _safe_detail(error)
    except msgspec.DecodeError as malformed:  # msgspec stopped at a fault before it
        return "not_json", _safe_detail(malformed)
    return event_fault(value) or ("bad_type", _safe_detail(error))
