"""The overview's widgets. Each renders from a frozen snapshot and repaints only on change.

- ``CityStrip``: every hall on one line (waiting, live warnings, backlog), the shown hall
  highlighted.
- ``Headline``: the hall's headline figures and its alerts counted by kind, on two lines
  that never wrap (the least important parts go first when the terminal is narrow).
- ``ZoneTable``: one row per zone, diffed row by row (``KeyedTable.sync``); the columns that
  do not fit are left out, least important first.
- ``WindowGrid``: a tile per window, coloured by state; one Line-API widget, so 40 tiles
  cost one widget's refresh, and only the lines whose tiles changed are drawn again.
- ``AlertTable``: the hall's live alerts, gravest and newest first, diffed by alert id;
  ``AlertDetail`` under it gives the highlighted one in full.
- ``FeedBar``: each feed's connection, events, rejections and gaps.

Imports: textual, rich, metrics.snapshot, runtime.view (View, AlertView),
console.text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from alerts.topics import LIVE_TOPICS, topic_name
from console.colours import tinted
from console.grid import KeyedTable, TextLines, text_look
from console.text import Words, clock, duration, stamp, when
from feeds.source import FeedSnapshot
from metrics.snapshot import HallSnapshot, WindowSnapshot
from runtime.view import BACKLOG_ORDER, AlertCounts, AlertView, View

#: Colours that read on dark and light terminals and in 16 colours. Cards (黄牌/红牌) are
#: filled blocks; warnings (预警) are coloured text, so the two never look alike.
SEVERITY_STYLE = {
    "red": "bold white on red",
    "yellow": "bold black on yellow",
    "urgent": "bold red",
    "notice": "yellow",
}
STATE_STYLE = {"open": "green", "paused": "yellow", "closed": "bright_black"}
#: A window tile's border when an alert is open on the window (warnings: windows get no
#: cards).
CARD_EDGE = {"red": "bold red", "yellow": "bold yellow", "urgent": "bold red", "notice": "yellow"}


Row = tuple[str, list[str | Text], tuple[Any, ...]]
"""(key, cells, sort values): one row of a table screen."""


def matches(cells: Sequence[str | Text], needle: str) -> bool:
    """Whether any cell contains ``needle`` (case-insensitive)."""
    needle = needle.casefold()
    return any(needle in str(cell).casefold() for cell in cells)


class ViewTable(KeyedTable):
    """A table screen: ``build`` rows from the view; filtered, sorted and diffed here
    (a Line-API ``KeyedTable``: only the rows that changed are drawn again)."""

    DEFAULT_CSS = """
    ViewTable.titled { border-top: solid $panel-lighten-2; border-title-color: $text; }
    ViewTable.narrowed { border-top: solid $accent; border-title-color: $accent; }
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    """Column keys, also the ``Words`` keys of their headings."""
    FIT: ClassVar[bool] = False
    """The last column holds long text: it takes the width the others leave, its cells
    cut with an ellipsis (``KeyedTable.fit_last``)."""
    DROP: ClassVar[tuple[str, ...]] = ()
    """Column priorities: the columns left out, first first, while the long last column
    would get fewer than ``FIT_WANT`` cells (the text that says what a row is stays
    readable at 120 columns; filter and sort still see every column)."""
    FIT_WANT: ClassVar[int] = 40

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(zebra_stripes=True, fit_last=self.FIT, **kwargs)
        self.sort_column: int | None = None
        """Index into COLUMNS, or None for the table's natural order."""
        self.sort_reverse = False
        self.filter_text = ""
        self._shown: tuple[int, ...] = tuple(range(len(self.COLUMNS)))
        """Indexes into COLUMNS of the columns on show."""
        self._title: str | None = None
        """The top edge's text as last set (setting it repaints the whole table)."""

    def set_language(self, words: Words) -> None:
        columns = []
        for i, key in enumerate(self.COLUMNS):
            if i not in self._shown:
                continue
            label = words[key]
            if i == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            columns.append((key, label))
        self.set_columns(columns)

    def _choose_columns(self, rows: Sequence[Row], words: Words) -> tuple[int, ...]:
        """The columns to show: all but the ``DROP`` ones needed to leave the last column
        ``FIT_WANT`` cells, measured on the first rows (a flood is not measured whole)."""
        every = tuple(range(len(self.COLUMNS)))
        if not self.DROP:
            return every
        pad = 2 * self.PADDING
        need = [cell_len(words[key]) + 2 for key in self.COLUMNS]  # (+ a sort arrow)
        for _, cells, _ in rows[:200]:
            for i, cell in enumerate(cells):
                need[i] = max(need[i], _cell_width(cell))
        width = self.scrollable_content_region.width or max(self.app.size.width - 4, 20)
        shown = list(every)
        for key in (None, *self.DROP):
            if key is not None:
                shown.remove(self.COLUMNS.index(key))
            if width - sum(need[i] + pad for i in shown[:-1]) - pad >= self.FIT_WANT:
                break
        return tuple(shown)

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        """The rows, in natural order. Subclasses override."""
        return ()

    def heading(self, view: View, hall: HallSnapshot | None, words: Words) -> str | None:
        """A line on the table's top edge (what it lists, counted); None: no edge."""
        return None

    def on_resize(self) -> None:
        """Columns with priorities are chosen again for the new width."""
        if self.DROP and (last := getattr(self, "_last", None)) is not None:
            self.show(*last)

    def show(self, view: View, hall: HallSnapshot | None, words: Words) -> None:
        self._last = (view, hall, words)
        rows = list(self.build(view, hall, words))
        total = len(rows)
        if self.filter_text:
            rows = [r for r in rows if matches(r[1], self.filter_text)]
        if self.sort_column is not None:
            col = self.sort_column
            rows.sort(key=lambda r: r[2][col], reverse=self.sort_reverse)
        shown = self._choose_columns(rows, words)
        if shown != self._shown:
            self._shown = shown
            self.set_language(words)
        if len(shown) == len(self.COLUMNS):
            self.sync({key: cells for key, cells, _ in rows})
        else:
            self.sync({key: [cells[i] for i in shown] for key, cells, _ in rows})
        self._say_narrowed(words, len(rows), total, self.heading(view, hall, words))

    def _say_narrowed(
        self, words: Words, shown: int, total: int, heading: str | None = None
    ) -> None:
        """A filter or a sort in force is said on the table's top edge (k9s shows
        ``alerts(/idle) 2/228``): a narrowed table never passes for the whole. A table
        with a ``heading`` says it there too."""
        parts = []
        if self.filter_text:
            parts.append(f"/{self.filter_text}  {shown}/{total}")
        if self.sort_column is not None:
            arrow = "▼" if self.sort_reverse else "▲"
            parts.append(f"{words['sorted_by']} {words[self.COLUMNS[self.sort_column]]} {arrow}")
        self.set_class(bool(parts), "narrowed")
        self.set_class(heading is not None, "titled")
        title = [heading, *parts] if heading else parts
        text = "  ·  ".join(title) if title else None
        if text != self._title:
            self._title = text
            self.border_title = text

    def cycle_sort(self, words: Words, *, reverse: bool = False) -> None:
        """``s``: sort by the next column; ``S``: reverse the order."""
        if reverse:
            self.sort_reverse = not self.sort_reverse
        else:
            n = len(self.COLUMNS)
            self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % n
        self.set_language(words)


