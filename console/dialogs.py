"""The console's dialogs: a note (acknowledge, resolve, handover), a silence, a timeline,
and a Markdown report. Each is a ``ModalScreen`` that returns what the person typed (or
None when they pressed Esc), so an action in the app is one ``push_screen`` with a
callback.

Imports: textual, rich, console.text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Markdown, Static

from console.text import Words, clock

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


class SilenceDialog(ModalScreen[tuple[float, str] | None]):
    """Asks how long (minutes of hall time) and why; both are required."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]
    DEFAULT_CSS = _DIALOG_CSS.format(name="SilenceDialog")

    def __init__(self, title: str, words: Words) -> None:
        super().__init__()
        self.title_text = title
        self.words = words

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            yield Label(self.words["silence_minutes"])
            yield Input("60", id="minutes", type="number")
            yield Label(self.words["silence_why"])
            yield Input(id="why")
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
        self.dismiss((minutes, why))

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
            text.append(f"{clock(hall_ms)}  ", "cyan")
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


class OperatorDialog(ModalScreen[str]):
    """Who is at this console: chosen from the roster at start (when ``--operator`` was not
    given), so every action in the audit trail carries a name from the roster."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="OperatorDialog")

    def __init__(self, people: Sequence[tuple[str, str]], words: Words) -> None:
        super().__init__()
        self.people = people
        self.words = words

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        with Vertical():
            yield Static(Text(self.words["choose_operator"], "bold"))
            yield OptionList(
                *(Option(f"{name} ({person})", id=person) for person, name in self.people),
                id="people",
            )

    def on_option_list_option_selected(self, event: object) -> None:
        option = getattr(event, "option", None)
        if option is not None and option.id is not None:
            self.dismiss(option.id)
