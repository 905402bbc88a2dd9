"""Cases (办件) as they stand at the hall clock: the working-day deadline from acceptance
(actual, or deemed at submission + the configured minutes), moved on by the pauses for a
listed special procedure (``metrics.case_clock``), the legal time limit counted alike
(法定办结时限: the feed's ``legal_days``, else the config's for the item), and the card:
yellow from the promise's last working day (a same-day case: from the hall's closing
time), red past the promise or past the legal limit. Both sides use it: the
snapshot's open cases, and the view of a case as it stood when it closed (the rules'
input, from the handlers).

Imports: metrics.case_clock, metrics.hall, metrics.snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from metrics.case_clock import Pause, card_moments, limit_ms, procedure_of, reaches
from metrics.hall import Case, HallState
from metrics.snapshot import CaseView


class _CaseFigures(NamedTuple):
    """A case's figures at the hall clock; equal figures, the same view."""

    accepted: int
    """Actual acceptance, or deemed at submission + the configured minutes."""
    deemed: bool
    paused_since: int | None
    deadline: int
    card: str
    pauses: int
    """Finished pauses so far."""
    legal_days: int | None
    """The legal time limit: the feed's, else the config's for the item, else None."""
    legal_deadline: int | None


def _case_figures(h: HallState, c: Case) -> _CaseFigures:
    now = h.now_ms
    settings = h.settings
    deem_ms = settings.deemed_accept_minutes * 60_000
    late = c.accepted_ms is None or c.accepted_ms > c.submitted_ms + deem_ms
    # Not accepted and not yet deemed: the clock will start at submission + minutes.
    accepted = c.submitted_ms + deem_ms if late or c.accepted_ms is None else c.accepted_ms
    deemed = late and now >= c.submitted_ms + deem_ms
    cal = settings.calendar  # (memoises the working-day arithmetic, ~50 µs a miss)
    days = c.promised_days
    legal = c.legal_days if c.legal_days is not None else settings.legal_days.get(c.item)
    pauses = clock_pauses(c, settings.case_pauses)
    yellow: int | None
    red: int | None
    legal_red = legal_deadline = None
    if not pauses and days >= 1:  # the common case: ``card_moments`` without pauses
        deadline = red = cal.deadline_ms(accepted, days)
        yellow = cal.deadline_ms(accepted, days - 1)
        if legal is not None:
            legal_red = legal_deadline = cal.deadline_ms(accepted, legal)
    else:
        yellow, red = card_moments(cal, accepted, days, pauses, now, closes_ms=settings.closes_ms)
        deadline = reaches(cal, accepted, days, pauses, now, hold=False) or 0
        if legal is not None:
            legal_red = reaches(cal, accepted, legal, pauses, now)
            legal_deadline = reaches(cal, accepted, legal, pauses, now, hold=False)
    card = (
        "red" if red is not None and now >= red
        else "red" if legal_red is not None and now >= legal_red
        else "yellow" if yellow is not None and now >= yellow
        else "none"
    )  # fmt: skip
    return _CaseFigures(
        accepted, deemed, c.paused_since, deadline, card, len(c.pauses), legal, legal_deadline
    )


def clock_pauses(c: Case, listed: Mapping[str, int]) -> list[Pause]:
    """The case's pauses for its clock: (start, end or None, the limit of the listed
    procedure its reason names, or None: not on the list, the clock ran on)."""
    out: list[Pause] = [(s, e, listed.get(procedure_of(r, listed) or "")) for s, e, r in c.pauses]
    if c.paused_since is not None:
        out.append((c.paused_since, None, listed.get(procedure_of(c.paused_reason, listed) or "")))
    return out


def _view_of(h: HallState, case: str, c: Case, f: _CaseFigures) -> CaseView:
    listed = h.settings.case_pauses
    procedure = procedure_of(c.paused_reason, listed) if c.paused_since is not None else None
    days = listed[procedure] if procedure is not None else None
    due = None
    if days is not None and c.paused_since is not None:
        due = limit_ms(h.settings.calendar, c.paused_since, days)
    return CaseView(
        case=case,
        item=c.item,
        dept=c.dept,
        promised_days=c.promised_days,
        submitted_ms=c.submitted_ms,
        accepted_ms=f.accepted,
        deemed=f.deemed,
        paused=f.paused_since is not None,
        deadline_ms=f.deadline,
        card=f.card,
        paused_since=f.paused_since,
        pauses=tuple((s, e, listed.get(procedure_of(r, listed) or "")) for s, e, r in c.pauses),
        pause_reason=c.paused_reason if c.paused_since is not None else None,
        procedure=procedure,
        procedure_days=days,
        procedure_due_ms=due,
        legal_days=f.legal_days,
        legal_deadline_ms=f.legal_deadline,
    )


def case_view(h: HallState, case: str, c: Case) -> CaseView:
    """One case as it stands at the hall clock (its view when it closes, for the rules)."""
    return _view_of(h, case, c, _case_figures(h, c))


def open_cases(h: HallState) -> tuple[CaseView, ...]:
    """Open cases with their working-day deadline and card at the hall clock.

    The deadline counts ``promised_days`` working days from acceptance (actual, or deemed
    at submission + the configured minutes); time paused for a listed special procedure,
    up to its limit, moves it on by whole working days (``metrics.case_clock``). Yellow:
    one working day or less is left (a same-day case: from the hall's closing time). Red:
    past the deadline, or past the legal limit (``legal_days``, counted alike).
    """
    out = []
    last = h.case_views
    memo: dict[str, tuple[tuple[object, ...], CaseView]] = {}
    for cid, c in h.cases.items():
        figures = _case_figures(h, c)
        seen = last.get(cid)
        # Unchanged since the last snapshot: its view again (~4 µs saved).
        view = seen[1] if seen is not None and seen[0] == figures else _view_of(h, cid, c, figures)
        memo[cid] = (figures, view)
        out.append(view)
    h.case_views = memo
    return tuple(out)
