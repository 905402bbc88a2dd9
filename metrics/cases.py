"""Cases (办件) as they stand at the hall clock: the working-day deadline from acceptance
(actual, or deemed at submission + the configured minutes), moved back by pauses, and
the card. Both sides use it: the snapshot's open cases, and the view of a case as it
stood when it closed (the rules' input, from the handlers).

Imports: metrics.hall, metrics.snapshot.
"""

from __future__ import annotations

from typing import NamedTuple

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


def _case_figures(h: HallState, c: Case) -> _CaseFigures:
    now = h.now_ms
    deem_ms = h.settings.deemed_accept_minutes * 60_000
    late = c.accepted_ms is None or c.accepted_ms > c.submitted_ms + deem_ms
    # Not accepted and not yet deemed: the clock will start at submission + minutes.
    accepted = c.submitted_ms + deem_ms if late or c.accepted_ms is None else c.accepted_ms
    deemed = late and now >= c.submitted_ms + deem_ms
    paused = c.paused_ms + (now - c.paused_since if c.paused_since is not None else 0)
    cal = h.settings.calendar  # (memoises the working-day arithmetic, ~50 µs a miss)
    deadline = cal.deadline_ms(accepted, c.promised_days) + paused
    yellow_from = cal.deadline_ms(accepted, max(c.promised_days - 1, 0)) + paused
    if c.promised_days == 0:
        yellow_from = accepted
    card = "red" if now >= deadline else "yellow" if now >= yellow_from else "none"
    return _CaseFigures(accepted, deemed, c.paused_since, deadline, card, len(c.pauses))


def _view_of(case: str, c: Case, f: _CaseFigures) -> CaseView:
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
        pauses=tuple(c.pauses),
    )


def case_view(h: HallState, case: str, c: Case) -> CaseView:
    """One case as it stands at the hall clock (its view when it closes, for the rules)."""
    return _view_of(case, c, _case_figures(h, c))


def open_cases(h: HallState) -> tuple[CaseView, ...]:
    """Open cases with their working-day deadline and card at the hall clock.

    The deadline counts ``promised_days`` working days from acceptance (actual, or deemed
    at submission + the configured minutes); time paused for a special procedure moves it
    back by as long as the pause lasted. Yellow: one working day or less is left.
    """
    out = []
    last = h.case_views
    memo: dict[str, tuple[tuple[object, ...], CaseView]] = {}
    for cid, c in h.cases.items():
        figures = _case_figures(h, c)
        seen = last.get(cid)
        # Unchanged since the last snapshot: its view again (~4 µs saved).
        view = seen[1] if seen is not None and seen[0] == figures else _view_of(cid, c, figures)
        memo[cid] = (figures, view)
        out.append(view)
    h.case_views = memo
    return tuple(out)
