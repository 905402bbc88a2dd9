"""The console's dialogs: a note (acknowledge, resolve, handover), a silence, a timeline,
a Markdown report, signing in, and the sort menu. Each is a ``ModalScreen`` that returns
what the person typed (or None when they pressed Esc), so an action in the app is one
``push_screen`` with a callback.

Imports: textual, rich, console.text.
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Markdown, Static

from console.text import Words, stamp

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical, {name} > VerticalScroll {{
    width: 80%; max-width: 100; height: auto; max-height: 90%; padding: 1 2;
    border: round $accent; background: $surface;
}}
{name} Label {{ margin: 1 0 0 0; }}
{name} .error {{ color: $error; }}
"""


class NoteDialog(ModalScreen[str | None]):
    """Asks for a note. ``required``: Enter on an empty note is refused."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]
    DEFAULT_CSS = _DIALOG_CSS.format(name="NoteDialog")

    def __init__(self, title: str, words: Words, *, required: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.words = words
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            yield Label(self.words["note_required" if self.required else "note_optional"])
            yield Input(id="note")
            yield Static("", id="problem", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if self.required and not note:
            self.query_one("#problem", Static).update(self.words["note_missing"])
            return
        self.dismiss(note)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SilenceDialog(ModalScreen[tuple[float, str, bool] | None]):
    """Asks how long (minutes of hall time) and why, both required, and whether the
    silence is for this one alert (its scope) or for every alert of its rule in the hall
    (the checkbox, off by default): (minutes, why, whole rule)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]
    DEFAULT_CSS = _DIALOG_CSS.format(name="SilenceDialog")

    def __init__(self, title: str, words: Words, rule_label: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.words = words
        self.rule_label = rule_label or words["silence_whole_rule"]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            yield Label(self.words["silence_minutes"])
            yield Input("60", id="minutes", type="number")
            yield Label(self.words["silence_why"])
            yield Input(id="why")
            yield Checkbox(self.rule_label, False, id="whole_rule")
            yield Static("", id="problem", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "minutes":
            self.query_one("#why", Input).focus()
            return
        try:
            minutes = float(self.query_one("#minutes", Input).value)
        except ValueError:
            minutes = 0.0
        why = self.query_one("#why", Input).value.strip()
        if minutes <= 0 or not why:
            self.query_one("#problem", Static).update(self.words["silence_missing"])
            return
        self.dismiss((minutes, why, self.query_one("#whole_rule", Checkbox).value))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """Ticked or not, Enter in the reason field then confirms."""
        self.query_one("#why", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class TimelineDialog(ModalScreen[None]):
    """One alert's audit records, oldest first: hall time, who, what, note."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", show=False),
        Binding("q", "dismiss", show=False),
    ]
    DEFAULT_CSS = _DIALOG_CSS.format(name="TimelineDialog")

    def __init__(self, title: str, records: Sequence[tuple[int, str, str, str]], words: Words):
        super().__init__()
        self.title_text = title
        self.records = records
        self.words = words

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(self.title_text + "\n\n", "bold")
        for hall_ms, actor, what, note in self.records:
            text.append(f"{stamp(hall_ms)}  ", "cyan")
            text.append(f"{actor:<10} ", "bold")
            text.append(what)
            if note:
                text.append(f"  — {note}", "italic")
            text.append("\n")
        if not self.records:
            text.append(self.words["no_records"] + "\n", "dim")
        text.append("\n" + self.words["close_help"], "dim")
        with VerticalScroll():
            yield Static(text, id="timeline")


class ReportDialog(ModalScreen[None]):
    """A Markdown report (the shift report of a handover)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", show=False),
        Binding("q", "dismiss", show=False),
    ]
    DEFAULT_CSS = _DIALOG_CSS.format(name="ReportDialog")

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.markdown, id="report")


class SignInDialog(ModalScreen[str | None]):
    """Who signs in: a person (roster key or name) and their password, checked by
    ``check`` while the dialog stays up, so a refusal (or the wait after several) is
    shown in it and the password field is emptied. Returns the person once signed in."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]
    DEFAULT_CSS = _DIALOG_CSS.format(name="SignInDialog")

    def __init__(
        self,
        people: Mapping[str, str],
        words: Words,
        check: Callable[[str, str], Awaitable[str | None]],
        person: str = "",
    ) -> None:
        super().__init__()
        self.people = people
        self.words = words
        self.check = check
        self.person = person

    def compose(self) -> ComposeResult:
        listed = " · ".join(k if k == n else f"{k} {n}" for k, n in self.people.items())
        with Vertical():
            yield Static(Text(self.words["sign_in_title"], "bold"))
            yield Static(Text(listed, "dim"), id="people")
            yield Label(self.words["sign_in_person"])
            yield Input(self.person, id="person")
            yield Label(self.words["sign_in_password"])
            yield Input(id="password", password=True)
            yield Static("", id="problem", classes="error")

    def on_mount(self) -> None:
        self.query_one("#password" if self.person else "#person", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        person = self.query_one("#person", Input).value.strip()
        password = self.query_one("#password", Input)
        if not person:
            self.query_one("#person", Input).focus()
            return
        if event.input.id == "person":
            password.focus()
            return
        self.run_worker(self._attempt(person, password.value), exclusive=True)

    async def _attempt(self, person: str, password: str) -> None:
        problem = await self.check(person, password)
        if problem is None:
            self.dismiss(person)
            return
        self.query_one("#problem", Static).update(problem)
        box = self.query_one("#password", Input)
        box.value = ""
        box.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


#: The keys that pick a column in the sort menu: 0 the natural order, then 1-9, a-z.
SORT_KEYS = "123456789" + string.ascii_lowercase


class SortDialog(ModalScreen[int | None]):
    """``s`` on a table: every column with a key (``1`` … ``9``, ``a`` …) and ``0`` for
    the natural order; one key press sorts, where ``s`` used to step through up to 13
    columns. Returns the column's index, -1 for the natural order, None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]
    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="SortDialog")
        + """
    SortDialog > Vertical { width: auto; min-width: 36; }
    SortDialog Static { width: auto; }
    """
    )

    def __init__(
        self, columns: Sequence[str], words: Words, current: int | None, reverse: bool
    ) -> None:
        super().__init__()
        self.columns = columns
        """The columns' headings, in order."""
        self.words = words
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        w = self.words
        text = Text()
        text.append(f"  0  {w['sort_natural']}\n", "bold" if self.current is None else "")
        for i, heading in enumerate(self.columns[: len(SORT_KEYS)]):
            text.append(f"  {SORT_KEYS[i]}  ", "bold")
            text.append(heading, "reverse" if i == self.current else "")
            if i == self.current:
                text.append(" ▼" if self.reverse else " ▲")
            text.append("\n")
        with Vertical():
            yield Static(Text(w["sort_title"], "bold"))
            yield Static(text, id="sort-columns")
            yield Static(Text(w["sort_hint"], "dim"))

    def on_key(self, event: events.Key) -> None:
        key = event.character or ""
        if key == "0":
            event.stop()
            self.dismiss(-1)
        elif key and key in SORT_KEYS and SORT_KEYS.index(key) < len(self.columns):
            event.stop()
            self.dismiss(SORT_KEYS.index(key))

    def action_cancel(self) -> None:
        self.dismiss(None)
