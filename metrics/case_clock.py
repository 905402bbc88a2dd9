"""A case's clock in working days (办事工作日), and the special procedures that stop it.

Yinchuan (seed 004): 对涉及现场勘验、技术审查、听证论证等程序实施清单化管理,建立限时办结
机制并向社会公布 — the procedures that stop a case's clock are a published list, each with
its own time limit. So a ``case_paused`` stops the clock only when its ``reason`` names a
procedure of the list (``procedure_of``), and only up to that procedure's limit: past it
the clock runs again (a pause cannot hide a case). A reason not on the list stops
nothing (the rules say so with a warning).

Time paused is counted in working time (the part of the pause on working days) and moves
the deadline by whole working days, rounded up, so a moved deadline still falls at the
end of a working day, never at 02:00 or on a Saturday afternoon.

A same-day case (0 promised days, 即办件) is due at the end of its day like any other, but
"one working day or less left" would make it yellow from acceptance: its yellow comes at
the hall's closing time that day instead (``same_day_yellow``), when the department is
about to leave with it unfinished.

The same listed procedures stop the legal limit's clock (法定办结时限) as the promised
one's: both limits are counted alike from acceptance (``reaches``).

Both sides use it: the hall state's deadline and card (``metrics.cases``), and the case
rules' thresholds (``alerts.case_rules``).

Imports: feeds.hallclock, metrics.workdays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from feeds.hallclock import DAY_MS
from metrics.workdays import WorkCalendar

#: The special procedures and their limits in working days when the config names none
#: (``[rules.case_pauses]``). The procedures are Yinchuan's list (现场勘验、技术审查、
#: 听证论证) plus the two the protocol names (expert review, correction of materials,
#: docs/protocol.md); the limits are our default: each city publishes its own.
SPECIAL_PROCEDURES: Final[Mapping[str, int]] = {
    "现场勘验": 5,
    "技术审查": 10,
    "听证论证": 20,
    "专家评审": 10,
    "补正材料": 5,
}

#: The hall's closing time, ms after local midnight, when the config names none: 17:30,
#: the default of ``[rules.complaints] settle_by`` (our default; a hall's own is
#: ``[halls.H] closes``).
CLOSES_MS: Final = (17 * 60 + 30) * 60_000

Pause = tuple[int, int | None, int | None]
"""(start ms, end ms or None while it goes on, the procedure's limit in working days or
None for a reason not on the list)."""


def procedure_of(reason: str | None, listed: Mapping[str, int]) -> str | None:
    """The listed procedure ``reason`` names: the reason itself, else the first listed
    name (in the list's order) it contains (``现场勘验(第二次)`` is 现场勘验); None when
    it names none."""
    if not reason:
        return None
    if reason in listed:
        return reason
    return next((name for name in listed if name in reason), None)


def limit_ms(calendar: WorkCalendar, start_ms: int, days: int) -> int:
    """When a procedure begun at ``start_ms`` with a limit of ``days`` working days runs
    out: the end of the ``days``-th working day after its start's day (counted like a
    case's promised days from acceptance)."""
    return calendar.deadline_ms(start_ms, days)


def reaches(
    calendar: WorkCalendar,
    accepted_ms: int,
    days: int,
    pauses: Iterable[Pause],
    now_ms: int,
    *,
    hold: bool = True,
    before_ms: int = 0,
) -> int | None:
    """When the clock of a case accepted at ``accepted_ms`` reaches ``days`` working days.

    Without pauses: the end of the ``days``-th working day after acceptance (``before_ms``
    before that end, for a moment within that day: its closing time). Each listed
    pause that began before that moment moves it on by the working time it stopped the
    clock (up to its procedure's limit; before acceptance nothing is counted), rounded
    up to whole working days. A pause that began after the moment does not take a card
    back, so the moment depends only on the case's events, never on when one looks.

    Args:
        pauses: the case's pauses, oldest first (``Pause``).
        now_ms: the hall clock; an open pause counts up to it.
        hold: with a listed pause open within its limit, whether to answer None (the
            moment cannot be reached before the pause ends: the rules' view) or the
            moment as if the pause ended now (the deadline shown while paused).
        before_ms: the moment is this long before the end of the working day it falls
            on (0: its end, midnight).
    """
    at = calendar.deadline_ms(accepted_ms, days) - before_ms
    stopped = 0
    for start, end, limit in pauses:
        if limit is None:
            continue  # not a listed procedure: the clock did not stop
        if start >= at:
            break
        cap = limit_ms(calendar, start, limit)
        if end is None:
            if now_ms < cap and hold:
                return None
            end = min(now_ms, cap)
        stopped += calendar.working_ms(max(start, accepted_ms), min(end, cap))
        at = calendar.deadline_ms(accepted_ms, days + -(-stopped // DAY_MS)) - before_ms
    return at


def same_day_yellow(
    calendar: WorkCalendar,
    accepted_ms: int,
    pauses: Iterable[Pause],
    now_ms: int,
    closes_ms: int,
) -> int | None:
    """When a same-day case (0 promised days, 即办件) turns yellow: at the hall's closing
    time (``closes_ms`` after local midnight) of the day it is due, or at acceptance if it
    was accepted after that. A listed pause that began before that moment moves it by
    whole working days, like the deadline; None while such a pause holds it (``reaches``).
    Our default: the documents give a yellow card to what is about to run over time (seed
    001: 对即将超时办理的事项,进行实时预警和黄牌警告), and a same-day case is about to when
    the hall closes on it."""
    before = DAY_MS - min(max(closes_ms, 0), DAY_MS)
    at = reaches(calendar, accepted_ms, 0, pauses, now_ms, before_ms=before)
    return None if at is None else max(at, accepted_ms)


def card_moments(
    calendar: WorkCalendar,
    accepted_ms: int,
    days: int,
    pauses: Iterable[Pause],
    now_ms: int,
    *,
    yellow_days: int = 1,
    closes_ms: int = CLOSES_MS,
) -> tuple[int | None, int | None]:
    """(yellow from, red from) for a limit of ``days`` working days from acceptance: red
    at its end (``reaches``); yellow when ``yellow_days`` or fewer working days are left
    (from acceptance if the limit is shorter than that), but for a same-day limit, at the
    hall's closing time (``same_day_yellow``). None for a moment a listed pause within its
    limit is holding back. ``yellow_days`` 0: yellow only with red."""
    pauses = list(pauses)
    red = reaches(calendar, accepted_ms, days, pauses, now_ms)
    if days >= yellow_days:
        yellow = reaches(calendar, accepted_ms, days - yellow_days, pauses, now_ms)
    elif days == 0:
        yellow = same_day_yellow(calendar, accepted_ms, pauses, now_ms, closes_ms)
    else:
        yellow = accepted_ms
    return yellow, red