_CARD_RANK = {"notice": 1, "yellow": 2, "urgent": 3, "red": 4}


def fit(candidates: Sequence[Text], width: int) -> Text:
    """The first of ``candidates`` (the most detailed first) that fits in ``width`` cells;
    else the last, cut with an ellipsis. A line that must not wrap leaves parts out
    instead of spilling onto a second line."""
    for line in candidates:
        if line.cell_len <= width:
            return line
    line = candidates[-1].copy()
    line.truncate(max(width, 1), overflow="ellipsis")
    return line


def by_priority(parts: Sequence[tuple[int, Text]], width: int) -> tuple[list[Text], int]:
    """The parts of a line, (priority, part) in their order on it, that fit in ``width``
    cells: all of them, else without the parts of the highest number, and so on down to
    the priority-0 parts (cut where the line ends). A priority is left out everywhere at
    once: every hall loses its backlog count before any loses its warnings. Returns the
    parts kept and the highest priority kept."""
    widths = [part.cell_len for _, part in parts]
    levels = sorted({p for p, _ in parts}, reverse=True) or [0]
    for top in levels:
        if sum(w for (p, _), w in zip(parts, widths, strict=True) if p <= top) <= width:
            break
    kept, used = [], 0
    for (p, part), w in zip(parts, widths, strict=True):
        if p <= top and used <= width:  # (past the end of the line: nothing to build)
            kept.append(part)
            used += w
    return kept, top


