"""Frame decoding: one reused msgspec decoder, good events kept, bad ones explained.

A data frame is one event object or a JSON array of them (protocol.md, "Frames"). The
fast path decodes the whole frame in one call. Only when that fails does the slow path
split the array into raw elements and decode each alone, so one bad event never spoils
its batch and every rejection has a reason. ``person`` is pseudonymized here, before any
other code sees the event.

Imports: feeds.protocol, feeds.privacy, msgspec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import msgspec

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
    "unknown_complaint",  # complaint_closed for a complaint never received
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


def classify(error: Exception) -> str:
    """Map a msgspec error to a rejection reason."""
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return "not_json"
    msg = str(error)
    if "at `$.kind`" in msg and msg.startswith("Invalid value"):
        return "unknown_kind"
    if msg.startswith("Object missing required field"):
        return "missing_field"
    if msg.startswith("Object contains unknown field"):
        return "unknown_field"
    if "of length <=" in msg:
        return "too_long"
    if msg.startswith(("Invalid enum value", "Expected `int` >", "Expected `int` <")):
        return "bad_value"
    if "of length >=" in msg:
        return "bad_value"
    if msg.startswith("Expected `object`") and "at `$" not in msg:
        return "bad_frame"
    return "bad_type"


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
            return self._op.decode(frame)  # type: ignore[no-any-return]
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
                out.rejections.append(
                    Rejection(classify(error), _safe_detail(error), index, _peek_seq(raw))
                )

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
        out.rejections.append(
            Rejection(classify(event_error), _safe_detail(event_error), None, _peek_seq(frame))
        )


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
