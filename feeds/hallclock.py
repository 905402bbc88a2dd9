"""Hall time: ms since the epoch (docs/protocol.md ``ts``), read in hall-local time.

Halls run on China Standard Time (UTC+8, no daylight saving), so a fixed offset is exact
and needs no tz database. The lowest layer, so feeds/, metrics/ and alerts/ share one
definition of a service day.

Imports: the standard library only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final

HALL_TZ: Final = timezone(timedelta(hours=8), "CST")
DAY_MS: Final = 86_400_000
_OFFSET_MS: Final = 8 * 3_600_000
_EPOCH_ORDINAL: Final = 719163  # date(1970, 1, 1).toordinal()


def local_datetime(ts_ms: int) -> datetime:
    """Hall-local datetime of a hall timestamp."""
    return datetime.fromtimestamp(ts_ms / 1000, HALL_TZ)


def day_ordinal(ts_ms: int) -> int:
    """Proleptic ordinal of the service day of ``ts_ms``: integer math, cheap per event."""
    return _EPOCH_ORDINAL + (ts_ms + _OFFSET_MS) // DAY_MS


def service_day(ts_ms: int) -> date:
    """The service day (hall-local date) a timestamp falls on."""
    return date.fromordinal(day_ordinal(ts_ms))


def day_start_ms(day: date) -> int:
    """Hall-local midnight opening ``day``, in ms since the epoch."""
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS - _OFFSET_MS
