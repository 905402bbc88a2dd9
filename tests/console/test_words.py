"""The words a hall uses and the colour the eye reads (issue 13, points 7-9): display names
from a real config file in Chinese (no hall or zone id where a name is configured), the
hall's terms in the key bar, a wait tinted as it nears its limit, a bell and a flash on a
new complaint or red card, the grouped help and palette, the sort menu, the history
banner, and a shift report its writer cannot accept when no roster is configured.

Each console runs on a real feed server over loopback WebSockets, a real config file, and
(for the handover) a real SQLite alert store; the hall clock is the feed's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets._footer import FooterKey

from alerts.duty import Roster
from alerts.names import NO_NAMES
from alerts.store import AlertStore
from console.alarm import Alarm
from console.app import HallwatchApp
from console.colours import NEAR_STYLE, OVER_STYLE, WARN_STYLE, approach
from console.dialogs import NoteDialog, ReportDialog, SortDialog
from console.keys import ConsoleCommands, HelpScreen, help_sections
from console.tables import CasesTable, QueueTable, WindowsTable
from console.text import Words
from console.widgets import CityStrip, Headline, ZoneTable
from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import CaseSubmitted, Complaint, Heartbeat
from feeds.server import FeedServer
from runtime.build import build_pipeline
from runtime.config import ConsoleConfig, load_config
from runtime.desk import Desk, Session
from runtime.signin import SignIn
from tests.conftest import wait_for
from tests.console.test_app import arrived, shown
from tests.console.test_sign_in import notes
from tests.factories import H, console_morning, ms

#: The config a hall would write: names for the hall, its zones, an item, a department;
#: estate's limit 5 min and biz's 24 (B002 waits 4:00 at 09:20: 80 %; A002 17:00: 71 %);
#: the waiting rule off, so the colour is the ramp's, not an alert's.
CONFIG = """
[rules]
disabled = ["wait_overtime"]

[halls.lz]
name = "罗庄区政务服务中心"

[halls.lz.zones.estate]
name = "不动产登记"
wait_limit_minutes = 5

[halls.lz.zones.biz]
name = "商事登记"
wait_limit_minutes = 24

[halls.lz.items.bdc-01]
name = "二手房转移登记"

[depts]
bdcdj = "不动产登记中心"

