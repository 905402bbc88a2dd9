"""The demo hall's back office and aftermath: cases, ratings, complaints, later days.

``BackOffice`` writes what follows a service at the window: the case pushed to the back
office with its promised and legal limits (accepted in time or, now and then, after the
10-minute limit of Anqiu; now and then paused for a listed special procedure and resumed;
closed, mostly before the promise's last working day, a few on it or late; very rarely
asked for materials off the item's list, a red card), the rating (almost all good: Luozhuang
counted 99.93 % good of 7199), complaints from the desk, the 12345 hotline and bad
ratings (most answered on the spot, 现场处理答复, and settled the same day, 当日事当日毕:
seed 002), and what carries over to later days:
cases closed days later (a few on their last day or late: yellow and red cards), and
people whose materials were incomplete coming back another day for the same item
(最多跑一次 broken).

Carry-over is explicit data (``Return``, ``FollowUp``), so a run of several days is the
single days plus what the earlier days handed on, and stays deterministic. Each case
draws from its own random stream (``BackOffice.case_stream``), not the hall-day's, so the
back office's ways can change without moving a ticket, a window or a rating.

Imports: feeds.protocol, feeds.demo.city, the standard library.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from feeds.demo.city import ItemProfile, is_workday
from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CaseOutcome,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintAnswered,
    ComplaintClosed,
    Rating,
)

_MIN: Final = 60.0
_HOUR: Final = 3600.0
#: Special procedures of the list (``metrics.case_clock.SPECIAL_PROCEDURES``): each stops
#: the case's clock, up to its limit.
_PAUSE_REASONS: Final = ("现场勘验", "专家评审", "听证论证", "补正材料")
#: One case in this many is asked for materials off the item's list (a red card that
#: stays until a person settles it: rare, or a demo of several days piles them up).
_MATERIALS_ONE_IN: Final = 2000
COMPLAINTS: Final = {
    "wait_time": "排队等候时间过长",
    "attitude": "工作人员态度生硬",
    "added_materials": "要求提供清单以外的材料",  # a red card (seed 001)
    "repeat_trip": "同一事项跑了两次还没办成",
    "unclear_notice": "一次性告知不清楚",
}
#: How often each walk-in complaint is about what: materials off the list are a red card
#: that waits for a person (seed 001), so rare, or a demo of several days piles them up.
_COMPLAINT_WEIGHTS: Final = (0.35, 0.25, 0.03, 0.17, 0.20)
_BAD_COMMENTS: Final = ("等了太久", "材料要求不清楚", "态度不好", "跑了两趟")


@dataclass(frozen=True, slots=True)
class Return:
    """A person whose materials were incomplete comes back on ``day`` for the same item."""

    hall: str
    day: dt.date
    person: str
    item: str
    priority: bool


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What the back office does to an open case on a later working ``day``."""

    hall: str
    day: dt.date
    case: str
    action: Literal["resume", "close", "settle"]
    """resume or close a case; settle a complaint (``case`` then holds the complaint id)."""
    outcome: CaseOutcome = "approved"
    promised_days: int = 0
    """For a resume: the case's promised days (its closing is drawn afresh)."""
    share: float | None = None
    """When in that day's opening hours (0 to 1: the share of them gone by); None: drawn
    by the day itself. A case's follow-ups bring their own, drawn from the case's stream
    (``BackOffice.case_stream``), so the day's own draws do not depend on them."""


Carry = Return | FollowUp


