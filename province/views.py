"""What a console sees of a hall over NATS: its summary (one line of the province screen)
and its whole view (the hall's own screens), both made by the shard that runs the hall.

A ``HallSummary`` is a few figures of one hall — people waiting, the longest wait, the
windows open, its live alerts by severity, its backlog, its case cards — and its name and
its city's and county's, published by the owning shard on ``hw.view.<city>.<county>.
<hall>`` (``province.places``) when they change (at most once a second) and every
``KEEPALIVE_S`` regardless, msgpack as an array (~100 bytes): a console that hears
nothing of a hall for ``STALE_S`` shows it as stale (its shard died and the takeover is
under way, or its partition is unrun). Fields
are only ever added at the end, with defaults: a console and a shard of different
releases still read each other.

A ``HallDetail`` is the hall's part of its partition's published ``View`` — its
snapshot, its open and recently resolved alerts (with their histories, for the
timeline), its silences, the duty director, its feed, its display names — sent to a
console that asks for it (``hw.hall.…``, request and reply), compressed. The snapshot's
numpy arrays travel as their dtype, shape and bytes, plain numbers only (``metrics.columns.
numeric_dtype``): reading one builds no object the bytes name (no pickle). ``View`` turns
it back into what the console's hall screens render.

Imports: alerts (duty, model, names), feeds.source, metrics (columns, snapshot), runtime
(pipeline, view), province.places, msgspec, numpy.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Final

import msgspec
import numpy as np

from alerts.duty import OnDuty
from alerts.model import Silence
from alerts.names import Names
from feeds.source import FeedSnapshot
from metrics.columns import numeric_dtype
from metrics.snapshot import CitySnapshot, HallSnapshot
from province.places import Places
from runtime.pipeline import Pipeline
from runtime.view import AlertCounts, AlertView, View, alert_counts

#: A hall's summary is published again after this long even when nothing changed.
KEEPALIVE_S: Final = 15.0
#: A console shows a hall as stale when it heard nothing of it for this long.
STALE_S: Final = 3 * KEEPALIVE_S
#: Recently resolved alerts of the hall sent with its detail.
RESOLVED_SENT: Final = 50


class HallSummary(msgspec.Struct, frozen=True, array_like=True):
    """One hall in a line: what the province screen shows of it."""

    hall: str
    name: str
    """Display name (the config's), or the id."""
    city: str
    county: str
    partition: int
    now_ms: int
    """The hall clock."""
    waiting: int
    longest_wait_s: float
    windows_open: int
    windows_total: int
    served_today: int
    complaints_open: int
    cases_yellow: int
    cases_red: int
    red: int
    """Live alerts by severity (``runtime.view.alert_counts``: silenced ones apart)."""
    urgent: int
    yellow: int
    notice: int
    backlog: int
    """Open alerts of the backlog (case cards, rectification notes, earlier complaints)."""
    silenced: int
    city_name: str = ""
    """The city's display name (``[places.C] name``); ``""``: none given, the id shows."""
    county_name: str = ""
    """The county's (``[places.C] counties``); ``""``: none given."""


def summaries(view: View, partition: int, places: Places) -> dict[str, HallSummary]:
    """Every hall of a partition's ``view``, summarized."""
    counts = alert_counts(view)
    none = AlertCounts()
    names = view.names
    out: dict[str, HallSummary] = {}
    for hall, h in view.city.halls.items():
        place = places(hall)
        city_name, county_name = places.names_of(place)
        c = counts.get(hall, none)
        cards = h.cases_by_card()
        out[hall] = HallSummary(
            hall=hall,
            name=names.hall(hall),
            city=place.city,
            county=place.county,
            partition=partition,
            now_ms=h.now_ms,
            waiting=h.waiting,
            longest_wait_s=round(h.longest_wait_s, 1),
            windows_open=h.windows_open,
            windows_total=h.windows_total,
            served_today=h.served_today,
            complaints_open=h.complaints_open,
            cases_yellow=cards["yellow"],
            cases_red=cards["red"],
            red=c.live["red"],
            urgent=c.live["urgent"],
            yellow=c.live["yellow"],
            notice=c.live["notice"],
            backlog=c.backlog,
            silenced=c.silenced,
            city_name=city_name,
            county_name=county_name,
        )
    return out


_summary_encoder = msgspec.msgpack.Encoder()
_summary_decoder = msgspec.msgpack.Decoder(HallSummary)


def encode_summary(summary: HallSummary) -> bytes:
    return _summary_encoder.encode(summary)


def decode_summary(data: bytes) -> HallSummary:
    """Raises: msgspec.DecodeError (msgspec.ValidationError): not a summary."""
    return _summary_decoder.decode(data)


class HallDetail(msgspec.Struct, frozen=True):
    """One hall's part of its partition's ``View``."""

    hall: HallSnapshot
    alerts: list[AlertView]
    """Open alerts of the hall, as the view lists them."""
    resolved: list[AlertView]
    histories: dict[int, list[tuple[int, str]]]
    """Alert id → its changes (hall ms, what), oldest first: the timeline."""
    alerts_active: list[tuple[str, str, int]]
    """(rule, severity, open alerts)."""
    silences: list[Silence]
    feeds: list[FeedSnapshot]
    on_duty: OnDuty | None
    names: Names
    """The hall's display names (its zones', items', the departments')."""
    partition: int
    generation: int
    """The partition view's generation it was taken from."""
    published_wall: float
    handovers_unaccepted: list[tuple[int, str, str, int]] = []
    """The hall's shift reports waiting for the incoming director: (number, hall, written
    by, written at hall ms); none from a shard of the release before."""


def _enc_hook(value: object) -> Any:
    if isinstance(value, np.ndarray):
        return (value.dtype.str, list(value.shape), value.tobytes())
    raise NotImplementedError(f"{type(value).__name__} is not sent")


def _dec_hook(kind: type, value: Any) -> Any:
    if getattr(kind, "__origin__", kind) is np.ndarray:
        dtype, shape, raw = value
        try:
            array = np.frombuffer(raw, dtype=numeric_dtype(dtype)).reshape(shape)
        except (TypeError, ValueError) as error:
            raise msgspec.ValidationError(f"an array: {error}") from None
        return array
    raise NotImplementedError(f"{kind} is not read")


_detail_encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_detail_decoder = msgspec.msgpack.Decoder(HallDetail, dec_hook=_dec_hook)


def detail_of(pipeline: Pipeline, hall: str, partition: int) -> HallDetail | None:
    """``hall``'s detail from ``pipeline``'s latest view (None: the view has no such
    hall yet)."""
    view = pipeline.view
    snapshot = view.city.halls.get(hall)
    if snapshot is None:
        return None
    alerts = [a for a in view.alerts if a.hall == hall]
    resolved = [a for a in view.resolved if a.hall == hall][:RESOLVED_SENT]
    book = pipeline.alerts.book
    wanted = {a.id for a in (*alerts, *resolved)}
    histories = {
        a.id: list(a.history)
        for a in (*book.open.values(), *book.resolved)
        if a.id in wanted and a.hall == hall
    }
    names = view.names
    return HallDetail(
        hall=snapshot,
        alerts=alerts,
        resolved=resolved,
        histories=histories,
        alerts_active=[(r, s, n) for (h, r, s), n in view.city.alerts_active.items() if h == hall],
        silences=[s for s in view.silences if s.hall == hall],
        feeds=[f for f in view.city.feeds if hall in f.halls],
        on_duty=view.on_duty,
        names=Names(
            halls={hall: names.hall(hall)},
            zones={hall: dict(names.zones.get(hall, {}))},
            items={hall: dict(names.items.get(hall, {}))},
            depts=dict(names.depts),
        ),
        partition=partition,
        generation=view.generation,
        published_wall=view.published_wall,
        handovers_unaccepted=[h for h in view.handovers_unaccepted if h[1] == hall],
    )


def encode_detail(detail: HallDetail) -> bytes:
    """Compressed msgpack (a busy hall's snapshot is ~50-130 kB, ~10-20 kB so)."""
    return zlib.compress(_detail_encoder.encode(detail), 1)


#: A detail bigger than this, unpacked, is refused (a hall with every case of a year open
#: is ~5 MB).
MAX_DETAIL_BYTES: Final = 64 * 1024 * 1024


def decode_detail(data: bytes) -> HallDetail:
    """Raises: ValueError: not a detail (or too big)."""
    unpack = zlib.decompressobj()
    try:
        raw = unpack.decompress(data, MAX_DETAIL_BYTES)
    except zlib.error as error:
        raise ValueError(f"not a hall detail: {error}") from None
    if unpack.unconsumed_tail:
        raise ValueError("a hall detail over the size limit")
    try:
        return _detail_decoder.decode(raw)
    except msgspec.DecodeError as error:
        raise ValueError(f"not a hall detail: {error}") from None


def view_of(detail: HallDetail, generation: int) -> View:
    """The console's ``View`` of one hall, from its detail."""
    hall = detail.hall.hall
    return View(
        city=CitySnapshot(
            halls={hall: detail.hall},
            feeds=tuple(detail.feeds),
            alerts_active={(hall, r, s): n for r, s, n in detail.alerts_active},
        ),
        alerts=tuple(detail.alerts),
        resolved=tuple(detail.resolved),
        events_total=0,
        published_wall=detail.published_wall or time.time(),
        generation=generation,
        on_duty=detail.on_duty,
        silences=tuple(detail.silences),
        names=detail.names,
        handovers_unaccepted=tuple(detail.handovers_unaccepted),
    )