def line_of(parts: Sequence[Text], width: int) -> Text:
    """One line of ``parts``, cut with an ellipsis at ``width``."""
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    for part in parts:
        line.append_text(part)
    line.truncate(max(width, 1), overflow="ellipsis")
    return line


def show_lines(widget: Static, *lines: Text) -> None:
    """Put ``lines`` on ``widget``, unless it shows them already: an update of a Static
    costs a layout pass, and most of these lines change far less often than the view."""
    look = tuple(text_look(line) for line in lines)
    if look == getattr(widget, "_look", None):
        return
    widget._look = look  # type: ignore[attr-defined]
    widget.update(lines[0] if len(lines) == 1 else Group(*lines))


def width_of(widget: Widget, margin: int = 2) -> int:
    """The cells ``widget`` has for its content: its own once laid out, else the
    terminal's less ``margin``."""
    return widget.content_region.width or max(widget.app.size.width - margin, 10)


#: The live severities as the strip and the headline count them: grave ones first.
_GRAVE = ("red", "urgent")
_LIGHT = ("yellow", "notice")
#: Short words for the warnings where space is short (cards keep theirs).
_SHORT = {"urgent": "urgent_short", "notice": "notice_short"}


def _count(severity: str, n: int, words: Words) -> Text:
    """``紧急 5`` in the warning's colour; a card as its filled block, `` 红牌 2 ``."""
    if severity in ("red", "yellow"):
        return Text(f" {words[severity]} {n} ", SEVERITY_STYLE[severity])
    return Text(f"{words[_SHORT.get(severity, severity)]} {n}", SEVERITY_STYLE[severity])


def live_counts(
    counts: AlertCounts, words: Words, severities: Sequence[str] = (*_GRAVE, *_LIGHT)
) -> Text:
    """The live alerts by severity, the grave first: `` 紧急 5 预警 92``."""
    out = Text()
    for severity in severities:
        if counts.live[severity] > 0:
            out.append(" ")
            out.append_text(_count(severity, counts.live[severity], words))
    return out


def topic_counts(topics: Mapping[str, int], order: Sequence[str], words: Words) -> str:
    """``排队超时 3 · 投诉 1``: each topic with alerts, in the order of ``order``."""
    return " · ".join(
        f"{topic_name(t, words.lang)} {topics[t]}" for t in order if topics.get(t, 0) > 0
    )


def worst_cards(alerts: Sequence[AlertView], hall: str, rules: frozenset[str]) -> dict[str, str]:
    """The worst card open per scope head (a zone, a window: the scope up to its first
    ``/``) among ``hall``'s alerts of ``rules``."""
    out: dict[str, str] = {}
    for a in alerts:
        if a.hall == hall and a.rule in rules:
            head = a.scope.split("/", 1)[0]
            if _CARD_RANK.get(a.severity, 0) > _CARD_RANK.get(out.get(head, ""), 0):
                out[head] = a.severity
    return out