def workday_after(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (n >= 1)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


class BackOffice:
    """One hall-day's back office. ``emit(cls, t, **fields)`` writes an event at ``t``
    seconds after local midnight; nothing is written after ``day_end``."""

    def __init__(
        self,
        rng: random.Random,
        hall: str,
        day: dt.date,
        day_end: float,
        emit: Callable[..., None],
        seed: int = 0,
    ) -> None:
        self.rng = rng
        self.seed = seed
        """The simulation's seed: each case draws from its own stream of it."""
        self.hall = hall
        self.day = day
        self.stamp = day.strftime("%Y%m%d")
        self.day_end = day_end
        self.emit = emit
        self.cases = 0
        self.complaints = 0
        self.carry: list[Carry] = []
        """What this day hands on to later days."""

    def later(self, cls: type[Any], t: float, **fields: Any) -> bool:
        """Emit an event that touches no ticket, if it falls within the service day."""
        if t > self.day_end:
            return False
        self.emit(cls, t, **fields)
        return True

    def new_case(self) -> str:
        self.cases += 1
        return f"{self.hall}-{self.stamp}-{self.cases:04d}"

    # -- cases --
    def case_stream(self, case: str, part: str = "") -> random.Random:
        """Case ``case``'s own random stream (of the seed and the case id, which names its
        hall and day), apart from the hall-day's: how the back office handles a case
        changes no ticket, window or rating of the day, and a follow-up drawn on a later
        day draws from the case's stream too (``part`` names which)."""
        return random.Random(f"{self.seed}:{case}:{part}")

    def case_life(
        self, t: float, case: str, item: ItemProfile, window: str, ticket: str, person: str | None
    ) -> None:
        """Submitted now; accepted (one in twenty misses the 10 minutes); now and then
        paused for a listed special procedure and resumed, the same day or a later one;
        closed as ``plan_close`` draws: mostly before the promise's last working day."""
        r = self.case_stream(case)
        self.emit(
            CaseSubmitted, t, case=case, item=item.id, dept=item.dept,
            promised_days=item.promised_days, window=window, ticket=ticket, person=person,
            legal_days=item.legal_days,
        )  # fmt: skip
        late = r.random() < 0.05  # the back office misses the 10-minute answer
        t += r.uniform(11 * _MIN, 40 * _MIN) if late else r.uniform(30, 8 * _MIN)
        t = min(t, self.day_end)  # it answers before the day is out
        self.emit(CaseAccepted, t, case=case)
        if zlib.crc32(case.encode()) % _MATERIALS_ONE_IN == 0:  # rare, a red card till settled
            self.later(
                CaseMaterialsChanged, t + 5 * _MIN, case=case, change="materials_added",
                materials="要求另行提供清单以外的证明材料",
            )  # fmt: skip
        if r.random() < 0.06:
            paused = t + r.uniform(20 * _MIN, 150 * _MIN)
            if self.later(CasePaused, paused, case=case, reason=r.choice(_PAUSE_REASONS)):
                t = paused + r.uniform(30 * _MIN, 180 * _MIN)
                if r.random() > 0.35 or not self.later(CaseResumed, t, case=case):
                    resume = workday_after(self.day, r.randint(1, 3))
                    self.carry.append(FollowUp(self.hall, resume, case, "resume",
                                               promised_days=item.promised_days,
                                               share=r.random()))  # fmt: skip
                    return
        self.plan_close(t, case, item.promised_days, r)

    def plan_close(self, t: float, case: str, promised_days: int, r: random.Random) -> None:
        """Close a case accepted (or resumed) at ``t`` today. A case promised ``P``
        working days is due at the end of the ``P``-th working day after today (a pause
        for a listed procedure only moves that later), and carded yellow through that
        last day, red after it. Most close before it: a 1-day case the same day, a longer
        one on one of the working days before its last; about one in 140 closes on its
        last day (a yellow card until then) and one in 250 a working day or two late (red
        until closed). Shares of our own, in the spirit of the seeds' halls: Anqiu opens
        a company within one working day (seed 002: 1個工作日內即可完成)."""
        promised = max(promised_days, 1)
        u = r.random()
        if u < 0.004:
            day = promised + r.randint(1, 2)  # late: 超时未办, a red card (seed 001)
        elif u < 0.011:
            day = promised  # on its last day: a yellow card that morning
        else:
            day = r.randint(1, promised - 1) if promised > 1 and r.random() < 0.8 else 0
        outcome = self.case_outcome(r)
        if day == 0:  # today, if the day allows: a 1-day case within two hours
            took = r.uniform(15 * _MIN, 2 * _HOUR) if promised == 1 else r.uniform(_HOUR, 4 * _HOUR)
            if self.later(CaseClosed, t + took, case=case, outcome=outcome):
                return
            day = 1  # first thing on the next working day instead
        when = workday_after(self.day, day)
        share = r.uniform(0, 0.15) if day == 1 and promised == 1 else r.random()
        self.carry.append(FollowUp(self.hall, when, case, "close", outcome, share=share))

    def case_outcome(self, r: random.Random) -> CaseOutcome:
        outcome: CaseOutcome = r.choices(("approved", "denied", "withdrawn"), (0.9, 0.06, 0.04))[0]
        return outcome

    def follow_up(self, t: float, f: FollowUp) -> None:
        """A case of an earlier day: resumed (and its closing planned) or closed; or a
        complaint of an earlier day settled."""
        if f.action == "resume":
            if self.later(CaseResumed, t, case=f.case):
                self.plan_close(t, f.case, f.promised_days, self.case_stream(f.case, "resumed"))
        elif f.action == "settle":
            self.later(ComplaintClosed, t, complaint=f.case, resolution="回访后办结")
        else:
            self.later(CaseClosed, t, case=f.case, outcome=f.outcome)

    def come_back(self, person: str, item: ItemProfile, priority: bool) -> None:
        """The person returns with the missing materials in 1-5 working days."""
        when = workday_after(self.day, self.rng.randint(1, 5))
        self.carry.append(Return(self.hall, when, person, item.id, priority))

    # -- ratings and complaints --
    def rate(
        self, t: float, window: str, staff: str, ticket: str, waited_s: float, outcome: str
    ) -> None:
        """A rating after most services: almost all good; long waits and incomplete or
        rejected outcomes make a bad one likelier, and some bad ones become complaints."""
        rng = self.rng
        bad_p = 0.003 + (0.03 if waited_s > 40 * _MIN else 0.0)
        bad_p += 0.03 if outcome in ("incomplete", "rejected") else 0.0
        if rng.random() < bad_p:
            score, comment = rng.choice((1, 2)), rng.choice(_BAD_COMMENTS)
        else:
            score, comment = rng.choices((5, 4, 3), (0.88, 0.10, 0.02))[0], None
        channel = rng.choices(("device", "qr", "sms", "app"), (0.7, 0.15, 0.1, 0.05))[0]
        t += rng.uniform(3, 30) if channel in ("device", "qr") else rng.uniform(5 * _MIN, 90 * _MIN)
        rated = self.later(
            Rating, t, window=window, score=score, channel=channel, ticket=ticket,
            staff=staff, comment=comment,
        )  # fmt: skip
        if rated and score <= 2 and rng.random() < 0.3:
            category = "repeat_trip" if outcome == "incomplete" else "wait_time"
            self.complain(t + rng.uniform(2 * _MIN, 20 * _MIN), "rating", window, staff, category)

    def walk_in_complaint(self, t: float, window: str | None, staff: str | None) -> None:
        rng = self.rng
        channel = rng.choices(("desk", "hotline", "online", "letter"), (0.4, 0.3, 0.2, 0.1))[0]
        category = rng.choices(list(COMPLAINTS), _COMPLAINT_WEIGHTS)[0]
        self.complain(t, channel, window, staff, category)

    def complain(
        self, t: float, channel: str, window: str | None, staff: str | None, category: str
    ) -> None:
        self.complaints += 1
        cid = f"{self.hall}-{self.stamp}-T{self.complaints:03d}"
        if not self.later(
            Complaint, t, complaint=cid, channel=channel, window=window, staff=staff,
            category=category, text=COMPLAINTS[category],
        ):  # fmt: skip
            return
        self.answer(t, cid, channel)
        if self.rng.random() < 0.75:  # 当日事当日毕, mostly
            t += self.rng.uniform(15 * _MIN, 3 * _HOUR)
            if self.later(ComplaintClosed, t, complaint=cid, resolution="已当面沟通并整改"):
                return
        # Not settled today (an overdue card tonight): settled after a visit in 1-2 days.
        when = workday_after(self.day, self.rng.randint(1, 2))
        self.carry.append(FollowUp(self.hall, when, cid, "settle"))

    def answer(self, t: float, cid: str, channel: str) -> None:
        """Most complaints (about four in five) are answered on the spot (现场处理答复) by
        the director on duty, or called back, 2 to 14 minutes after they come in: before
        any settlement (15 minutes at the earliest). Drawn from the complaint id, not the
        rng, so the rest of the day is the day it was without answers."""
        h = zlib.crc32(cid.encode())
        if h % 5:
            minutes = 2 + (h >> 8) % 13
            text = "已现场答复" if channel in ("desk", "rating") else "已电话回复"
            self.later(ComplaintAnswered, t + minutes * _MIN, complaint=cid, text=text)
