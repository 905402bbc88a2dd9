"""The console's keys: one table (``KEYS``) that the footer, the ``?`` help screen and
the command palette are all built from, so a key can never be in one and not the others.
The help groups them by what they are for (screens, halls, tables, acting on an alert,
duty …); the replay's keys are shown (in the help, the palette, the key bar) only in a
replay, the province's (``v``, its table's Enter) only in the console over NATS. The
palette has each action once: Textual's own "Quit" and "Keys" give way to ours, in the
current language.

Imports: textual, rich, console.text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import Horizontal, VerticalScroll
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
    group: str = "general"
    """Its section of the help (``HELP_GROUPS``)."""


#: Screens in the order of their keys; "overview" is the hall's overview.
SCREEN_KEYS: tuple[tuple[str, str], ...] = (
    ("c", "city"),
    ("o", "overview"),
    ("w", "windows"),
    ("u", "queue"),
    ("a", "alerts"),
    ("g", "backlog"),
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
    Key("v", "screen('province')", "key_province", footer="f_province", group="province"),
    Key("question_mark", "help", "key_help", "?", footer="f_help"),
    Key("f1", "help", "key_help"),
    *(Key(k, f"screen('{name}')", f"screen_{name}", group="screens") for k, name in SCREEN_KEYS),
    Key("right_square_bracket", "hall(1)", "key_next_hall", "]", footer="f_next_hall",
        group="halls"),
    Key("left_square_bracket", "hall(-1)", "key_prev_hall", "[", group="halls"),
    Key("slash", "filter", "key_filter", "/", footer="f_filter", group="tables"),
    Key("s", "sort_by", "key_sort", group="tables"),
    Key("S", "sort_reverse", "key_sort_reverse", group="tables"),
    Key("p", "pause", "key_pause", footer="f_pause", group="view"),
    Key("l", "language", "key_lang", group="view"),
    Key("escape", "close_filter", "key_escape", "Esc", group="tables"),
    Key("i", "sign_in", "key_sign_in", footer="f_sign_in", group="duty"),
    Key("I", "sign_out", "key_sign_out", group="duty"),
    Key("A", "acknowledge", "key_ack", footer="f_ack", group="alerts"),
    Key("R", "resolve", "key_resolve", footer="f_resolve", group="alerts"),
    Key("X", "silence", "key_silence", footer="f_silence", group="alerts"),
    Key("t", "timeline", "key_timeline", footer="f_timeline", group="alerts"),
    Key("H", "handover", "key_handover", footer="f_handover", group="duty"),
    Key("G", "accept_handover", "key_accept", footer="f_accept", group="duty"),
    Key("space", "replay_pause", "key_replay_pause", "space", footer="f_replay_pause",
        group="replay"),
    Key("full_stop", "replay_step(60)", "key_replay_step", ".", footer="f_replay_step",
        group="replay"),
    Key("greater_than_sign", "replay_step(900)", "key_replay_forward", ">",
        footer="f_replay_forward", group="replay"),
    Key("less_than_sign", "replay_step(-900)", "key_replay_back", "<", footer="f_replay_back",
        group="replay"),
    Key("plus", "replay_speed(2)", "key_replay_faster", "+", group="replay"),
    Key("minus", "replay_speed(0.5)", "key_replay_slower", "-", group="replay"),
)  # fmt: skip
REPLAY_ACTIONS = frozenset({"replay_pause", "replay_step", "replay_speed"})
#: The help's sections, in the two columns they are shown in.
HELP_GROUPS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("province", "screens", "halls", "view", "general"),
    ("tables", "alerts", "duty", "replay"),
)
#: Keys that are not actions of ``KEYS`` (the widgets' own), by help section.
_OTHER_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "province": (("Enter", "key_open_place"),),
    "halls": (("1 … 9", "key_hall_n"),),
    "tables": (("Enter", "key_enter"),),
    "general": (("ctrl+p", "key_palette"),),
}
#: Textual's palette commands that ours already are (``q``, ``?``).
_TEXTUAL_DUPLICATES = frozenset({"Quit", "Keys"})


def is_replay_key(k: Key) -> bool:
    return k.group == "replay"


def is_province_key(k: Key) -> bool:
    """A key of the console over NATS only (``console.province``)."""
    return k.group == "province"


def help_sections(
    words: Words, *, replay: bool, province: bool = False
) -> list[list[tuple[str, list[tuple[str, str]]]]]:
    """The help's columns: each a list of (section title, [(key, what it does)]). The
    replay's section only in a replay, the province's only over NATS."""
    columns = []
    for groups in HELP_GROUPS:
        column = []
        for group in groups:
            if (group == "replay" and not replay) or (group == "province" and not province):
                continue
            rows = [(k.display or k.key, words[k.words])
                    for k in KEYS if k.group == group and k.key != "f1"]  # fmt: skip
            rows += [(key, words[what]) for key, what in _OTHER_KEYS.get(group, ())]
            title = words[f"group_{group}"]
            if group == "alerts":
                title += f" ({words['group_alerts_where']})"
            column.append((title, rows))
        columns.append(column)
    return columns


def palette_binding(words: Words) -> Binding:
    """ctrl+p, the command palette, said in the key bar in the current language."""
    return Binding("ctrl+p", "command_palette", words["f_palette"], show=False,
                   key_display="^p", priority=True)  # fmt: skip


def system_commands(commands: Iterable[SystemCommand]) -> Iterable[SystemCommand]:
    """Textual's palette commands without those ours already are (its "Quit" beside
    our "退出 (q)")."""
    return (c for c in commands if c.title not in _TEXTUAL_DUPLICATES)


class HelpScreen(ModalScreen[None]):
    """Every key of the console, in the current language, grouped by what it is for."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", show=False),
        Binding("question_mark", "dismiss", show=False),
        Binding("f1", "dismiss", show=False),
        Binding("q", "dismiss", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96%; max-width: 120; height: auto; max-height: 94%; padding: 0 1;
        border: round $accent; background: $surface;
    }
    HelpScreen Horizontal { width: 100%; height: auto; }
    HelpScreen .keys { width: 1fr; margin: 0 2 0 0; }
    """

    def __init__(self, words: Words, *, replay: bool = False, province: bool = False) -> None:
        super().__init__()
        self.words = words
        self.replay = replay
        """Whether the replay's keys apply (``console --replay``)."""
        self.province = province
        """Whether the province's keys apply (``console --nats``)."""

    def compose(self) -> ComposeResult:
        w = self.words
        with VerticalScroll():
            yield Static(Text(w["help_title"], "bold"))
            with Horizontal():
                for n, column in enumerate(
                    help_sections(w, replay=self.replay, province=self.province)
                ):
                    parts: list[RenderableType] = []
                    for title, rows in column:
                        parts.append(Text(f"\n{title}", "bold underline"))
                        grid = Table.grid(padding=(0, 1))
                        grid.add_column(no_wrap=True, style="bold", min_width=7)
                        grid.add_column(overflow="fold")  # a long description wraps beside its key
                        for key, what in rows:
                            grid.add_row(f"  {key}", what)
                        parts.append(grid)
                    yield Static(Group(*parts), id=f"help-{n}", classes="keys")
            yield Static(Text("\n" + w["close_help"], "dim"))


class ConsoleCommands(Provider):
    """Every key's action in the command palette, in the current language (the replay's
    only in a replay, the province's only over NATS)."""

    def _commands(self) -> list[tuple[str, Callable[[], object]]]:
        app: Any = self.app  # the HallwatchApp: words, hall_names, replay, the actions
        out: list[tuple[str, Callable[[], object]]] = []
        for k in KEYS:
            if k.key in ("f1", "escape") or (is_replay_key(k) and app.replay is None):
                continue
            if is_province_key(k) and not app.province:
                continue
            out.append(
                (f"{app.words[k.words]} ({k.display or k.key})", partial(app.run_action, k.action))
            )
        for n, name in enumerate(app.hall_names, start=1):
            label = f"{app.words['hall']} {n}: {app.words.hall(name)}"
            out.append((label, partial(app.action_hall_number, n)))
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
