"""The overview's widgets. Each renders from a frozen snapshot and repaints only on change.

- ``CityStrip``: every hall on one line (waiting, alerts), the shown hall highlighted.
- ``Headline``: the hall's headline figures.
- ``ZoneTable``: one row per zone, diffed cell by cell (``sync_rows``).
- ``WindowGrid``: a tile per window, coloured by state; one widget drawn as a whole, so
  40 tiles cost one render, not 40 widget refreshes.
- ``AlertTable``: the active alerts, red first, diffed by alert id.
- ``FeedBar``: each feed's connection, events, rejections and gaps.

Imports: textual, rich, metrics.snapshot, runtime.view (View, AlertView),
console.text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable, Static

from console.text import Words, clock, duration, summary, when
from feeds.source import FeedSnapshot
from metrics.snapshot import HallSnapshot, WindowSnapshot
from runtime.view import AlertView, View

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


def sync_rows(table: DataTable[str | Text], rows: Mapping[str, Sequence[str | Text]]) -> None:
    """Make ``table`` show ``rows`` (key → cells, in order), touching only what changed.

    Rows are added, removed and updated cell by cell; only when the order of the keys
    changed is the table rebuilt (a DataTable cannot move a row). The cursor stays on the
    row the hand put it on (by key), wherever that row moved; if the row is gone it stays
    at the same place in the table.
    """
    current = [key.value for key in table.rows]
    at = table.cursor_coordinate
    held = current[at.row] if current and 0 <= at.row < len(current) else None
    wanted = list(rows)
    known = set(current)
    # New rows can only be appended: anything else (a reorder, a row new above others)
    # rebuilds the table.
    if [k for k in current if k in rows] + [k for k in wanted if k not in known] != wanted:
        table.clear()
        current = []
    for key in set(current) - set(rows):
        table.remove_row(key)
    present = set(current)
    columns = [column.key for column in table.ordered_columns]
    for key, cells in rows.items():
        if key not in present:
            table.add_row(*cells, key=key)
            continue
        for column, value in zip(columns, cells, strict=True):
            if table.get_cell(key, column) != value:
                table.update_cell(key, column, value)
    if held is not None and table.row_count:
        row = table.get_row_index(held) if held in rows else min(at.row, table.row_count - 1)
        if row != table.cursor_coordinate.row or at.column != table.cursor_coordinate.column:
            table.move_cursor(row=row, column=at.column, scroll=False)


Row = tuple[str, list[str | Text], tuple[Any, ...]]
"""(key, cells, sort values): one row of a table screen."""


def matches(cells: Sequence[str | Text], needle: str) -> bool:
    """Whether any cell contains ``needle`` (case-insensitive)."""
    needle = needle.casefold()
    return any(needle in str(cell).casefold() for cell in cells)


class ViewTable(DataTable[str | Text]):
    """A table screen: ``build`` rows from the view; filtered, sorted and diffed here."""

    DEFAULT_CSS = """
    ViewTable.narrowed { border-top: solid $accent; border-title-color: $accent; }
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    """Column keys, also the ``Words`` keys of their headings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_column: int | None = None
        """Index into COLUMNS, or None for the table's natural order."""
        self.sort_reverse = False
        self.filter_text = ""

    def set_language(self, words: Words) -> None:
        self.clear(columns=True)
        for i, key in enumerate(self.COLUMNS):
            label = words[key]
            if i == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            self.add_column(label, key=key)

    def build(self, view: View, hall: HallSnapshot | None, words: Words) -> Iterable[Row]:
        """The rows, in natural order. Subclasses override."""
        return ()

    def show(self, view: View, hall: HallSnapshot | None, words: Words) -> None:
        rows = list(self.build(view, hall, words))
        total = len(rows)
        if self.filter_text:
            rows = [r for r in rows if matches(r[1], self.filter_text)]
        if self.sort_column is not None:
            col = self.sort_column
            rows.sort(key=lambda r: r[2][col], reverse=self.sort_reverse)
        sync_rows(self, {key: cells for key, cells, _ in rows})
        self._say_narrowed(words, len(rows), total)

    def _say_narrowed(self, words: Words, shown: int, total: int) -> None:
        """A filter or a sort in force is said on the table's top edge (k9s shows
        ``alerts(/idle) 2/228``): a narrowed table never passes for the whole."""
        parts = []
        if self.filter_text:
            parts.append(f"/{self.filter_text}  {shown}/{total}")
        if self.sort_column is not None:
            arrow = "▼" if self.sort_reverse else "▲"
            parts.append(f"{words['sorted_by']} {words[self.COLUMNS[self.sort_column]]} {arrow}")
        self.set_class(bool(parts), "narrowed")
        self.border_title = "  ·  ".join(parts) if parts else None

    def cycle_sort(self, words: Words, *, reverse: bool = False) -> None:
        """``s``: sort by the next column; ``S``: reverse the order."""
        if reverse:
            self.sort_reverse = not self.sort_reverse
        else:
            n = len(self.COLUMNS)
            self.sort_column = 0 if self.sort_column is None else (self.sort_column + 1) % n
        self.set_language(words)


_CARD_RANK = {"notice": 1, "yellow": 2, "urgent": 3, "red": 4}