[console]
bell = true
"""


@contextlib.asynccontextmanager
async def named_console(
    tmp_path: Path,
    events: list[Any],
    *,
    lang: str = "zh",
    store: AlertStore | None = None,
    size: tuple[int, int] = (120, 40),
    **app_args: Any,
) -> AsyncIterator[tuple[HallwatchApp, Any, FeedServer]]:
    """A console on a feed server that sent ``events``, configured by ``CONFIG`` read from
    a file (as ``--config`` reads it)."""
    path = tmp_path / "hallwatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path)
    server = FeedServer("lz-feed", [H])
    await server.start()
    await server.publish(events)
    feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="lz", backoff=Backoff(0.01))
    sup = build_pipeline(config, [feed], store=store)
    sup.publish_interval = 0.05
    app_args.setdefault("alarm", config.console)
    app = HallwatchApp(Desk(sup), lang=lang, refresh_hz=20, **app_args)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=size) as pilot:
            yield app, pilot, server
    finally:
        await server.stop()


def table_text(table: Any) -> str:
    return " ".join(str(c) for row in range(table.row_count) for c in table.get_row_at(row))


def case_submitted() -> CaseSubmitted:
    return CaseSubmitted(seq=0, ts=ms(15), hall=H, case="K-1", item="bdc-01", dept="bdcdj",
                         promised_days=5)  # fmt: skip


# --- words -------------------------------------------------------------------------------


async def test_chinese_console_names_what_the_config_names(tmp_path: Path) -> None:
    events = [*console_morning()[:-1], case_submitted(), Heartbeat(ts=ms(20), hall=H)]
    async with named_console(tmp_path, events) as (app, pilot, _server):
        await wait_for(lambda: arrived(app, 13))
        await pilot.pause()
        strip = shown(app.query_one(CityStrip))
        assert "罗庄区政务服务中心" in strip and " lz " not in strip
        head = shown(app.query_one(Headline))
        assert "罗庄区政务服务中心" in head and "大厅时间" in head and "大厅时钟" not in head
        zones = app.query_one(ZoneTable)
        await wait_for(lambda: zones.row_count == 2)
        assert "不动产登记" in table_text(zones) and "商事登记" in table_text(zones)
        assert "estate" not in table_text(zones) and "biz" not in table_text(zones)
        await pilot.press("u")
        queue = app.query_one(QueueTable)
        await wait_for(lambda: queue.row_count == 2)
        assert "estate" not in table_text(queue) and "不动产登记" in table_text(queue)
        await pilot.press("k")
        cases = app.query_one(CasesTable)
        await wait_for(lambda: cases.row_count == 1)
        assert [str(c) for c in cases.get_row("K-1")][1:3] == ["二手房转移登记", "不动产登记中心"]
        # The complaint alert in the hall's words: its channel 现场, not the protocol's desk.
        assert any(app.words.alert(a) == "投诉 c-1(渠道 现场,窗口 W02)" for a in app.shown.alerts)
        # English: the ids, as the feed sends them.
        await pilot.press("l")
        await pilot.press("o")
        await pilot.pause()
        assert " lz " in shown(app.query_one(CityStrip))
        await wait_for(lambda: "estate" in table_text(app.query_one(ZoneTable)))


async def test_key_bar_in_the_halls_words(tmp_path: Path) -> None:
    async with named_console(tmp_path, console_morning()) as (app, pilot, _server):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("a")
        await pilot.pause()
        keys = {str(k.description) for k in app.query(FooterKey)}
        assert {"销号", "暂停提醒", "冻结画面", "命令面板"} <= keys
        assert not keys & {"palette", "解除", "静默", "暂停画面"}
        await pilot.press("l")
        await pilot.pause()
        keys = {str(k.description) for k in app.query(FooterKey)}
        assert {"resolve", "silence", "palette"} <= keys


# --- colour ------------------------------------------------------------------------------


def test_the_ramp_changes_colour_before_the_limit() -> None:
    """Hand-worked on a 30-minute limit: 17:59 is plain, 18:00 (60 %) tinted, 24:00 (80 %,
    where the waiting rule's 预警 fires) the warning's colour, 30:00 the urgent one."""
    limit = 30 * 60
    assert approach(17 * 60 + 59, limit) == ""
    assert approach(18 * 60, limit) == NEAR_STYLE
    assert approach(24 * 60, limit) == WARN_STYLE == "yellow"
    assert approach(29 * 60 + 59, limit) == WARN_STYLE
    assert approach(30 * 60, limit) == OVER_STYLE
    assert approach(None, limit) == approach(100, None) == ""


async def test_a_wait_at_80_percent_of_its_limit_takes_the_warning_colour(tmp_path: Path) -> None:
    async with named_console(tmp_path, console_morning()) as (app, pilot, _server):
        await wait_for(lambda: arrived(app, 12))
        zones = app.query_one(ZoneTable)
        await wait_for(lambda: zones.row_count == 2)
        # estate: B002 has waited 4:00 of a 5-minute limit (80 %); no alert says so.
        assert not [a for a in app.shown.alerts if a.rule == "wait_overtime"]
        estate = zones.get_row("estate")
        longest = [c for c in estate if str(c) == "4:00"]
        assert longest and str(longest[0].style) == WARN_STYLE
        await pilot.press("u")
        queue = app.query_one(QueueTable)
        await wait_for(lambda: queue.row_count == 2)
        assert str(queue.get_row("B002")[4].style) == WARN_STYLE  # 4:00 of 5:00
        assert str(queue.get_row("A002")[4].style) == NEAR_STYLE  # 17:00 of 24:00: 71 %


# --- the signal --------------------------------------------------------------------------


async def test_a_new_complaint_and_a_new_red_card_ring_and_flash(tmp_path: Path) -> None:
    old = Complaint(seq=0, ts=ms(1), hall=H, complaint="c-0", channel="hotline")
    events = [old, *console_morning()]
    async with named_console(tmp_path, events) as (app, pilot, server):
        rings: list[int] = []
        app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
        # Every toast, kept (the app's own expire after 10 s of wall time: a busy machine).
        said: list[tuple[str, str]] = []
        notify = app.notify

        def kept(message: str, *, title: str = "", **kw: Any) -> None:
            said.append((title, message))
            notify(message, title=title, **kw)

        app.notify = kept  # type: ignore[method-assign]
        await wait_for(lambda: arrived(app, 13))
        # c-1 came at 09:18 (2 min ago on the hall clock): new. c-0 at 09:01 is not.
        await wait_for(lambda: len(rings) == 1)
        assert any("投诉 c-1" in m for _, m in said)
        assert not any("c-0" in m for _, m in said)
        assert app.alarm.flashes == 1  # the screen flashed, and the flash fades by itself
        await wait_for(lambda: not app.screen.styles.has_rule("tint"))
        # Materials added without authority: a red card (seed 001), and a complaint. They
        # come in one refresh, or the card in the next (a busy machine): a ring for each.
        await server.publish([
            Complaint(seq=0, ts=ms(21), hall=H, complaint="c-2", channel="online",
                      category="added_materials"),
            Heartbeat(ts=ms(22), hall=H),
        ])  # fmt: skip
        await wait_for(lambda: [t for t, _ in said].count("新红牌") == 1
                       and [t for t, _ in said].count("新投诉") == 2)  # fmt: skip
        assert len(rings) == app.alarm.flashes in (2, 3)
        await pilot.pause()
        assert len(said) == len(set(said)) == 3  # each once
        assert len(rings) == app.alarm.flashes <= 3


async def test_no_signal_without_bell_and_flash_or_for_the_history(tmp_path: Path) -> None:
    quiet = ConsoleConfig(bell=False, flash=False)
    async with named_console(tmp_path, console_morning(), alarm=quiet) as (app, _pilot, _s):
        rings: list[int] = []
        app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
        await wait_for(lambda: arrived(app, 12))
        assert rings == [] and not any("c-1" in n for n in notes(app))
    # The demo's earlier days, sent first at full speed: no bell while they play.
    alarm = Alarm(ConsoleConfig(bell=True), quiet_until_ms=ms(60))
    async with named_console(tmp_path, console_morning()) as (app, _pilot, _s):
        await wait_for(lambda: arrived(app, 12))
        assert alarm.news(app.shown) == []


async def test_history_is_said_while_it_loads(tmp_path: Path) -> None:
    async with named_console(tmp_path, console_morning(), lang="en", history_until_ms=ms(60)) as (
        app,
        _pilot,
        _server,
    ):
        await wait_for(lambda: arrived(app, 12))
        await wait_for(lambda: "loading history" in shown(app.query_one(Headline)))


# --- keys --------------------------------------------------------------------------------


def test_help_is_grouped_and_the_replay_keys_only_in_a_replay() -> None:
    words = Words("zh")
    live = help_sections(words, replay=False)
    titles = [title for column in live for title, _rows in column]
    assert titles[:4] == ["画面", "大厅", "显示", "其他"]
    assert "预警处置 (预警、待办画面或总览的预警表)" in titles and "回放" not in titles
    keys = [key for column in live for _t, rows in column for key, _w in rows]
    assert "space" not in keys and ">" not in keys and keys.count("?") == 1
    replay = help_sections(words, replay=True)
    assert "回放" in [title for column in replay for title, _rows in column]


async def test_help_screen_and_palette(tmp_path: Path) -> None:
    async with named_console(tmp_path, console_morning()) as (app, pilot, _server):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        left, right = (shown(app.screen.query_one(f"#help-{n}")) for n in (0, 1))
        assert "画面" in left and "值班与登录" in right and "回放" not in right
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette))
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" not in system and "Keys" not in system  # ours are there, in Chinese
        titles = [title for title, _run in ConsoleCommands(app.screen)._commands()]
        assert titles.count("退出 (q)") == 1 and "大厅 1: 罗庄区政务服务中心" in titles
        assert not any(t.startswith("回放") for t in titles)  # not a replay
        await pilot.press("escape")


async def test_sort_menu_sorts_by_the_column_picked(tmp_path: Path) -> None:
    async with named_console(tmp_path, console_morning(), lang="en") as (app, pilot, _server):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("w")
        table = app.query_one(WindowsTable)
        await wait_for(lambda: table.row_count == 2)
        await pilot.press("s")
        await wait_for(lambda: isinstance(app.screen, SortDialog))
        menu = shown(app.screen.query_one("#sort-columns"))
        assert "0  natural order" in menu and "1  window" in menu
        await pilot.press("1")  # the window column
        await wait_for(lambda: table.sort_column == 0 and not table.sort_reverse)
        await pilot.press("s", "1")  # the same column again: reversed
        await wait_for(lambda: table.sort_reverse)
        await wait_for(lambda: table.get_row_at(0)[0] != table.get_row_at(1)[0])
        assert str(table.get_row_at(0)[0]).startswith("W02")
        await pilot.press("s", "0")  # the natural order
        await wait_for(lambda: table.sort_column is None)
        assert "sorted by" not in str(table.border_title or "")


# --- the handover without a roster -----------------------------------------------------


async def test_own_handover_refused_without_a_roster(tmp_path: Path) -> None:
    """The demo's case: no roster, one operator signed in by itself. Writing the shift
    report works; accepting it as its writer is refused, and nothing is stored."""
    store = AlertStore(tmp_path / "alerts.db")
    demo = SignIn(Roster(), auto=Session("演示值班员", "demo"))
    try:
        async with named_console(
            tmp_path, console_morning(), lang="en", store=store, sign_in=demo
        ) as (app, pilot, _server):
            await wait_for(lambda: arrived(app, 12) and app.desk.session is not None)
            await pilot.press("d", "H")
            await wait_for(lambda: isinstance(app.screen, NoteDialog))
            await pilot.press(*"quiet", "enter")
            await wait_for(lambda: isinstance(app.screen, ReportDialog))
            assert "# 交接班 shift report — 罗庄区政务服务中心 (lz)" in app.screen.markdown
            await pilot.press("escape")
            await wait_for(lambda: len(app.desk.pipeline.view.handovers_unaccepted) == 1)
            await pilot.press("G")
            await wait_for(lambda: isinstance(app.screen, NoteDialog))
            await pilot.press("enter")
            await wait_for(lambda: any("incoming director accepts" in n for n in notes(app)))
            assert store.handovers()[0]["accepted_by"] is None
    finally:
        store.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_words_without_names_are_the_ids(lang: str) -> None:
    words = Words(lang, NO_NAMES)  # type: ignore[arg-type]
    assert (words.hall("lz"), words.zone("lz", "estate"), words.dept("bdcdj")) == (
        "lz",
        "estate",
        "bdcdj",
    )
