"""The duty screen: who operates this console (signed in how, or read-only), who is on
duty now, handovers waiting for acceptance and the silences in force. Its keys write a
handover (H) and accept one (G); the app does the acting, this panel only shows.

Imports: textual, rich, runtime (view, desk), console.text.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from console.text import Words, clock
from metrics.snapshot import HallSnapshot
from runtime.desk import Session
from runtime.view import View


class DutyPanel(Static):
    """Operator, director on duty, unaccepted handovers, silences."""

    DEFAULT_CSS = "DutyPanel { padding: 1 2; height: 1fr; }"

    def show(
        self,
        view: View,
        hall: HallSnapshot | None,
        words: Words,
        session: Session | None,
        name_of: Callable[[str], str] = str,
    ) -> None:
        """``session``: who acts at this console (the desk's), None: read-only;
        ``name_of``: a person's roster name."""
        parts: list[Text] = []

        def person(key: str) -> str:  # (their roster name, and who that is)
            name = name_of(key)
            return name if name == key else f"{name} ({key})"

        line = Text()
        line.append(f"{words['operator']}: ", "bold")
        if session is None:
            line.append(words["no_operator"], "bold red")
        else:
            line.append(person(session.person))
            line.append(f" · {words['signed_in_by']} {words['by_' + session.method]}", "dim")
        parts.append(line)
        line = Text()
        line.append(f"{words['on_duty']}: ", "bold")
        duty = view.on_duty
        if duty is None:
            line.append(words["nobody_on_duty"], "yellow")
        else:
            line.append(f"{duty.name} ({duty.person}) · {duty.shift} ")
            line.append(f"{clock(duty.start_ms)}–{clock(duty.end_ms)}", "cyan")
        parts.append(line)
        parts.append(Text(""))
        parts.append(Text(words["handovers_waiting"], "bold"))
        if not view.handovers_unaccepted:
            parts.append(Text("  " + words["none"], "dim"))
        for handover_id, hall_name, written_by, written_ms in view.handovers_unaccepted:
            row = Text("  ")
            row.append(f"#{handover_id} ", "bold yellow")
            row.append(f"{words.hall(hall_name)} · {person(written_by)} · {clock(written_ms)}")
            parts.append(row)
        parts.append(Text(""))
        parts.append(Text(words["silences"], "bold"))
        if not view.silences:
            parts.append(Text("  " + words["none"], "dim"))
        for s in view.silences:
            row = Text("  ")
            rule = words[s.rule] if s.rule else "*"
            row.append(f"#{s.id} {words.hall(s.hall)} {rule} {s.scope_prefix}", "bold")
            row.append(f" · {person(s.created_by)} · {words['until']} {clock(s.until_ms)} · "
                       f"{s.reason}")  # fmt: skip
            parts.append(row)
        parts.append(Text(""))
        parts.append(Text(words["duty_keys"], "dim"))
        self.update(Group(*parts))
