"""The province screen: every hall a console's credentials let it see, grouped by city
and county — a row per city that opens (Enter) into its counties, a county into its
halls — each row the sum of its halls (people waiting, the longest wait, live alerts,
the backlog, case cards, complaints, halls stale), and a hall's own screens (overview,
windows, queue, alerts …) from the shard that runs it.

``ProvinceApp`` is the console (``console.app.HallwatchApp``) on a desk over NATS: its
``province`` screen is the table here (``v``), the other screens show the hall opened
last, whose whole view is fetched from its shard about once a second while it is on
show. What the operator does goes as a command to that shard (the desk's, wired by
``cli``): the console says the answer when it comes — done at which hall time, or
refused and why — and shows the shift report a handover returns.

The halls come from a ``ProvinceSource`` (``province.watch.ProvinceWatch``: each hall's
latest summary, when it was heard); a hall unheard of for a while is stale (its shard
died, a takeover is under way) and said so. The screen repaints when a summary came, at
most at the app's refresh rate; a repaint of 2,000 halls costs a few milliseconds
(``bench/province_ui.py``).

Imports: textual, rich, console (app, grid, text, dialogs).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any, ClassVar, NamedTuple, Protocol

from rich.text import Text
from textual.widgets import ContentSwitcher, Static

from console.app import HallwatchApp
from console.dialogs import ReportDialog
from console.grid import Cell, KeyedTable, text_look
from console.text import Lang, Words, clock, duration
from console.widgets import CityStrip
from runtime.view import EMPTY_VIEW

#: The city and county of a hall not placed in the config (``province.places``).
UNPLACED = "_"

#: The province screen's words: (Chinese, English).
WORDS: dict[str, tuple[str, str]] = {
    "province": ("全省", "province"),
    "place": ("地区 / 大厅", "place / hall"),
    "halls": ("大厅", "halls"),
    "waiting": ("排队", "waiting"),
    "longest": ("最长等候", "longest"),
    "urgent": ("紧急", "urgent"),
    "notice": ("预警", "notice"),
    "backlog": ("待办", "backlog"),
    "cases_red": ("红牌办件", "red cases"),
    "cases_yellow": ("黄牌办件", "yellow cases"),
    "complaints": ("投诉", "complaints"),
    "clock": ("时钟", "clock"),
    "stale": ("失联", "stale"),
    "unplaced": ("未归属", "unplaced"),
    "seen": ("可见范围", "sees"),
    "no_halls_yet": ("等待各分片发来大厅……", "waiting for the shards' halls …"),
    "fetching": ("正在向分片取大厅", "asking the shard of"),
    "no_answer": ("无分片应答", "no shard answered for"),
    "done": ("已执行", "done"),
    "refused": ("被拒绝", "refused"),
    "at_hall_time": ("大厅时间", "hall time"),
    "acknowledge": ("确认", "acknowledge"),
    "resolve": ("销号", "resolve"),
    "silence": ("暂停提醒", "silence"),
    "handover": ("交接班", "handover"),
    "accept_handover": ("接班", "accept the shift report"),
}


def word(words: Words, key: str) -> str:
    pair = WORDS.get(key)
    return pair[0 if words.lang == "zh" else 1] if pair else words[key]


class HallLine(Protocol):
    """One hall as a shard summarized it (``province.views.HallSummary``): read only."""

    @property
    def hall(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def county(self) -> str: ...
    @property
    def city_name(self) -> str: ...
    @property
    def county_name(self) -> str: ...
    @property
    def now_ms(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def longest_wait_s(self) -> float: ...
    @property
    def cases_yellow(self) -> int: ...
    @property
    def cases_red(self) -> int: ...
    @property
    def complaints_open(self) -> int: ...
    @property
    def red(self) -> int: ...
    @property
    def urgent(self) -> int: ...
    @property
    def yellow(self) -> int: ...
    @property
    def notice(self) -> int: ...
    @property
    def backlog(self) -> int: ...


class ProvinceSource(Protocol):
    """Where the halls come from (``province.watch.ProvinceWatch``)."""

    @property
    def summaries(self) -> Mapping[str, HallLine]: ...

    @property
    def generation(self) -> int: ...

    @property
    def scope_label(self) -> str: ...

    def stale_halls(self, now: float | None = None) -> AbstractSet[str]:
        """The halls unheard of for a while (their shard died, a takeover …)."""
        ...


Figures = tuple[int, float, int, int, int, int, int, int]
"""A hall's figures that add up: waiting, longest wait, urgent (live red cards and urgent
warnings), notices (live yellow cards and notices), backlog, red cases, yellow cases,
complaints open."""


def figures(h: HallLine) -> Figures:
    return (h.waiting, h.longest_wait_s, h.urgent + h.red, h.notice + h.yellow, h.backlog,
            h.cases_red, h.cases_yellow, h.complaints_open)  # fmt: skip


class Sums(NamedTuple):
    """Halls added up (a county's, a city's, the province's)."""

    halls: int = 0
    stale: int = 0
    waiting: int = 0
    longest_s: float = 0.0
    urgent: int = 0
    notice: int = 0
    backlog: int = 0
    cases_red: int = 0
    cases_yellow: int = 0
    complaints: int = 0

    @classmethod
    def of(cls, rows: list[Figures], stale: int) -> Sums:
        """The sums of halls' ``figures`` (column by column, in C: 2,000 halls a paint)."""
        if not rows:
            return cls()
        w, longest, u, n, b, cr, cy, c = zip(*rows, strict=True)
        return cls(len(rows), stale, sum(w), max(longest), sum(u), sum(n), sum(b), sum(cr),
                   sum(cy), sum(c))  # fmt: skip

    @classmethod
    def merged(cls, parts: Iterable[Sums]) -> Sums:
        """Sums of sums (a city's of its counties', the province's of its cities')."""
        columns = list(zip(*parts, strict=True))
        if not columns:
            return cls()
        return cls(*(max(c) if i == _LONGEST else sum(c) for i, c in enumerate(columns)))


_LONGEST = Sums._fields.index("longest_s")
"""A maximum, not a sum."""


Places = dict[str, dict[str, list[str]]]
"""City → county → its halls' ids, each in order (the unplaced last, halls by id)."""


def places_of(halls: Iterable[HallLine]) -> Places:
    tree: dict[str, dict[str, list[str]]] = {}
    for h in halls:
        tree.setdefault(h.city, {}).setdefault(h.county, []).append(h.hall)
    return {
        city: {county: sorted(tree[city][county]) for county in _order(tree[city])}
        for city in _order(tree)
    }


def place_names(halls: Iterable[HallLine]) -> dict[str, str]:
    """The display names of the halls' places, by their rows' keys (``c/wenzhou``,
    ``k/wenzhou/ouhai``), as their summaries say them (the shards' ``[places]``)."""
    names: dict[str, str] = {}
    for h in halls:
        if h.city_name:
            names.setdefault(f"c/{h.city}", h.city_name)
        if h.county_name:
            names.setdefault(f"k/{h.city}/{h.county}", h.county_name)
    return names


def shown_name(place: str, name: str, lang: str) -> str:
    """A city or county as the screen says it: its name in Chinese, its id in English (as
    halls, zones and items are: ``console.text.Words``) and where no name is given."""
    return name if name and lang == "zh" else place


def place_label(h: HallLine, lang: str) -> str:
    """Where a hall is: ``温州市 瓯海区`` (``wenzhou ouhai`` in English); ``""`` for a hall
    the config does not place (a city's county ``_`` shows only if named: ``市本级``)."""
    parts = (shown_name(p, n, lang) for p, n in ((h.city, h.city_name), (h.county, h.county_name)))
    return " ".join(part for part in parts if part != UNPLACED)


def group(
    halls: Mapping[str, HallLine], stale: AbstractSet[str]
) -> tuple[Sums, dict[str, tuple[Sums, dict[str, Sums]]]]:
    """(the province, city → (its sums, county → its sums)) of ``halls``, ``stale`` ones
    counted as such."""
    return _summed(places_of(halls.values()), {h: figures(s) for h, s in halls.items()}, stale)


def _summed(
    tree: Places, rows: Mapping[str, Figures], stale: AbstractSet[str]
) -> tuple[Sums, dict[str, tuple[Sums, dict[str, Sums]]]]:
    cities: dict[str, tuple[Sums, dict[str, Sums]]] = {}
    for city, counties in tree.items():
        parts = {
            county: Sums.of([rows[h] for h in halls], len(stale.intersection(halls)))
            for county, halls in counties.items()
        }
        cities[city] = (Sums.merged(parts.values()), parts)
    return Sums.merged(c for c, _ in cities.values()), cities


def _order(names: Iterable[str]) -> list[str]:
    """Places by id, the unplaced last."""
    return sorted(names, key=lambda n: (n == UNPLACED, n))


def _where(h: HallLine) -> tuple[str, str, str, str]:
    return h.city, h.county, h.city_name, h.county_name


Row = tuple[Cell, ...]
"""A row's cells, kept as one tuple until they change (``KeyedTable.sync`` passes over a
tuple it was given before without looking at it)."""


class _County:
    """What a county's rows were made from at the last paint, kept until one of its halls
    changes."""

    __slots__ = ("at", "changed", "lang", "rows", "sums")

    def __init__(self, members: list[str]) -> None:
        self.at = {hall: i for i, hall in enumerate(members)}
        """Each hall's place among the county's rows."""
        self.sums: Sums | None = None
        """Its halls added up; None: to add up again."""
        self.rows: dict[str, Row] | None = None
        """Its halls' rows (by row key, in order); None: to make when it is shown open."""
        self.lang = ""
        self.changed: set[str] = set()
        """Its halls whose rows are to make again (a new summary, stale or no longer): at
        the next paint, or when they come into view."""


class ProvinceTable(KeyedTable):
    """Cities, each opening into its counties, each county into its halls.

    A repaint costs what changed where it can be seen, not the province: the halls whose
    summary is new (the watch keeps a summary object until the next one of its hall
    comes) or who went stale or came back are read again and only their counties added
    up again; each row is a tuple kept until what it shows changes, and a changed row is
    made again only if it is in view or near it (a screen above and below), the others
    when a scroll or a resize brings them near (a 2,120-row table shows ~50), so the
    ``KeyedTable`` looks at a few rows and draws the lines that changed. 2,000 halls all
    open, a tenth of them new: a few milliseconds (``bench/province_ui.py``).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "place", "halls", "waiting", "longest", "urgent", "notice", "backlog", "cases_red",
        "cases_yellow", "complaints", "stale", "clock",
    )  # fmt: skip

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(zebra_stripes=True, **kwargs)
        self.open: set[str] = set()
        """Keys of the city and county rows shown open."""
        self._lines: dict[str, HallLine] = {}
        """Each hall's summary as last read."""
        self._figures: dict[str, Figures] = {}
        self._stale: AbstractSet[str] = frozenset()
        self._tree: Places = {}
        self._names: dict[str, str] = {}
        """A place row's key → the place's display name (``place_names``)."""
        self._counties: dict[tuple[str, str], _County] = {}
        self._hall_rows: dict[str, tuple[HallLine, bool, str, Row]] = {}
        """Hall → (its summary, stale, the language, its row)."""
        self._place_rows: dict[str, tuple[Hashable, Row]] = {}
        """A place row's key → (what it shows, its row)."""
        self._shown: tuple[ProvinceSource, Words] | None = None
        """What the last paint showed, for a scroll to bring the rows out of view up to
        date."""
        self._behind = False
        """Rows out of view were left as they were at the last paint."""

    def set_language(self, words: Words) -> None:
        self.set_columns([(key, word(words, key)) for key in self.COLUMNS])
        self._hall_rows.clear()
        self._place_rows.clear()
        for county in self._counties.values():
            county.rows = None

    def toggle(self, key: str) -> str | None:
        """Enter on a row: a city or county opens or closes; a hall's id is returned."""
        if key.startswith("h/"):
            return key[2:]
        if key in self.open:
            self.open.discard(key)
            self.open = {k for k in self.open if not k.startswith(f"k/{key[2:]}/")}
        else:
            self.open.add(key)
        return None

    @property
    def stale(self) -> AbstractSet[str]:
        """The halls shown stale."""
        return self._stale

    def place_name(self, words: Words, city: str, county: str | None = None) -> str:
        """A city (or a county of it) as the table says it."""
        place = city if county is None else county
        key = f"c/{city}" if county is None else f"k/{city}/{county}"
        shown = shown_name(place, self._names.get(key, ""), words.lang)
        return word(words, "unplaced") if shown == UNPLACED else shown

    def _read(self, halls: Mapping[str, HallLine], stale: AbstractSet[str]) -> None:
        """Read the halls whose summary is new and mark their counties, and those of the
        halls gone stale or back, to make again; the tree of places and their names made
        again when a hall came, went, moved or its place got another name."""
        lines, kept = self._lines, self._figures
        new: list[str] = []
        moved = len(lines) != len(halls)
        for hall, line in halls.items():
            seen = lines.get(hall)
            if seen is line:
                continue
            if seen is None or _where(seen) != _where(line):
                moved = True
            lines[hall] = line
            kept[hall] = figures(line)
            new.append(hall)
        flipped = stale ^ self._stale if stale != self._stale else ()
        self._stale = stale
        if moved:
            for hall in [h for h in lines if h not in halls]:
                del lines[hall], kept[hall]
                self._hall_rows.pop(hall, None)
            self._tree = places_of(halls.values())
            self._names = place_names(halls.values())
            self._counties = {
                (city, county): _County(members)
                for city, counties in self._tree.items()
                for county, members in counties.items()
            }
            return
        for hall in (*new, *flipped):
            line = lines.get(hall)
            if line is not None:
                county = self._counties[line.city, line.county]
                county.sums = None
                county.changed.add(hall)

    def show(self, source: ProvinceSource, words: Words, now: float | None = None) -> Sums:
        """Repaint from ``source``; the province's sums."""
        self._shown = (source, words)
        halls = source.summaries
        stale = source.stale_halls(now)
        self._read(halls, stale)
        figs = self._figures
        body = max(self._body_height(), 1)
        near = range(self.scroll_offset.y - body, self.scroll_offset.y + 2 * body)
        self._behind = False
        rows: dict[str, Row] = {}
        cities: list[Sums] = []
        for city, counties in self._tree.items():
            parts: dict[str, Sums] = {}
            for county, members in counties.items():
                c = self._counties[city, county]
                if c.sums is None:
                    c.sums = Sums.of([figs[h] for h in members], len(stale.intersection(members)))
                parts[county] = c.sums
            sums = Sums.merged(parts.values())
            cities.append(sums)
            key = f"c/{city}"
            opened = key in self.open
            label = f"{'▾' if opened else '▸'} {self.place_name(words, city)}"
            rows[key] = self._place(key, label, sums, len(rows) in near, bold=True)
            if not opened:
                continue
            for county, members in counties.items():
                ckey = f"k/{city}/{county}"
                copen = ckey in self.open
                label = f"  {'▾' if copen else '▸'} {self.place_name(words, city, county)}"
                rows[ckey] = self._place(ckey, label, parts[county], len(rows) in near)
                if copen:
                    c = self._counties[city, county]
                    rows.update(self._county_rows(c, members, words, near, len(rows)))
        self.sync(rows)
        return Sums.merged(cities)

    def _county_rows(
        self, c: _County, members: list[str], words: Words, near: range, at: int
    ) -> dict[str, Row]:
        """The rows of a county's halls, from line ``at`` on: those of the last paint, its
        changed halls' made again where they are ``near`` the lines in view."""
        lines, stale = self._lines, self._stale
        if c.rows is None or c.lang != words.lang:
            c.rows = {f"h/{h}": self._hall(lines[h], h in stale, words) for h in members}
            c.lang = words.lang
            c.changed.clear()
        elif c.changed:
            for h in [h for h in c.changed if at + c.at[h] in near]:
                c.rows[f"h/{h}"] = self._hall(lines[h], h in stale, words)
                c.changed.discard(h)
            self._behind = self._behind or bool(c.changed)
        return c.rows

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._behind and round(old_value) != round(new_value):
            self.call_next(self._catch_up)

    def on_resize(self) -> None:  # (KeyedTable's own runs too: Textual calls both)
        if self._behind:
            self.call_next(self._catch_up)

    def _catch_up(self) -> None:
        """The rows that came near the view made up to date (a paint of what the last one
        showed)."""
        if self._behind and self._shown is not None:
            self.show(*self._shown)

    @staticmethod
    def _count(n: int, style: str) -> Cell:
        return Text(str(n), style) if n else "0"

    def _place(self, key: str, label: str, s: Sums, near: bool, *, bold: bool = False) -> Row:
        """A city's or a county's row: the tuple of the last paint if it shows the same,
        or if it is not ``near`` the lines in view (made again when it comes near)."""
        look = (label, s, bold)
        kept = self._place_rows.get(key)
        if kept is not None and (kept[0] == look or not near):
            self._behind = self._behind or kept[0] != look
            return kept[1]
        row: Row = (
            Text(label, "bold") if bold else label,
            str(s.halls),
            str(s.waiting),
            duration(s.longest_s) if s.waiting else "–",
            self._count(s.urgent, "bold red"),
            self._count(s.notice, "yellow"),
            str(s.backlog),
            self._count(s.cases_red, "bold red"),
            self._count(s.cases_yellow, "yellow"),
            str(s.complaints),
            self._count(s.stale, "bold magenta"),
            "",
        )
        self._place_rows[key] = (look, row)
        return row

    def _hall(self, h: HallLine, stale: bool, words: Words) -> Row:
        """A hall's row (the tuple of the last paint while its summary and its being stale
        stay)."""
        kept = self._hall_rows.get(h.hall)
        if kept is not None and kept[0] is h and kept[1] == stale and kept[2] == words.lang:
            return kept[3]
        name = h.name if words.lang == "zh" else h.hall
        urgent, notice = h.urgent + h.red, h.notice + h.yellow
        row: Row = (
            Text(f"      {name}", "dim") if stale else f"      {name}",
            "",
            str(h.waiting),
            duration(h.longest_wait_s) if h.waiting else "–",
            self._count(urgent, "bold red"),
            self._count(notice, "yellow"),
            str(h.backlog),
            self._count(h.cases_red, "bold red"),
            self._count(h.cases_yellow, "yellow"),
            str(h.complaints_open),
            Text(word(words, "stale"), "bold magenta") if stale else "",
            clock(h.now_ms),
        )
        self._hall_rows[h.hall] = (h, stale, words.lang, row)
        return row


class PlaceWords(Words):
    """The words of the console over NATS, where a hall is one of a province's: it is said
    with its city and county (``温州市 瓯海区 · 瓯海区行政服务中心``; ids in English), in
    its header and wherever its hall screens name it."""

    def __init__(self, lang: Lang, place_of: Callable[[str], HallLine | None]) -> None:
        super().__init__(lang)
        self.place_of = place_of
        """A hall's summary (None: none came), for its place."""

    def hall(self, hall: str) -> str:
        line = self.place_of(hall)
        where = place_label(line, self.lang) if line is not None else ""
        name = super().hall(hall)
        return f"{where} · {name}" if where else name


class ProvinceApp(HallwatchApp):
    """The console over the province: the province screen first, a hall's screens from
    its shard. ``fetch(hall)`` asks the hall's shard for its whole view (None: no shard
    answered), which the desk shows (``desk.show``); the desk sends the actions (its
    ``answered`` is set here, to say each answer)."""

    province: ClassVar[bool] = True  # ``v``, and Enter on the table, in the keys (console.keys)

    def __init__(
        self,
        desk: Any,
        source: ProvinceSource,
        fetch: Callable[[str], Awaitable[Any]],
        *,
        fetch_every_s: float = 1.0,
        **app_args: Any,
    ) -> None:
        super().__init__(desk, run_pipeline=False, **app_args)
        self.words = PlaceWords(self.words.lang, source.summaries.get)
        self.source = source
        self.fetch = fetch
        self.fetch_every_s = fetch_every_s
        self._painted = -1
        self._fetching: str | None = None
        """The hall whose view is being asked for."""
        self.province_sums = Sums()
        """The province's halls added up, as last painted."""
        self._headline: Hashable = None
        desk.answered = self._answered

    async def on_mount(self) -> None:
        # (Textual then runs HallwatchApp.on_mount itself: handlers run down the MRO.)
        await self.query_one(ContentSwitcher).mount(ProvinceTable(id="province"))
        # What exists by now lives as long as the console, as in ``Pipeline.run`` (which
        # a province console does not run): out of the collector's sight, the full
        # collections with 2,120 rows open pause half as long (bench/NOTES.md).
        gc.collect()
        gc.freeze()
        self.set_interval(self.fetch_every_s, self._fetch_shown)
        self.call_after_refresh(self.action_screen, "province")

    def _set_language(self) -> None:
        if not isinstance(self.words, PlaceWords):  # (the language key makes plain words)
            self.words = PlaceWords(self.words.lang, self.source.summaries.get)
        super()._set_language()
        for table in self.query(ProvinceTable):
            table.set_language(self.words)
        self._painted = -1

    # --- the province screen --------------------------------------------------------------

    def action_screen(self, name: str) -> None:
        # The halls' strip names the halls opened from here: none on the province screen
        # (its headline counts the province), so it is hidden there, not "waiting".
        strip = self.query_one(CityStrip).styles
        if name == "province":
            strip.display = "none"
        else:
            strip.clear_rule("display")
        if name == "province":
            self.screen_name = name
            self.query_one(ContentSwitcher).current = name
            self.query_one(ProvinceTable).focus()
            self.refresh_bindings()
            self.refresh_view(force=True)
            return
        super().action_screen(name)
        self._fetch_shown()

    def refresh_view(self, *, force: bool = False) -> None:
        if self.screen_name != "province":
            super().refresh_view(force=force)
            return
        if not self.is_running:
            return
        if self.sign_in.idle(self.desk):
            self._signed_out("idle")
            force = True
        # A hall goes stale by time alone (nothing heard: its shard died, or every shard
        # of a city's console did), so the stale halls are looked at each tick too.
        table = self.query_one(ProvinceTable)
        if (
            force
            or self.source.generation != self._painted
            or (self.source.stale_halls() != table.stale)
        ):
            self.paint_province()

    def _render(self, view: Any) -> None:
        if self.screen_name == "province":
            self.paint_province()
        else:
            super()._render(view)

    def paint_province(self) -> None:
        """Repaint the province table and its headline from the source."""
        self._painted = self.source.generation
        words = self.words
        with self.batch_update():
            table = self.query_one(ProvinceTable)
            s = table.show(self.source, words)
            self.province_sums = s
            if not s.halls:
                line = Text(f" {word(words, 'no_halls_yet')}", "italic")
            else:
                line = Text(f" {word(words, 'province')} · {word(words, 'seen')} "
                            f"{self._seen(table, words)} · {s.halls} {word(words, 'halls')} · "
                            f"{word(words, 'waiting')} {s.waiting} · ")  # fmt: skip
                line.append(f"{word(words, 'urgent')} {s.urgent}", "bold red" if s.urgent else "")
                line.append(f" · {word(words, 'cases_red')} {s.cases_red}",
                            "bold red" if s.cases_red else "")  # fmt: skip
                if s.stale:
                    line.append(f" · {word(words, 'stale')} {s.stale}", "bold magenta")
            look = text_look(line)
            if look != self._headline:  # (an update asks for a layout: only on a change)
                self._headline = look
                self.query_one("#headline", Static).update(line)

    def _seen(self, table: ProvinceTable, words: Words) -> str:
        """What the credentials see, the places named as the table names them (``*``: the
        province)."""
        said = []
        for scope in self.source.scope_label.split(", "):
            if scope in ("*", ""):
                said.append("*")
                continue
            city, *county = scope.split(".")
            places = [
                table.place_name(words, city),
                *(table.place_name(words, city, c) for c in county),
            ]
            said.append(" ".join(places))
        return ", ".join(said)

    def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        if not isinstance(event.table, ProvinceTable):
            return
        event.prevent_default()
        hall = event.table.toggle(event.key)
        if hall is None:
            self.paint_province()
        else:
            self.open_hall(hall)

    def halls_in_order(self) -> list[str]:
        """Every hall seen, by city, county and id (``]``/``[`` go through them)."""
        lines = self.source.summaries.values()
        return [h.hall for h in sorted(lines, key=lambda h: (h.city, h.county, h.hall))]

    def action_hall(self, step: int) -> None:
        halls = self.halls_in_order()
        if not halls:
            return
        i = halls.index(self.hall) if self.hall in halls else -step
        self.open_hall(halls[(i + step) % len(halls)])

    def open_hall(self, hall: str) -> None:
        """Show ``hall``'s overview (fetched from its shard now)."""
        if hall not in self.desk.pipeline.view.city.halls:  # another hall's view goes
            self.desk.pipeline.view = EMPTY_VIEW
        self.hall = hall
        self.notify(f"{word(self.words, 'fetching')} {hall} …", timeout=2)
        screen = self.screen_name if self.screen_name != "province" else "overview"
        self.action_screen(screen)

    # --- the hall shown, from its shard ---------------------------------------------------

    def _fetch_shown(self) -> None:
        hall = self.hall
        if self.screen_name == "province" or hall is None or self._fetching == hall:
            return
        # Another hall's answer still on its way is dropped (the worker group is
        # exclusive: its worker is cancelled), or it would show that hall under this
        # one's name; this hall is asked for at once, not at the next second's fetch.
        self._fetching = hall
        self.run_worker(self._fetch(hall), group="fetch", exclusive=True)

    async def _fetch(self, hall: str) -> None:
        try:
            detail = await self.fetch(hall)
        except Exception as error:  # (the cluster went away meanwhile: said, asked again)
            self.notify(f"{word(self.words, 'no_answer')} {hall}: {type(error).__name__}",
                        severity="warning", timeout=4)  # fmt: skip
            return
        finally:
            if self._fetching == hall:
                self._fetching = None
        if detail is None:
            self.notify(f"{word(self.words, 'no_answer')} {hall}", severity="warning", timeout=4)
        else:
            self.desk.show(detail)
        self.refresh_view()

    # --- actions: sent; their answers said when they come ----------------------------------

    def _act(self, what: Callable[[], object]) -> bool:
        super()._act(what)
        return False  # sent: the answer is said when it comes (``_answered``)

    def _answered(self, command: Any, outcome: Any) -> None:
        words = self.words
        what = f"{word(words, command.kind)} {words.hall(command.hall)}"
        if outcome.ok and outcome.error is None:
            at = f" · {word(words, 'at_hall_time')} {clock(outcome.at_ms)}" if outcome.at_ms else ""
            self.notify(f"{what}: {word(words, 'done')}{at}")
            if outcome.report:
                self.push_screen(ReportDialog(outcome.report))
        elif outcome.ok:
            self.notify(f"{what}: {outcome.error}", severity="warning", timeout=8)
        else:
            self.notify(f"{what}: {word(words, 'refused')}: {outcome.error}", severity="error",
                        timeout=10)  # fmt: skip
        self._fetch_shown()
