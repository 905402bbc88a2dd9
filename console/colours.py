"""Colour as the eye reads it: a figure that approaches its limit changes colour before it
crosses it, as btop's meters do (issue 13, point 8). A wait of 20 minutes against a
30-minute limit is already tinted; at 80 % it takes the warning's colour (the share at
which the waiting rule raises its 预警, ``[thresholds] yellow_share``, 0.8 by default);
at the limit, the urgent one. One ramp for every figure that has a limit, so the same
colour means the same nearness everywhere.

Imports: rich.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text

#: (share of the limit, style), highest first: the first share a value reaches wins.
RAMP: Final = (
    (1.0, "bold red"),  # over the limit: as an urgent warning (紧急预警)
    (0.8, "yellow"),  # the warning share: as a warning (预警)
    (0.6, "dark_goldenrod"),  # approaching: tinted before anything fires
)
NEAR_STYLE: Final = RAMP[2][1]
WARN_STYLE: Final = RAMP[1][1]
OVER_STYLE: Final = RAMP[0][1]


def approach(value: float | None, limit: float | None) -> str:
    """The style of ``value`` against ``limit`` on the ramp; "" well below it, or
    without a value or a limit."""
    if value is None or not limit or limit <= 0:
        return ""
    share = value / limit
    for at, style in RAMP:
        if share >= at:
            return style
    return ""


def tinted(text: str, value: float | None, limit: float | None) -> str | Text:
    """``text`` in the style of ``value`` against ``limit`` (plain text when none)."""
    style = approach(value, limit)
    return Text(text, style) if style else text