class CityStrip(Static):
    """``1 anqiu 排队 23 紧急 3 预警 9 待办 12`` for every hall: the live alerts (the hall
    now) first, the backlog as one count; the shown hall in reverse video. Where the line
    is short the backlog counts go first, then the notices, the same for every hall; where
    not even every hall's name fits, the line starts shortly before the shown hall."""

    def show(
        self,
        halls: Mapping[str, HallSnapshot],
        current: str | None,
        counts: Mapping[str, AlertCounts],
        words: Words,
    ) -> None:
        """``counts``: hall → its alerts by kind (``runtime.view.alert_counts``)."""
        self._last = (halls, current, counts, words)
        if not halls:
            show_lines(self, Text(words["no_halls"], "italic"))
            return
        width = width_of(self, 0)
        names = list(halls)
        heads = [
            f" {n} {words.hall(name)} {words['queued']} {halls[name].waiting} "
            for n, name in enumerate(names, start=1)
        ]
        first = 0
        if current in halls and sum(cell_len(h) + 3 for h in heads) > width:
            # Not even every hall's name fits (a province's hundred halls): the line
            # starts two halls before the shown one, which is always on it.
            first = max(0, names.index(current) - 2)
        none = AlertCounts()
        parts: list[tuple[int, Text]] = [(0, Text("…"))] if first else []
        for name, head in zip(names[first:], heads[first:], strict=True):
            if sum(p.cell_len for _, p in parts) > width:
                break  # (what lies past the end of the line is not built)
            mine = counts.get(name, none)
            parts.append((0, Text(head, "reverse bold" if name == current else "")))
            parts.append((1, live_counts(mine, words, _GRAVE)))
            parts.append((2, live_counts(mine, words, _LIGHT)))
            if mine.backlog:
                parts.append((3, Text(f"  {words['backlog']} {mine.backlog}", "dim")))
            parts.append((0, Text("   ")))
        kept, _ = by_priority(parts, width)
        show_lines(self, line_of(kept, width))

    def on_resize(self) -> None:
        """Fitted again to the new width."""
        if (last := getattr(self, "_last", None)) is not None:
            self.show(*last)


class Headline(Static):
    """The hall on two lines that never wrap: its name, day and clock, then its alerts
    counted — live ones by severity, the backlog as one count (its kinds head the
    overview's alert list and the backlog screen); and its headline figures. Where the
    terminal is narrow the least important parts are left out: the labels of the day and
    the clock, the backlog count, then figures like ``issued`` and ``p90 wait``."""

    def show(
        self,
        hall: HallSnapshot,
        words: Words,
        paused: str | None,
        counts: AlertCounts | None = None,
    ) -> None:
        self._last = (hall, words, paused, counts)
        width = width_of(self)
        base, bare = Text(end=""), Text(end="")  # the day and the clock labelled, or not
        for line, labelled in ((base, True), (bare, False)):
            line.append(words.hall(hall.hall), "bold")
            if labelled:
                line.append(f"  {words['day']} {hall.day}  {words['hall_clock']} ")
            else:
                line.append(f"  {hall.day} ")
            line.append(clock(hall.now_ms), "bold cyan")
            if paused:
                line.append(f"   {paused}", "bold black on yellow")
        candidates = [base, bare]
        if counts is not None:
            live = Text("   ")
            live.append(words["live"], "bold")
            live.append_text(live_counts(counts, words) or Text(f" {words['none']}", "dim"))
            if counts.silenced:
                live.append(f" ({words['silenced_n']} {counts.silenced})", "dim")
            backlog = Text("   ")
            backlog.append(f"{words['backlog']} {counts.backlog}", "bold")
            candidates = [
                Text.assemble(base, live, backlog),
                Text.assemble(bare, live, backlog),
                Text.assemble(base, live),
                Text.assemble(bare, live),
                bare,
            ]
        figures: list[tuple[int, Text]] = []
        for priority, label, value in (
            (0, words["waiting"], str(hall.waiting)),
            (1, words["served"], str(hall.served_today)),
            (3, words["issued"], str(hall.issued_today)),
            (2, words["mean_wait"], duration(hall.mean_wait_s)),
            (3, words["p90_wait"], duration(hall.p90_wait_s)),
            (0, words["longest"], duration(hall.longest_wait_s)),
            (0, words["windows_open"], f"{hall.windows_open}/{hall.windows_total}"),
        ):
            part = Text("   " if figures else "")
            part.append(f"{label} ", "dim")
            part.append(value, "bold")
            figures.append((priority, part))
        show_lines(self, fit(candidates, width), line_of(by_priority(figures, width)[0], width))

    def on_resize(self) -> None:
        """Fitted again to the new width."""
        if (last := getattr(self, "_last", None)) is not None:
            self.show(*last)


