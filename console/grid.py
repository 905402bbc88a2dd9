"""Line-API drawing for the console's large live surfaces: the tables and the window tiles.

Textual's ``DataTable`` renders every visible cell through Rich again after any change (its
caches are keyed by one update counter that every ``update_cell`` moves): at 200x60 a
refresh of 30 windows x 13 columns cost 108 ms of CPU at best (``bench/NOTES.md``, the
console's paint), 19 ms with this module. Here a line
is drawn once into a ``Strip`` and kept until what it shows changes, and a refresh marks
only the changed lines dirty, so Textual repaints those and nothing else:

- ``KeyedTable``: rows by key, ``sync``-ed in order from each view; the cursor stays on
  its row by key through refreshes, rows inserted or removed above it, reorders and a
  change of columns (a new sort, the other language); Enter posts ``RowSelected``.
- ``TextLines``: Rich text lines turned into strips, each kept until its text changes
  (the overview's window tiles).

Imports: textual, rich.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import ClassVar, NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

Cell = str | Text
"""What a table cell holds: plain text, or Rich text with its styles."""


def cell_look(cell: Cell) -> Hashable:
    """What ``cell`` shows, as a value to compare and hash (``Text.__eq__`` ignores the
    base style: ``Text("B001", "green")`` equals ``Text("B001", "cyan")``)."""
    if isinstance(cell, str):
        return cell
    return (cell.plain, cell.style, tuple(cell.spans))


def text_look(text: Text) -> Hashable:
    """What a line of Rich text shows, as a value to compare."""
    return (text.plain, text.style, tuple(text.spans))


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def text_segments(text: Text, console: Console) -> Iterable[Segment]:
    """``text`` as segments on one line, its own style included (``Text.render`` leaves
    the base style out of a text without spans; ``Text.__rich_console__`` adds it)."""
    if text.spans:
        return text.render(console)
    return [Segment(text.plain, console.get_style(text.style) if text.style else None)]


def _one_line(cell: Cell) -> Cell:
    """A cell is one line: a newline in its text is shown as a space."""
    if isinstance(cell, str):
        return cell.replace("\n", " ") if "\n" in cell else cell
    return _one_line_text(cell)


def _one_line_text(text: Text) -> Text:
    if "\n" not in text.plain:
        return text
    text = text.copy()
    text.plain = text.plain.replace("\n", " ")
    return text


class _Paint(NamedTuple):
    """The styles a table is painted with, read from CSS once per paint."""

    base: Style
    header: Style
    even: Style
    odd: Style
    cursor: Style
    cursor_fg: Style


class KeyedTable(ScrollView, can_focus=True):
    """A table of keyed rows drawn with the Line API; the cursor is a row, held by key.

    ``set_columns`` names the columns; ``sync`` shows rows (key → cells, in order) and
    works out which lines changed. A column is as wide as its widest cell so far (it
    grows, never jitters back as figures change; new columns start again); with
    ``fit_last`` the last column (long text) takes the width the others leave instead,
    its cells cut with an ellipsis, so no row runs off the screen. The picture is
    that of a row-cursor ``DataTable`` (one cell of padding, zebra stripes, the header on
    top, the cursor dimmed while the table has no focus), from the same theme variables.
    """

    DEFAULT_CSS = """
    KeyedTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .keyed-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .keyed-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .keyed-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .keyed-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .keyed-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .keyed-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .keyed-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keyed-table--header",
        "keyed-table--even-row",
        "keyed-table--odd-row",
        "keyed-table--cursor",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first_row", "First row", show=False),
        Binding("end,ctrl+end", "last_row", "Last row", show=False),
    ]

    PADDING = 1
    """Blank cells either side of every cell."""
    FIT_MINIMUM = 16
    """The narrowest a ``fit_last`` column gets, however little room the others leave."""

    class _RowMessage(Message):
        """A row of the table, by key."""

        def __init__(self, table: KeyedTable, key: str, row: int) -> None:
            super().__init__()
            self.table = table
            self.key = key
            """The row's key."""
            self.row = row
            """Its index in the table now."""

        @property
        def control(self) -> KeyedTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor came onto another row (by key: a row that only moved does not
        count)."""

    class RowSelected(_RowMessage):
        """Enter on a row, or a click on the highlighted row."""

    def __init__(
        self,
        *,
        zebra_stripes: bool = False,
        fit_last: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.zebra_stripes = zebra_stripes
        """Every other row on a lighter background."""
        self.fit_last = fit_last
        """The last column takes the width the others leave (see the class)."""
        self._columns: list[str] = []
        self._labels: list[Text] = []
        self._widths: list[int] = []
        """Each column's widest cell so far (padding apart)."""
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._looks: dict[str, tuple[Hashable, ...]] = {}
        self._given: dict[str, Sequence[Cell]] = {}
        """Each row as ``sync`` was last given it (a tuple given again is unchanged)."""
        self._cursor = 0
        self._held: str | None = None
        """The cursor's key while the table has no rows (across ``set_columns``)."""
        self._strips: dict[str | None, tuple[Hashable, Strip]] = {}
        """Row key (None: the header) → (what the line was drawn from, its strip)."""
        self._paint: _Paint | None = None
        self._styled_cache: dict[tuple[Hashable, Style, Style | None], list[Segment]] = {}
        self._widths_now: tuple[int, ...] = ()
        """The columns' widths for the paint under way."""

    # --- columns and rows ----------------------------------------------------------------

    def set_columns(self, columns: Sequence[tuple[str, str | Text]]) -> None:
        """Show these columns, (key, heading) each, and no rows until the next ``sync``;
        the cursor's row is kept by key for it."""
        self._held = self.cursor_key or self._held
        self._columns = [key for key, _ in columns]
        self._labels = [Text(label) if isinstance(label, str) else label for _, label in columns]
        self._labels = [_one_line_text(label) for label in self._labels]
        self._widths = [label.cell_len for label in self._labels]
        self._keys, self._index, self._cells, self._looks, self._given = [], {}, {}, {}, {}
        self._strips.clear()
        self._resize()
        self.refresh()

    def sync(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Show ``rows`` (key → cells, in order), redrawing only the lines that changed.

        The cursor stays on the row it was on, by key, wherever that row moved; if the row
        is gone it stays at the same place in the table.

        A row given as the very tuple it was given as the last time is taken as it was,
        its cells not looked at again: a caller that keeps each row's tuple until the row
        changes (the province's 2,000 halls, a few of them new each second) pays for the
        rows that changed only. (So a tuple's cells are never changed in place once given;
        a list is looked at every time.)
        """
        held = self.cursor_key if self._keys else self._held
        was_at = self._cursor
        old_keys, old_looks, old_cells, given = self._keys, self._looks, self._cells, self._given
        keys = list(rows)
        same_rows = keys == old_keys
        if same_rows:  # the usual refresh: the rows that are not as given last time
            cells, looks = old_cells, old_looks  # (changed in place)
            fresh = [(k, r) for k, r in rows.items() if given[k] is not r or type(r) is not tuple]
        else:
            cells, looks, fresh = {}, {}, []
            for key, row in rows.items():
                if type(row) is tuple and given.get(key) is row:  # as given last time
                    cells[key], looks[key] = old_cells[key], old_looks[key]
                else:
                    fresh.append((key, row))
        changed_keys: list[str] = []
        widths = self._widths
        columns = len(widths)
        before = self._drawn_widths()
        for key, row in fresh:
            look = tuple([c if type(c) is str else cell_look(c) for c in row])
            if look == old_looks.get(key):  # the row as it was: nothing to measure
                cells[key], looks[key] = old_cells[key], look
                continue
            cells[key] = shown = tuple([_one_line(c) for c in row])
            for i, cell in enumerate(shown[:columns]):
                plain = type(cell) is str and cell.isascii() and cell.isprintable()
                width = len(cell) if plain else _width(cell)  # (printable ASCII: a cell each)
                if width > widths[i]:
                    widths[i] = width
            looks[key] = look
            changed_keys.append(key)
        self._keys, self._cells, self._looks, self._given = keys, cells, looks, dict(rows)
        if not same_rows:
            self._index = {key: i for i, key in enumerate(keys)}
        if held is not None and held in self._index:
            self._cursor = self._index[held]
        else:
            self._cursor = max(0, min(was_at, len(keys) - 1))
        self._held = None if keys else held
        for key in [k for k in self._strips if k is not None and k not in cells]:
            del self._strips[key]
        self._resize()
        if self._drawn_widths() != before:  # a column grew: every line moves
            self.refresh()
        else:
            index = self._index
            changed = {index[key] for key in changed_keys}
            if not same_rows:  # rows came, went or moved: each line showing another row
                changed.update(
                    i for i, key in enumerate(keys) if i >= len(old_keys) or old_keys[i] != key
                )
                changed.update(range(len(keys), len(old_keys)))  # rows gone from the end
            if self._cursor != was_at:
                changed.update((was_at, self._cursor))
            self._refresh_rows(changed)
        if self.cursor_key is not None and self.cursor_key != held:
            self.post_message(self.RowHighlighted(self, self.cursor_key, self._cursor))
        if self._cursor != was_at:
            self._scroll_to_cursor()

    def clear(self) -> None:
        """No rows (the columns stay)."""
        self.sync({})

    @property
    def column_keys(self) -> list[str]:
        return list(self._columns)

    @property
    def column_labels(self) -> list[Text]:
        """The headings, left to right."""
        return list(self._labels)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        """The rows' keys, top to bottom."""
        return list(self._keys)

    def get_row(self, key: str) -> list[Cell]:
        """The cells of the row ``key`` (KeyError if there is none)."""
        return list(self._cells[key])

    def get_row_at(self, row: int) -> list[Cell]:
        """The cells of the ``row``-th row from the top."""
        return list(self._cells[self._keys[row]])

    def get_row_index(self, key: str) -> int:
        """Where the row ``key`` is (KeyError if there is none)."""
        return self._index[key]

    # --- the cursor ----------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        """The highlighted row's index (0 in an empty table)."""
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        """The highlighted row's key; None in an empty table."""
        return self._keys[self._cursor] if self._keys else None

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Highlight the ``row``-th row (clamped to the table)."""
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row != self._cursor:
            self._refresh_rows({self._cursor, row})
            self._cursor = row
            self.post_message(self.RowHighlighted(self, self._keys[row], row))
        if scroll:
            self._scroll_to_cursor()

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - max(1, self._body_height() - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + max(1, self._body_height() - 1))

    def action_first_row(self) -> None:
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        if (key := self.cursor_key) is not None:
            self.post_message(self.RowSelected(self, key, self._cursor))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return  # the header, or the border
        row = offset.y - 1 + self.scroll_offset.y
        if row >= len(self._keys):
            return
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row)

    def _body_height(self) -> int:
        """Rows visible under the header."""
        return max(0, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        """Scroll as little as needed for the cursor's row to be seen."""
        body = self._body_height()
        if body <= 0 or not self._keys:
            return
        top = self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False, force=True)

    # --- drawing -------------------------------------------------------------------------

    def _drawn_widths(self) -> list[int]:
        """The columns' widths as drawn now (padding apart)."""
        widths = list(self._widths)
        if self.fit_last and widths:
            room = self.scrollable_content_region.width or max(self.app.size.width - 4, 20)
            others = sum(w + 2 * self.PADDING for w in widths[:-1])
            widths[-1] = max(self.FIT_MINIMUM, room - others - 2 * self.PADDING)
        return widths

    def _resize(self) -> None:
        width = sum(w + 2 * self.PADDING for w in self._drawn_widths())
        self.virtual_size = Size(width, len(self._keys) + 1)  # a layout only if it moved

    def on_resize(self) -> None:
        self._resize()  # a fitted last column follows the width

    def _refresh_rows(self, rows: Iterable[int]) -> None:
        """Mark the lines of these rows dirty, if they are in view."""
        top, height, width = self.scroll_offset.y, self.size.height, self.size.width
        lines = sorted(y for y in (1 + row - top for row in rows) if 1 <= y < height)
        regions: list[Region] = []
        for y in lines:  # runs of lines as one region each
            if regions and regions[-1].bottom == y:
                last = regions[-1]
                regions[-1] = Region(0, last.y, width, last.height + 1)
            else:
                regions.append(Region(0, y, width, 1))
        if regions:
            self.refresh(*regions)

    def _paint_styles(self) -> _Paint:
        cursor = self.get_component_rich_style("keyed-table--cursor")
        return _Paint(
            base=self.rich_style,
            header=self.get_component_styles("keyed-table--header").rich_style,
            even=self.get_component_styles("keyed-table--even-row").rich_style,
            odd=self.get_component_styles("keyed-table--odd-row").rich_style,
            cursor=cursor,
            cursor_fg=Style.from_color(cursor.color),
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._paint_styles()  # once per paint: the theme, the focus
        self._widths_now = tuple(self._drawn_widths())
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._paint is None:
            self._paint = self._paint_styles()
            self._widths_now = tuple(self._drawn_widths())
        paint = self._paint
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            strip = self._line(None, paint.header, False, paint)
        else:
            row = y - 1 + scroll_y
            if row >= len(self._keys):
                return Strip.blank(width, paint.base)
            style = paint.base
            if self.zebra_stripes:
                style = paint.odd if row % 2 else paint.even
            strip = self._line(self._keys[row], style, row == self._cursor, paint)
        if scroll_x == 0 and strip.cell_length == width:
            return strip  # the usual case: the table fits, the line is drawn to the edge
        return strip.crop_extend(scroll_x, scroll_x + width, paint.base)

    def _line(self, key: str | None, row_style: Style, cursor: bool, paint: _Paint) -> Strip:
        """The whole line of a row (None: the header), from the cache if nothing it is
        drawn from changed."""
        look = (
            self._looks[key] if key is not None else None,
            row_style,
            cursor,
            paint,
            self._widths_now,
            self.size.width,
        )
        cached = self._strips.get(key)
        if cached is not None and cached[0] == look:
            return cached[1]
        cells = self._labels if key is None else self._cells[key]
        strip = self._draw(cells, row_style, paint if cursor else None)
        self._strips[key] = (look, strip)
        return strip

    def _draw(self, cells: Sequence[Cell], row_style: Style, paint: _Paint | None) -> Strip:
        """One line: each cell padded to its column, on the row's style; under the cursor
        (``paint`` given) on the cursor's colours, which win over the cell's own
        foreground but not its background (a red card stays a red block)."""
        pre = row_style + paint.cursor if paint else row_style
        post = paint.cursor_fg if paint else None
        blank = pre + post if post else pre
        pad = " " * self.PADDING
        segments: list[Segment] = []
        run: list[str] = []  # plain text on the row's style, joined into one segment
        for cell, width in zip(cells, self._widths_now, strict=False):
            if isinstance(cell, str) and cell_len(cell) <= width:
                run += (pad, cell, " " * (width - cell_len(cell)), pad)
                continue
            if isinstance(cell, str) or cell.cell_len > width:  # a fitted column's long text
                cell = Text(cell) if isinstance(cell, str) else cell.copy()
                cell.truncate(width, overflow="ellipsis")
            run.append(pad)
            segments.append(Segment("".join(run), blank))
            segments += self._styled(cell, pre, post)
            run = [" " * (width - cell.cell_len), pad]
        if run:
            segments.append(Segment("".join(run), blank))
        drawn = sum(w + 2 * self.PADDING for w in self._widths_now)
        if self.size.width > drawn:  # the row's colours run to the right edge
            segments.append(Segment(" " * (self.size.width - drawn), pre))
            drawn = self.size.width
        return Strip(segments, drawn)

    def _styled(self, text: Text, pre: Style, post: Style | None) -> list[Segment]:
        """``text``'s segments on the row's style: the same text on the same style is
        drawn once (a state, a card, a clock that did not move, in another row)."""
        key = (cell_look(text), pre, post)
        segments = self._styled_cache.get(key)
        if segments is None:
            if len(self._styled_cache) > 4096:  # a day of changing clocks: start again
                self._styled_cache.clear()
            segments = []
            for part, style, _ in text_segments(text, self.app.console):
                style = pre + style if style else pre
                segments.append(Segment(part, style + post if post else style))
            self._styled_cache[key] = segments
        return segments


class TextLines:
    """Lines of Rich text drawn as strips for a Line-API widget: each line is turned into
    a strip once and kept until its text changes, and ``update`` says which lines did."""

    def __init__(self) -> None:
        self.lines: list[Text] = []
        self._looks: list[Hashable] = []
        self._strips: dict[int, tuple[Hashable, Strip]] = {}

    def update(self, lines: list[Text]) -> list[int]:
        """Take ``lines``; the indexes of those that changed (every one past the end of
        the shorter of the old and the new)."""
        looks = [text_look(line) for line in lines]
        old = self._looks
        changed = [y for y, look in enumerate(looks) if y >= len(old) or old[y] != look]
        changed += range(len(looks), len(old))
        self.lines, self._looks = lines, looks
        return changed

    def strip(self, widget: Widget, y: int, base: Style) -> Strip:
        """Line ``y`` on ``base`` (the widget's style), as ``Widget.render`` would draw it."""
        if y >= len(self.lines):
            return Strip.blank(0, base)
        look = (self._looks[y], base)
        cached = self._strips.get(y)
        if cached is not None and cached[0] == look:
            return cached[1]
        segments = text_segments(self.lines[y], widget.app.console)
        strip = Strip(Segment.apply_style(segments, base))
        self._strips[y] = (look, strip)
        return strip
