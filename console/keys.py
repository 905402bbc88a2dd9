"""The console's keys: one table (``KEYS``) that the footer, the ``?`` help screen and
the command palette are all built from, so a key can never be in one and not the others.

Imports: textual, rich, console.text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.text import Words


@dataclass(frozen=True, slots=True)
class Key:
    """One key of the console: what it does, in the help, the footer and the palette."""

    key: str
    action: str
    words: str
    """``Words`` key of its description."""
    display: str | None = None
    footer: str | None = None
    """``Words`` key of its short label in the footer; None: not in the footer."""


#: Screens in the order of their keys; "overview" is the hall's overview.
SCREEN_KEYS: tuple[tuple[str, str], ...] = (
    ("c", "city"),
    ("o", "overview"),
    ("w", "windows"),
    ("u", "queue"),
    ("a", "alerts"),
    ("k", "cases"),
    ("m", "complaints"),
    ("f", "feeds"),
    ("d", "duty"),
    ("b", "board"),
)
#: Actions that act on the selected alert, and the screens where one can be selected.
ALERT_ACTIONS = frozenset({"acknowledge", "resolve", "silence", "timeline"})
DUTY_ACTIONS = frozenset({"handover", "accept_handover"})
#: Signing in (offered while read-only) and out (while someone is signed in).
SESSION_ACTIONS = frozenset({"sign_in", "sign_out"})

KEYS: tuple[Key, ...] = (
    Key("q", "quit", "key_quit", footer="f_quit"),
    Key("question_mark", "help", "key_help", "?", footer="f_help"),
    Key("f1", "help", "key_help"),
    *(Key(k, f"screen('{name}')", f"screen_{name}") for k, name in SCREEN_KEYS),
    Key("right_square_bracket", "hall(1)", "key_next_hall", "]", footer="f_next_hall"),
    Key("left_square_bracket", "hall(-1)", "key_prev_hall", "["),
    Key("slash", "filter", "key_filter", "/", footer="f_filter"),
    Key("s", "sort", "key_sort"),
    Key("S", "sort_reverse", "key_sort_reverse"),
    Key("p", "pause", "key_pause", footer="f_pause"),
    Key("l", "language", "key_lang"),
    Key("escape", "close_filter", "key_escape"),
    Key("i", "sign_in", "key_sign_in", footer="f_sign_in"),
    Key("I", "sign_out", "key_sign_out"),
    Key("A", "acknowledge", "key_ack", footer="f_ack"),
    Key("R", "resolve", "key_resolve", footer="f_resolve"),
    Key("X", "silence", "key_silence", footer="f_silence"),
    Key("t", "timeline", "key_timeline", footer="f_timeline"),
    Key("H", "handover", "key_handover", footer="f_handover"),
    Key("G", "accept_handover", "key_accept", footer="f_accept"),
    Key("space", "replay_pause", "key_replay_pause", "space", footer="f_replay_pause"),
    Key("full_stop", "replay_step(60)", "key_replay_step", ".", footer="f_replay_step"),
    Key(
        "greater_than_sign",
        "replay_step(900)",
        "key_replay_forward",
        ">",
        footer="f_replay_forward",
    ),
    Key("less_than_sign", "replay_step(-900)", "key_replay_back", "<", footer="f_replay_back"),
    Key("plus", "replay_speed(2)", "key_replay_faster", "+"),
    Key("minus", "replay_speed(0.5)", "key_replay_slower", "-"),
)
REPLAY_ACTIONS = frozenset({"replay_pause", "replay_step", "replay_speed"})


class HelpScreen(ModalScreen[None]):
    """Every key of the console, in the current language."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", show=False),
        Binding("question_mark", "dismiss", show=False),
        Binding("f1", "dismiss", show=False),
        Binding("q", "dismiss", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: auto; max-width: 90%; height: auto; max-height: 90%; padding: 1 2;
        border: round $accent; background: $surface;
    }
    HelpScreen Static { width: auto; }
    """

    def __init__(self, words: Words) -> None:
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        w = self.words
        text = Text()
        text.append(w["help_title"] + "\n\n", "bold")
        rows: list[tuple[str, str]] = []
        for k in KEYS:
            if k.key in ("f1", "escape"):
                continue
            rows.append((k.display or k.key, w[k.words]))
            if k.key == "left_square_bracket":
                rows.append(("1 … 9", w["key_hall_n"]))
        rows += [("Enter", w["key_enter"]), ("Esc", w["key_escape"]), ("ctrl+p", w["key_palette"])]
        for key, what in rows:
            text.append(f"  {key:<7} ", "bold")
            text.append(what + "\n")
        text.append("\n" + w["close_help"], "dim")
        with VerticalScroll():
            yield Static(text, id="help-text")


class ConsoleCommands(Provider):
    """Every key's action in the command palette, in the current language."""

    def _commands(self) -> list[tuple[str, Callable[[], object]]]:
        app: Any = self.app  # the HallwatchApp: words, hall_names, the actions
        out: list[tuple[str, Callable[[], object]]] = []
        for k in KEYS:
            if k.key in ("f1", "escape"):
                continue
            out.append(
                (f"{app.words[k.words]} ({k.display or k.key})", partial(app.run_action, k.action))
            )
        for n, name in enumerate(app.hall_names, start=1):
            out.append((f"{app.words['hall']} {n}: {name}", partial(app.action_hall_number, n)))
        return out

    async def discover(self) -> AsyncIterator[DiscoveryHit]:
        for text, command in self._commands():
            yield DiscoveryHit(text, command, text=text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for text, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text)
