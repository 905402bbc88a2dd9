"""Live first, the backlog apart (issue 13, points 1, 4 and 5): the duty director's morning
in one hall, applied through the real pipeline and alert engine, then shown by the console
under Pilot at 120x40, 80x24 and 200x60.

The morning, worked by hand (T0 = Monday 2025-11-24 09:00; the hall clock ends at 09:41):

- ``k-fri``: a complaint of Friday 10:00, due that day at 17:30 (当日事当日毕, seed 002:
  對群眾投訴問題實行限時辦結,做到當日事當日畢), still open: its notice (#1) and the
  urgent ``complaint_overdue`` (#8, fired at the due time) are the complaint ledger's —
  backlog.
- ``k-sun``: a complaint of Sunday 15:00. Sunday is no working day, so it is due today at
  17:30: today's complaint, live (#2).
- ``c-1``: a complaint at W02 at 09:18: live (#3).
- case C-1 accepted 09:06, asked for added materials at 09:10: a red card (seed 001:
  對擅自增加或改變申請材料…進行紅牌警告), the back office's — backlog (#4).
- a bad rating at W01 at 09:14: a rectification note is owed (seed 004:
  差評整改情況在線反饋) — backlog (#5).
- A002 (biz, issued 09:03) waits: notice at 24 min (09:27), urgent at 30 (09:33) — live (#6).
- B002 (estate, issued 09:16) waits 24 min at 09:40: a notice — live (#7).
- W01 free since 09:13 while A002 of its zone waits: idle from 09:23 — live (#9).

Live: urgent 1, notices 4 (waiting 2, complaints 2, idle 1). Backlog 4: a case card, a
rectification note, two complaint alerts of Friday.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text
from textual.widgets import Footer, Static

from alerts.rules import AlertEngine
from console.app import HallwatchApp
from console.dialogs import TimelineDialog
from console.tables import AlertsTable, BacklogTable, CityTable
from console.widgets import AlertDetail, AlertTable, CityStrip, Headline, WindowGrid, ZoneTable
from feeds.decode import FrameDecoder
from feeds.protocol import (
    CaseAccepted,
    CaseMaterialsChanged,
    CaseSubmitted,
    Complaint,
    Event,
    Heartbeat,
    Rating,
)
from feeds.source import Batch, MemorySource
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from runtime.view import alert_counts
from tests.console.test_app import plain
from tests.factories import H, console_morning, ms

#: Alert ids of the morning (the order the engine raises them in, see the docstring).
FRI, SUN, C1, CARD, RATING, A002, B002, FRI_OVERDUE, IDLE = 1, 2, 3, 4, 5, 6, 7, 8, 9


def morning() -> list[Event]:
    events: list[Event] = [
        Complaint(seq=0, ts=ms(-71 * 60), hall=H, complaint="k-fri", channel="hotline"),
        Complaint(seq=0, ts=ms(-18 * 60), hall=H, complaint="k-sun", channel="online"),
        Heartbeat(ts=ms(-17 * 60), hall=H),
        *console_morning()[:-1],  # (its closing heartbeat: ours is later)
        CaseSubmitted(seq=0, ts=ms(5), hall=H, case="C-1", item="I1", dept="D1", promised_days=5),
        CaseAccepted(seq=0, ts=ms(6), hall=H, case="C-1"),
        CaseMaterialsChanged(seq=0, ts=ms(10), hall=H, case="C-1", change="materials_added"),
        Rating(seq=0, ts=ms(14), hall=H, window="W01", score=1, channel="device"),
        Heartbeat(ts=ms(41), hall=H),
    ]
    events.sort(key=lambda e: e.ts)
    for i, e in enumerate(e for e in events if e.seq is not None):
        e.seq = i + 1
    return events


def desk(silence: bool = False) -> Desk:
    """The morning applied and published; ``silence``: the waiting warnings silenced by
    the operator for 30 minutes (until 10:11) before the last publish."""
    feed = MemorySource(H, [], FrameDecoder(lambda p: p))
    feed.status.connected = True
    sup = Pipeline([feed], alerts=AlertEngine())
    sup.apply(feed.status, Batch(H, morning()))
    sup.publish()
    d = Desk(sup, operator="wang")
    if silence:
        d.silence(H, "kiosk down, tickets reissued", 30, "wait_overtime")
        sup.publish()
    return d


def app_on(d: Desk) -> HallwatchApp:
    return HallwatchApp(d, lang="en", run_pipeline=False)


def line_texts(widget: Static) -> Iterator[Text]:
    """The lines of a Static made of Rich ``Text`` lines (a Group or one Text)."""
    content = widget.content
    yield from getattr(content, "renderables", [content])


def words_of(widget: Static) -> str:
    return " ".join(plain(widget.content).split())


def test_counts_by_kind_are_the_hand_worked_ones() -> None:
    view = desk().pipeline.view
    counts = alert_counts(view)[H]
    assert dict(counts.live) == {"urgent": 1, "notice": 4}
    assert dict(counts.live_topics) == {"waiting": 2, "complaint": 2, "idle": 1}
    assert dict(counts.backlog_topics) == {"case": 1, "rectification": 1, "complaint": 2}
    assert counts.backlog == 4 and counts.silenced == 0
    # The per-rule counts the metric exports still hold every open alert (9).
    assert sum(view.city.alerts_active.values()) == 9


def test_silenced_alerts_leave_the_counts() -> None:
    counts = alert_counts(desk(silence=True).pipeline.view)[H]
    assert dict(+counts.live) == {"notice": 3}  # A002 (urgent) and B002 silenced
    assert dict(+counts.live_topics) == {"complaint": 2, "idle": 1}
    assert counts.silenced == 2 and counts.backlog == 4


async def test_overview_leads_with_live_alerts_above_the_fold_at_120x40() -> None:
    app = app_on(desk())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(AlertTable)
        # The gravest first (A002, urgent since 09:33), then the notices newest first;
        # no card, rating or Friday complaint: those are the backlog's.
        assert table.row_keys == [str(i) for i in (A002, B002, IDLE, C1, SUN)]
        assert str(table.get_row_at(0)[1]) == "09:33:00"  # when it rose to urgent
        assert "11-23 15:00" in str(table.get_row_at(4)[1])  # Sunday's: dated
        title = words_of(app.query_one("#alerts-title", Static))
        assert title == (
            "live alerts 5: long waits 2 · idle windows 1 · complaints 2 "
            "backlog 4: cases 1 · rectifications 1 · complaints 2"
        )  # (the "g lists it" hint left out: 120 columns hold the kinds without it)
        # Visible without scrolling: the list sits above the zones and the tiles, and
        # inside the screen above the key bar.
        zones, grid = app.query_one(ZoneTable), app.query_one(WindowGrid)
        assert table.region.y < zones.region.y < grid.region.y
        assert table.region.bottom <= app.size.height - 1
        # The highlighted alert in full under the list, dated.
        detail = words_of(app.query_one(AlertDetail))
        assert detail.startswith(f"#{A002} long wait · 11-24 09:27:00 ↑ 11-24 09:33:00")
        assert "ticket A002 (biz) waiting over 30 min" in detail


async def test_header_and_strip_count_by_kind() -> None:
    app = app_on(desk())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        top = words_of(app.query_one(Headline)).split(" waiting ")[0]
        assert top == "lz day 2025-11-24 hall clock 09:41:00 live urgent 1 warn 4 backlog 4"
        strip = words_of(app.query_one(CityStrip))
        assert strip == "1 lz queue 2 urgent 1 warn 4 backlog 4"
        await pilot.press("c")
        await pilot.pause()
        city = app.query_one(CityTable)
        cells = dict(zip(city.column_keys, map(str, city.get_row(H)), strict=True))
        assert (cells["urgent"], cells["notice"], cells["backlog"]) == ("1", "4", "4")


async def test_silenced_rows_are_marked_last_and_left_out_of_the_counts() -> None:
    app = app_on(desk(silence=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(AlertTable)
        assert table.row_keys == [str(i) for i in (IDLE, C1, SUN, A002, B002)]
        for row in (3, 4):
            assert str(table.get_row_at(row)[3]) == "silenced →10:11"
        head = words_of(app.query_one(Headline))
        assert "live warn 3 (silenced 2)" in head and "urgent" not in head
        assert words_of(app.query_one(CityStrip)) == "1 lz queue 2 warn 3 backlog 4"
        title = words_of(app.query_one("#alerts-title", Static))
        assert title.startswith("live alerts 3: idle windows 1 · complaints 2 (silenced 2) ")
        await pilot.press("a")  # the alerts screen marks them too, each at its part's end
        await pilot.pause()
        alerts = app.query_one(AlertsTable)
        live = [k for k in alerts.row_keys if int(k) in (A002, B002, IDLE, C1, SUN)]
        assert live == [str(i) for i in (IDLE, C1, SUN, A002, B002)]


async def test_backlog_screen_lists_the_cards_by_kind() -> None:
    app = app_on(desk())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        table = app.query_one(BacklogTable)
        # Case card, rectification note, then Friday's complaint: overdue (urgent) first.
        assert table.row_keys == [str(i) for i in (CARD, RATING, FRI_OVERDUE, FRI)]
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:2] == ["cases", " red card "]
        assert table.border_title == ("backlog lz 4: cases 1 · rectifications 1 · complaints 2")
        # The alerts screen: every live alert before any of the backlog.
        await pilot.press("a")
        await pilot.pause()
        keys = [int(k) for k in app.query_one(AlertsTable).row_keys]
        assert keys[:5] == [A002, B002, IDLE, C1, SUN]
        assert sorted(keys[5:]) == sorted([CARD, RATING, FRI_OVERDUE, FRI])
        # An action on the backlog screen acts on its highlighted row: Enter, the timeline.
        await pilot.press("g", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TimelineDialog)
        assert f"#{RATING} bad rating 1 at window W01" in app.screen.title_text


async def test_80x24_one_line_headline_live_list_and_the_acting_keys() -> None:
    app = app_on(desk())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        headline = app.query_one(Headline)
        assert headline.size.height == 2
        lines = list(line_texts(headline))
        assert len(lines) == 2
        assert all(line.cell_len <= headline.content_region.width for line in lines)
        figures = lines[1].plain
        for figure in ("waiting 2", "longest 38:00", "open 2/2"):
            assert figure in " ".join(figures.split())
        # The live list is on screen, the key bar keeps the keys that act on it.
        table = app.query_one(AlertTable)
        assert table.row_count == 5 and table.region.bottom <= app.size.height - 1
        keys = {k.key: k for k in app.query_one(Footer).query("FooterKey")}
        for key in ("A", "R", "X", "t"):
            assert key in keys and keys[key].region.right <= app.size.width, key


async def test_zone_columns_by_priority_and_refit_on_resize() -> None:
    app = app_on(desk())
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        zones = app.query_one(ZoneTable)
        every = zones.column_keys
        assert every[-1] == "curve" and "issued" in every and "abandoned" in every
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        narrow = zones.column_keys
        assert narrow[:3] == ["zone", "waiting", "longest"]
        assert "issued" not in narrow and "abandoned" not in narrow
        # Whatever is shown has its whole heading: the table is no wider than its place.
        assert zones.virtual_size.width <= zones.size.width
        headline = app.query_one(Headline)
        assert all(line.cell_len <= 78 for line in line_texts(headline))


async def test_board_leads_with_the_live_alerts() -> None:
    app = app_on(desk())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        lines = [
            " ".join(line.plain.split())
            for line in line_texts(app.query_one("#board-alerts", Static))
        ]
        assert lines[0] == (
            "live alerts urgent 1 warn 4 backlog 4: cases 1 · rectifications 1 · complaints 2"
        )
        assert lines[1].startswith("urgent 09:33:00 long wait ticket A002 (biz)")
        assert [line.split()[1] for line in lines[2:]] == [
            "09:40:00", "09:23:00", "09:18:00", "11-23",
        ]  # fmt: skip
        assert not any("materials" in line or "bad rating" in line for line in lines)


async def test_the_live_list_shows_its_top_until_a_hand_is_on_it() -> None:
    """Unfocused, the overview's list keeps its top in view: B002 rising to urgent at
    09:46 (30 min after 09:16) goes first, highlighted, not A002 held by key. Once the
    list has the focus, the cursor stays on the row the hand put it on."""
    d = desk()
    app = app_on(d)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(AlertTable)
        assert not table.has_focus and table.cursor_key == str(A002)
        sup = d.pipeline
        sup.apply(sup.sources[0].status, Batch(H, [Heartbeat(ts=ms(46), hall=H)]))
        sup.publish()
        app.refresh_view()
        await pilot.pause()
        assert table.row_keys[:2] == [str(B002), str(A002)]
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        assert words_of(app.query_one(AlertDetail)).startswith(f"#{B002} long wait")
        table.focus()
        await pilot.press("down", "down")  # the hand puts it on the third row
        held = table.cursor_key
        assert held == table.row_keys[2]
        sup.apply(sup.sources[0].status, Batch(H, [Heartbeat(ts=ms(47), hall=H)]))
        sup.publish()
        app.refresh_view()
        await pilot.pause()
        assert table.cursor_key == held