ZONE_COLUMNS = (
    "zone",
    "waiting",
    "longest",
    "expected",
    "windows_open",
    "needed",
    "p90_wait",
    "mean_wait",
    "priority",
    "issued",
    "served",
    "abandoned",
    "curve",
)
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int], width: int = 36) -> str:
    """The day's curve in ``width`` block characters (each the max of its bins)."""
    if not values:
        return ""
    step = -(-len(values) // width)
    peaks = [max(values[i : i + step]) for i in range(0, len(values), step)]
    top = max(peaks) or 1
    return "".join(SPARK[min(len(SPARK) - 1, v * len(SPARK) // (top + 1))] for v in peaks)


#: The zone table's columns in the order they are left out where the terminal is too
#: narrow for all: the day's flow first, the live queue last (zone and waiting always stay).
ZONE_DROP_ORDER = (
    "issued",
    "abandoned",
    "served",
    "p90_wait",
    "mean_wait",
    "priority",
    "curve",
    "needed",
    "expected",
    "windows_open",
    "longest",
)
CURVE_WIDTH = 36
"""The waiting curve's width where there is room; it narrows before it goes."""


class ZoneTable(KeyedTable):
    """One row per zone: queue, forecast and windows needed next to windows open, waits,
    flow, and the day's waiting curve — as many of those columns as the width holds
    (``ZONE_DROP_ORDER``): a cut-off heading must never pass for another column's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(zebra_stripes=True, **kwargs)
        self._words = Words("en")
        self._shown: tuple[str, ...] = ()
        """The columns on show now."""

    def set_language(self, words: Words) -> None:
        self._words = words
        self._set_columns(ZONE_COLUMNS)

    def _set_columns(self, keys: tuple[str, ...]) -> None:
        self.set_columns([(key, self._words[key]) for key in keys])
        self._shown = keys

    def _choose(self, cells: Sequence[Mapping[str, str | Text]]) -> tuple[tuple[str, ...], int]:
        """The columns that fit this table's width, and the curve's width."""
        pad = 2 * self.PADDING
        need = {
            key: pad + max([cell_len(self._words[key])] + [_cell_width(c[key]) for c in cells])
            for key in ZONE_COLUMNS
            if key != "curve"
        }
        curve_min = max(12, cell_len(self._words["curve"]))
        width = width_of(self, 4)
        chosen = list(ZONE_COLUMNS)
        dropping = iter(ZONE_DROP_ORDER)
        while True:
            room = width - sum(need[k] for k in chosen if k != "curve") - pad
            if "curve" in chosen and room >= curve_min:
                return tuple(chosen), min(CURVE_WIDTH, room)
            if "curve" not in chosen and room >= -pad:
                return tuple(chosen), 0
            key = next(dropping, None)
            if key is None:
                return tuple(chosen), curve_min
            chosen.remove(key)

    def show(self, hall: HallSnapshot, cards: Mapping[str, str]) -> None:
        """``cards``: zone → the worst wait-overtime card open in it."""
        self._last = (hall, cards)
        full: dict[str, dict[str, str | Text]] = {}
        for z in hall.zones:
            longest: str | Text = "–"
            if z.waiting:  # tinted as it nears the zone's limit (btop), before any card
                longest = tinted(duration(z.longest_wait_s), z.longest_wait_s, z.wait_limit_s)
            card = cards.get(z.name)
            if card is not None:
                longest = Text(str(longest), SEVERITY_STYLE[card])
            need: str | Text = "–" if z.windows_needed is None else str(z.windows_needed)
            if z.windows_needed is not None and z.windows_needed > z.windows_open:
                need = Text(
                    f"{z.windows_needed} (+{z.windows_needed - z.windows_open})", "bold red"
                )
            expected = tinted(duration(z.expected_wait_s), z.expected_wait_s, z.wait_limit_s)
            full[z.name] = {
                "zone": self._words.zone(hall.hall, z.name),
                "waiting": str(z.waiting),
                "longest": longest,
                "expected": expected,
                "windows_open": str(z.windows_open),
                "needed": need,
                "p90_wait": duration(z.p90_wait_s),
                "mean_wait": duration(z.mean_wait_s),
                "priority": str(z.priority_waiting),
                "issued": str(z.issued_today),
                "served": str(z.served_today),
                "abandoned": str(z.abandoned_today),
            }
        columns, curve_width = self._choose(list(full.values()))
        curves = {z.name: z.curve_waiting for z in hall.zones}
        for name, cells in full.items():
            cells["curve"] = Text(sparkline(curves[name], curve_width or CURVE_WIDTH), "cyan")
        if columns != self._shown:  # (the cursor keeps its row: KeyedTable)
            self._set_columns(columns)
        self.sync({name: [cells[k] for k in columns] for name, cells in full.items()})

    def on_resize(self) -> None:
        """The columns chosen again for the new width (then KeyedTable's own resize)."""
        if (last := getattr(self, "_last", None)) is not None:
            self.show(*last)


def _cell_width(cell: str | Text) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _tile_lines(w: WindowSnapshot, now_ms: int, words: Words) -> tuple[Text, Text]:
    state_style = STATE_STYLE.get(w.state, "")
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"{w.name:<5}", "bold")
    head.append(f"{words[w.state]:<4}", state_style)
    head.append(f" {w.staff or ''}", "dim")
    body = Text(no_wrap=True, overflow="ellipsis")
    if w.ticket is not None:
        verb = words["serving"] if w.serving else words["called"]
        elapsed = duration((now_ms - w.ticket_since_ms) / 1000)
        body.append(f"{w.ticket} ", "bold")
        body.append(f"{verb} {elapsed}", "green" if w.serving else "cyan")
    else:
        body.append(f"{words['served']} {w.services_today}", "dim")
    return head, body


class WindowGrid(Widget):
    """A tile per window in rows that fill the width; boxed when there is room.

    Drawn with the Line API (``TextLines``): each refresh builds the tiles' text, but only
    the lines whose text changed are turned into strips and repainted, and the screen is
    laid out again only when the number of lines changes.
    """

    DEFAULT_CSS = """
    WindowGrid { height: auto; }
    """
    TILE_WIDTH = 22

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._hall: HallSnapshot | None = None
        self._words = Words("en")
        self._key: object = None
        self._cards: Mapping[str, str] = {}
        self._lines = TextLines()
        self._drawn_for: tuple[int, bool] | None = None
        """(width, boxed) the lines were drawn for."""

    def show(
        self, hall: HallSnapshot, words: Words, cards: Mapping[str, str] | None = None
    ) -> None:
        """``cards``: window → the worst card open on it (service overtime, long pause,
        空岗): the tile's border takes its colour."""
        cards = cards or {}
        key = (
            hall.hall,
            hall.version,
            hall.now_ms // 1000,
            words.lang,
            tuple(sorted(cards.items())),
        )
        if key == self._key:
            return
        self._key = key
        self._hall = hall
        self._words = words
        self._cards = cards
        width = self.size.width
        count = len(self._lines.lines)
        changed = self._redraw(width or 80)
        if len(self._lines.lines) != count or not width:
            self.refresh(layout=True)
        elif changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def _redraw(self, width: int) -> list[int]:
        """Draw the lines for ``width``; the indexes of those that changed."""
        self._drawn_for = (width, self.boxed)
        return self._lines.update(self._draw(width))

    def render_line(self, y: int) -> Strip:
        if self._drawn_for != (self.size.width, self.boxed):  # resized: all is repainted
            self._redraw(self.size.width)
        return self._lines.strip(self, y, self.visual_style.rich_style)

    @property
    def boxed(self) -> bool:
        return self.app.size.height >= 36

    def _layout(self, width: int) -> tuple[int, int]:
        """Tiles per row and each tile's inner width: the row is filled evenly."""
        frame = 3 if self.boxed else 1  # two border columns and a gap, or just the gap
        per_row = max(1, width // (self.TILE_WIDTH + frame))
        inner = min(self.TILE_WIDTH + 10, width // per_row - frame)
        return per_row, max(inner, 8)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        n = len(self._hall.windows) if self._hall else 0
        rows = -(-n // self._layout(width)[0]) if n else 1
        return rows * (4 if self.boxed else 2)

    def render(self) -> RenderableType:
        """The whole picture as Rich text: the lines ``render_line`` draws."""
        return Group(*self._draw(self.size.width or 80))

    def _draw(self, width: int) -> list[Text]:
        """The tiles' lines at ``width``."""
        hall = self._hall
        if hall is None or not hall.windows:
            return [Text("")]
        per_row, inner = self._layout(width)
        lines: list[Text] = []
        windows = sorted(hall.windows, key=lambda w: (len(w.name), w.name))
        for start in range(0, len(windows), per_row):
            row = windows[start : start + per_row]
            tiles = [_tile_lines(w, hall.now_ms, self._words) for w in row]
            if self.boxed:
                top, mid1, mid2, bottom = Text(), Text(), Text(), Text()
                for w, (head, body) in zip(row, tiles, strict=True):
                    card = self._cards.get(w.name)
                    edge = CARD_EDGE[card] if card else STATE_STYLE.get(w.state, "")
                    top.append("┌" + "─" * inner + "┐ ", edge)
                    for line, content in ((mid1, head), (mid2, body)):
                        line.append("│", edge)
                        content = content.copy()
                        content.truncate(inner, pad=True)
                        line.append_text(content)
                        line.append("│ ", edge)
                    bottom.append("└" + "─" * inner + "┘ ", edge)
                lines += [top, mid1, mid2, bottom]
            else:
                first, second = Text(), Text()
                for w, (head, body) in zip(row, tiles, strict=True):
                    card = self._cards.get(w.name)
                    for line, content in ((first, head), (second, body)):
                        content = content.copy()
                        content.truncate(inner, pad=True)
                        if card:  # no border to colour: the tile's name carries the card
                            content.stylize(CARD_EDGE[card], 0, 5)
                        line.append_text(content)
                        line.append(" ")
                lines += [first, second]
        return lines


ALERT_COLUMNS = ("severity", "since", "rule", "state", "what")
"""The overview's live alerts: one hall's, so no hall column; no escalation column (only
red cards escalate, and those are the backlog's)."""
OVERVIEW_ALERTS = 40
"""At most this many live alerts on the overview (the alerts screen has them all)."""


def escalation_cell(a: AlertView, words: Words) -> str | Text:
    """Where a red card has been escalated (督办): ``↑1 不动产登记中心``; empty at level 0."""
    if not a.level:
        return ""
    to = words.dept(a.escalated_target) if a.escalated_target else words[a.escalated_role or ""]
    return Text(f"↑{a.level} {to}".rstrip(), "bold red")


def state_cell(a: AlertView, words: Words, until: Mapping[int, int] | None = None) -> str | Text:
    """An open alert's state as a mark: silenced (until when, from ``until``: silence id
    → hall ms; a silenced alert leaves the counts), acknowledged; empty while it simply
    fires. A resolved one says so, dimmed."""
    if a.silenced_by is not None:
        end = (until or {}).get(a.silenced_by)
        return Text(f"{words['silenced_mark']}" + (f" →{clock(end)[:5]}" if end else ""), "italic")
    if a.state == "firing":
        return ""
    return Text(words[a.state], "dim" if a.state == "resolved" else "green")


def severity_cell(a: AlertView, words: Words) -> Text:
    """The card as a filled block, a warning in its colour; dim once silenced or resolved."""
    if a.silenced_by is not None or a.state == "resolved":
        return Text(f" {words[a.severity]} ", "dim strike" if a.silenced_by else "dim")
    return Text(f" {words[a.severity]} ", SEVERITY_STYLE.get(a.severity, ""))


def long_text(text: str, quiet: bool = False) -> Text:
    """A cell of long text: one line, cut with an ellipsis at the column's width (the
    full text is in the detail line and behind Enter)."""
    return Text(text, "dim" if quiet else "", no_wrap=True, overflow="ellipsis", end="")


class AlertTable(KeyedTable):
    """The hall's live alerts (``alerts.topics``): the silenced last, then red cards,
    urgent warnings, yellow cards, notices, each the newest first; keyed by alert id.
    The long text takes the width the other columns leave (the detail line under the
    list, and Enter, give it whole)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fit_last=True, **kwargs)

    def set_language(self, words: Words) -> None:
        self.set_columns([(key, words[key]) for key in ALERT_COLUMNS])

    def show(
        self,
        alerts: Sequence[AlertView],
        words: Words,
        today_ms: int = 0,
        until: Mapping[int, int] | None = None,
    ) -> None:
        """``alerts``: the live alerts to list, in order; ``today_ms``: the hall clock (an
        alert of another day shows its date); ``until``: silence id → its end."""
        rows: dict[str, list[str | Text]] = {}
        for a in alerts[:OVERVIEW_ALERTS]:
            rows[str(a.id)] = [
                severity_cell(a, words),
                when(a.raised_ms or a.fired_ms, today_ms),
                words[a.rule],
                state_cell(a, words, until),
                long_text(words.alert(a), a.silenced_by is not None),
            ]
        self.sync(rows)
        if not self.has_focus and self.row_count:
            # Nobody's hand is on the list: it shows its top, the gravest and newest
            # (held by key, the cursor would scroll a new urgent warning out of sight).
            self.move_cursor(0)
        self.display = bool(rows)


class AlertsTitle(Static):
    """The overview's alert list headed by its counts by kind: ``live alerts 12: long
    waits 8 · idle windows 3 · complaints 1 (silenced 2)   backlog 154: cases 120 · …
    (g lists it)`` — the backlog's kinds folded into its total where the line is short."""

    def show(self, counts: AlertCounts, words: Words) -> None:
        self._last = (counts, words)
        head = Text()
        live = sum(counts.live_topics.values())
        if live:
            head.append(f"{words['live_alerts']} {live}: ")
            head.append(topic_counts(counts.live_topics, LIVE_TOPICS, words), "not bold")
        else:
            head.append(words["no_live_alerts"])
        if counts.silenced:
            head.append(f" ({words['silenced_n']} {counts.silenced})", "not bold")
        if not counts.backlog:
            show_lines(self, fit([head], width_of(self)))
            return
        total = Text(f"   {words['backlog']} {counts.backlog}")
        kinds = topic_counts(counts.backlog_topics, BACKLOG_ORDER, words)
        hint = Text(f" ({words['backlog_hint']})", "not bold")
        detailed = Text.assemble(head, total, (f": {kinds}", "not bold"))
        candidates = [
            Text.assemble(detailed, hint),
            detailed,
            Text.assemble(head, total, hint),
            Text.assemble(head, total),
        ]
        show_lines(self, fit(candidates, width_of(self)))

    def on_resize(self) -> None:
        """Fitted again to the new width."""
        if (last := getattr(self, "_last", None)) is not None:
            self.show(*last)


class AlertDetail(Static):
    """The highlighted alert in full under the overview's list: its text wraps here
    rather than being cut, with when it fired (dated) and how to open its timeline."""

    DEFAULT_CSS = "AlertDetail { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }"

    def show(self, alert: AlertView | None, words: Words) -> None:
        if alert is None:
            show_lines(self, Text())
            self.display = False
            return
        line = Text()
        line.append(f"#{alert.id} ", "bold")
        line.append(f"{words[alert.rule]} · {stamp(alert.fired_ms)}", "cyan")
        if alert.raised_ms:
            line.append(f" ↑ {stamp(alert.raised_ms)}", "cyan")
        line.append("  ")
        line.append(words.alert(alert))
        line.append(f"  ({words['detail_keys']})", "dim")
        show_lines(self, line)
        self.display = True


class FeedBar(Static):
    """One line per feed: connected, events applied, rejected, gaps, last error."""

    def show(self, feeds: Sequence[FeedSnapshot], words: Words) -> None:
        lines = []
        for f in feeds:
            line = Text(no_wrap=True, overflow="ellipsis")
            ok = f.connected
            line.append("● " if ok else "○ ", "green" if ok else "red")
            line.append(f"{f.name} ", "bold")
            line.append(words["connected"] if ok else words["disconnected"])
            line.append(f"  {words['events']} {f.events_total}  seq {f.last_seq}")
            rejected = sum(n for _, n in f.rejected)
            if rejected:
                line.append(f"  {words['rejected']} {rejected}", "yellow")
            if f.gaps_total:
                line.append(f"  {words['gaps']} {f.gaps_total}", "yellow")
            if f.last_error and not ok:
                line.append(f"  {f.last_error}", "red")
            lines.append(line)
        self.update(Group(*lines))