def card_counts(view: View) -> dict[str, dict[str, int]]:
    """hall → {"red": n, "yellow": n, "urgent": n, "notice": n} of its active alerts (cards
    and warnings apart), from the counts the pipeline already published (never a scan of
    every alert per hall on the UI thread)."""
    out: dict[str, dict[str, int]] = {}
    for (hall, _rule, severity), n in view.city.alerts_active.items():
        counts = out.setdefault(hall, {"red": 0, "yellow": 0, "urgent": 0, "notice": 0})
        counts[severity] = counts.get(severity, 0) + n
    return out


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
    """``1 anqiu 排队 23 红牌 1 黄牌 2 紧急预警 3 预警 9`` for every hall (cards as blocks,
    warnings as text); the shown one in reverse video."""

    def show(
        self,
        halls: Mapping[str, HallSnapshot],
        current: str | None,
        cards: Mapping[str, Mapping[str, int]],
        words: Words,
    ) -> None:
        """``cards``: hall → active alerts by severity (``card_counts``)."""
        line = Text(no_wrap=True, overflow="ellipsis")
        if not halls:
            line.append(words["no_halls"], "italic")
        for n, (name, hall) in enumerate(halls.items(), start=1):
            mine = cards.get(name, {})
            style = "reverse bold" if name == current else ""
            line.append(f" {n} {name} ", style)
            line.append(f"{words['waiting']} {hall.waiting} ", style)
            for severity in ("red", "yellow", "urgent", "notice"):
                if mine.get(severity, 0):
                    line.append(f" {words[severity]} {mine[severity]} ", SEVERITY_STYLE[severity])
            line.append("  ")
        self.update(line)


class Headline(Static):
    """The hall's headline figures on two lines."""

    def show(self, hall: HallSnapshot, words: Words, paused: str | None) -> None:
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(f"{hall.hall}", "bold")
        top.append(f"  {words['day']} {hall.day}  {words['hall_clock']} ")
        top.append(clock(hall.now_ms), "bold cyan")
        if paused:
            top.append(f"   {paused}", "bold black on yellow")
        figures = Text()  # wraps at 80 columns rather than hiding a figure
        for label, value in (
            (words["waiting"], str(hall.waiting)),
            (words["served"], str(hall.served_today)),
            (words["issued"], str(hall.issued_today)),
            (words["mean_wait"], duration(hall.mean_wait_s)),
            (words["p90_wait"], duration(hall.p90_wait_s)),
            (words["longest"], duration(hall.longest_wait_s)),
            (words["windows_open"], f"{hall.windows_open}/{hall.windows_total}"),
        ):
            figures.append(f"{label} ", "dim")
            figures.append(value, "bold")
            figures.append("   ")
        figures.rstrip()
        self.update(Group(top, figures))


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


class ZoneTable(DataTable[str | Text]):
    """One row per zone: queue, forecast and windows needed next to windows open, waits,
    flow, and the day's waiting curve."""

    def set_language(self, words: Words) -> None:
        self.clear(columns=True)
        for key in ZONE_COLUMNS:
            self.add_column(words[key], key=key)

    def show(self, hall: HallSnapshot, cards: Mapping[str, str]) -> None:
        """``cards``: zone → the worst wait-overtime card open in it."""
        rows: dict[str, list[str | Text]] = {}
        for z in hall.zones:
            longest: str | Text = duration(z.longest_wait_s) if z.waiting else "–"
            card = cards.get(z.name)
            if card is not None:
                longest = Text(str(longest), SEVERITY_STYLE[card])
            need: str | Text = "–" if z.windows_needed is None else str(z.windows_needed)
            if z.windows_needed is not None and z.windows_needed > z.windows_open:
                need = Text(
                    f"{z.windows_needed} (+{z.windows_needed - z.windows_open})", "bold red"
                )
            expected: str | Text = duration(z.expected_wait_s)
            if z.expected_wait_s is not None and z.expected_wait_s >= z.wait_limit_s:
                expected = Text(str(expected), "bold red")
            rows[z.name] = [
                z.name,
                str(z.waiting),
                longest,
                expected,
                str(z.windows_open),
                need,
                duration(z.p90_wait_s),
                duration(z.mean_wait_s),
                str(z.priority_waiting),
                str(z.issued_today),
                str(z.served_today),
                str(z.abandoned_today),
                Text(sparkline(z.curve_waiting), "cyan"),
            ]
        sync_rows(self, rows)


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
    """A tile per window in rows that fill the width; boxed when there is room."""

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
        self.refresh(layout=True)

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
        hall = self._hall
        if hall is None or not hall.windows:
            return Text("")
        width = self.size.width or 80
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
        return Group(*lines)


ALERT_COLUMNS = ("severity", "level", "rule", "hall", "since", "what")


def escalation_cell(a: AlertView, words: Words) -> str | Text:
    """Where a red card has been escalated (督办): ``↑1 不动产登记中心``; empty at level 0."""
    if not a.level:
        return ""
    to = a.escalated_target or words[a.escalated_role or ""] or ""
    return Text(f"↑{a.level} {to}".rstrip(), "bold red")


class AlertTable(DataTable[str | Text]):
    """Active alerts, red first then oldest, diffed by alert id."""

    def set_language(self, words: Words) -> None:
        self.clear(columns=True)
        for key in ALERT_COLUMNS:
            self.add_column(words[key], key=key)

    def show(self, alerts: Sequence[AlertView], words: Words, today_ms: int = 0) -> None:
        """``today_ms``: the hall clock; an alert of another day shows its date."""
        rows: dict[str, list[str | Text]] = {}
        for a in alerts:
            rows[str(a.id)] = [
                Text(f" {words[a.severity]} ", SEVERITY_STYLE.get(a.severity, "")),
                escalation_cell(a, words),
                words[a.rule],
                a.hall,
                when(a.fired_ms, today_ms),
                summary(a.summary, words.lang),
            ]
        sync_rows(self, rows)


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
