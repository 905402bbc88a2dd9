"""The province screen without a cluster: halls (as their shards summarize them) grouped
by city and county, a row per city that opens, sums worked out by hand, a stale hall
said, and 2,000 halls shown on the Textual screen (Pilot).

Three levels, as seed 004 has them: 完善市、县、乡镇综合性政务大厅集中服务模式,县级以上为
政务服务中心 — a city's office watches its counties' centres together.
"""

from __future__ import annotations

import time

from console.keys import ConsoleCommands, HelpScreen, help_sections
from console.province import ProvinceApp, ProvinceTable, Sums, group
from console.text import Words
from console.widgets import CityStrip, Headline
from province.places import Scope
from province.views import STALE_S, HallSummary
from province.watch import ProvinceWatch, RemoteDesk
from tests.console.test_app import shown
from tests.province.procs import until


def hall(name: str, city: str, county: str, **figures: int | float) -> HallSummary:
    values: dict[str, int | float] = dict.fromkeys(
        ("partition", "waiting", "longest_wait_s", "windows_open", "windows_total",
         "served_today", "complaints_open", "cases_yellow", "cases_red", "red", "urgent",
         "yellow", "notice", "backlog", "silenced"), 0)  # fmt: skip
    values.update(figures)
    return HallSummary(hall=name, name=f"{name}中心", city=city, county=county,
                       now_ms=1763960400000, **values)  # type: ignore[arg-type]  # fmt: skip


def watch_of(halls: list[HallSummary], stale: set[str] = frozenset()) -> ProvinceWatch:  # type: ignore[assignment]
    """A watch that heard ``halls`` just now (``stale`` ones long ago); no connection."""
    watch = ProvinceWatch(None, "prov", [Scope()])  # type: ignore[arg-type]
    now = time.monotonic()
    for h in halls:
        watch.summaries[h.hall] = h
        watch.heard[h.hall] = now - (STALE_S + 1 if h.hall in stale else 0)
        watch.generation += 1
    return watch


def test_halls_add_up_by_city_and_county() -> None:
    # Ouhai: 12 and 3 waiting, longest 14 and 25 min; Lucheng: 7 waiting; Anqiu apart.
    halls = [
        hall("oh-1", "wenzhou", "ouhai", waiting=12, longest_wait_s=840, urgent=1, red=1,
             notice=2, backlog=3, cases_red=1, complaints_open=1),
        hall("oh-2", "wenzhou", "ouhai", waiting=3, longest_wait_s=1500, yellow=1, cases_yellow=2),
        hall("lc-1", "wenzhou", "lucheng", waiting=7, longest_wait_s=300),
        hall("aq-1", "weifang", "anqiu", waiting=30, longest_wait_s=60, urgent=4),
    ]  # fmt: skip
    by_id = {h.hall: h for h in halls}
    total, cities = group(by_id, {"lc-1"})
    assert (total.halls, total.waiting, total.urgent, total.stale) == (4, 52, 6, 1)
    wz, counties = cities["wenzhou"]
    assert (wz.halls, wz.waiting, wz.longest_s, wz.urgent, wz.notice) == (3, 22, 1500, 2, 3)
    assert (wz.backlog, wz.cases_red, wz.cases_yellow, wz.complaints, wz.stale) == (3, 1, 2, 1, 1)
    assert counties["ouhai"] == Sums(halls=2, stale=0, waiting=15, longest_s=1500, urgent=2,
                                     notice=3, backlog=3, cases_red=1, cases_yellow=2,
                                     complaints=1)  # fmt: skip
    assert cities["weifang"][1]["anqiu"].urgent == 4
    assert list(cities) == ["weifang", "wenzhou"] and list(counties) == ["lucheng", "ouhai"]


async def test_the_province_screen_opens_a_city_into_counties_and_halls() -> None:
    halls = [
        hall("oh-1", "wenzhou", "ouhai", waiting=12, longest_wait_s=840, urgent=1),
        hall("oh-2", "wenzhou", "ouhai", waiting=3),
        hall("lc-1", "wenzhou", "lucheng", waiting=7),
        hall("aq-1", "weifang", "anqiu", waiting=30),
        hall("lost", "_", "_"),
    ]
    watch = watch_of(halls, stale={"oh-2"})

    async def no_shard(hall: str) -> None:
        return None

    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="en")
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        assert app.screen_name == "province"
        assert table.row_keys == ["c/weifang", "c/wenzhou", "c/_"]  # the unplaced last
        head = " ".join(shown(app.query_one(Headline)).split())
        assert "sees * · 5 halls · waiting 52 · urgent 1" in head and "stale 1" in head
        assert not app.query_one(CityStrip).display  # no "waiting for the feed" above it
        wenzhou = [str(c) for c in table.get_row("c/wenzhou")]
        assert wenzhou[:5] == ["▸ wenzhou", "3", "22", "14:00", "1"]
        assert str(table.get_row("c/_")[0]) == "▸ unplaced"
        await pilot.press("down", "enter")  # Wenzhou opens
        assert table.row_keys == ["c/weifang", "c/wenzhou", "k/wenzhou/lucheng",
                                  "k/wenzhou/ouhai", "c/_"]  # fmt: skip
        await pilot.press("down", "down", "enter")  # Ouhai opens
        assert table.row_keys[4:6] == ["h/oh-1", "h/oh-2"]
        stale = [str(c) for c in table.get_row("h/oh-2")]
        assert stale[-2] == "stale" and stale[0].strip() == "oh-2"
        await pilot.press("up", "up", "enter")  # Wenzhou closes, its counties with it
        assert table.row_keys == ["c/weifang", "c/wenzhou", "c/_"]
        await pilot.press("enter")  # opened again: its counties closed
        assert table.row_keys == ["c/weifang", "c/wenzhou", "k/wenzhou/lucheng",
                                  "k/wenzhou/ouhai", "c/_"]  # fmt: skip


async def test_two_thousand_halls_by_city_and_county() -> None:
    # A province: 2,000 halls in 12 cities of 8-9 counties each.
    halls = [
        hall(f"h{i:04d}", f"city{i % 12:02d}", f"county{i % 12:02d}{i // 12 % 9}",
             waiting=i % 40, urgent=i % 7 == 0)
        for i in range(2000)
    ]  # fmt: skip
    watch = watch_of(halls)

    async def no_shard(hall: str) -> None:
        return None

    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="zh")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        assert table.row_count == 12
        assert app.province_sums.halls == 2000
        assert app.province_sums.waiting == sum(i % 40 for i in range(2000))
        table.open = {f"c/city{c:02d}" for c in range(12)} | {
            f"k/city{c:02d}/county{c:02d}{k}" for c in range(12) for k in range(9)
        }
        app.paint_province()
        assert table.row_count == 12 + 12 * 9 + 2000
        assert sum(1 for k in table.row_keys if k.startswith("h/")) == 2000


async def test_a_hall_out_of_view_is_shown_up_to_date_when_it_comes_into_view() -> None:
    # 2,000 halls all open (2,120 rows, ~35 in view): a new summary of the last hall is
    # added up at once (the province's figures) but its row made when it comes into view.
    halls = [hall(f"h{i:04d}", f"city{i % 12:02d}", f"county{i % 12:02d}{i // 12 % 9}",
                  waiting=1) for i in range(2000)]  # fmt: skip
    watch = watch_of(halls)

    async def no_shard(hall: str) -> None:
        return None

    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="en")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        table.open = {f"c/city{c:02d}" for c in range(12)} | {
            f"k/city{c:02d}/county{c:02d}{k}" for c in range(12) for k in range(9)
        }
        app.paint_province()
        await pilot.pause()
        last = table.row_keys[-1]
        assert last == "h/h1943" and table.get_row(last)[2] == "1"  # (city11's county 8)
        watch.summaries["h1943"] = hall("h1943", "city11", "county118", waiting=977)
        watch.generation += 1
        app.paint_province()
        assert app.province_sums.waiting == 1999 + 977  # (the headline's)
        await pilot.press("end")  # the last row comes into view, up to date
        await pilot.pause()
        assert table.get_row(last)[2] == "977"
        screen = [strip.text.split() for strip in app.screen._compositor.render_strips()]
        assert ["h1943", "977"] in [line[:2] for line in screen]
        table.move_cursor(table.get_row_index("c/city11"))  # its city's row: 165 + 977
        await pilot.pause()
        screen = [strip.text.split() for strip in app.screen._compositor.render_strips()]
        assert ["▾", "city11", "166", "1142"] in [line[:4] for line in screen]


async def test_halls_go_stale_on_screen_with_nothing_heard() -> None:
    # Every shard of a city's console dies: no summary comes (the watch's generation stays),
    # yet its halls, unheard of for STALE_S, are said stale.
    watch = watch_of([hall("oh-1", "wenzhou", "ouhai", waiting=3),
                      hall("oh-2", "wenzhou", "ouhai", waiting=4)])  # fmt: skip

    async def no_shard(hall: str) -> None:
        return None

    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="en", refresh_hz=20)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        assert str(table.get_row("c/wenzhou")[10]) == "0"
        generation = watch.generation
        for h in ("oh-1", "oh-2"):
            watch.heard[h] -= STALE_S + 1  # (as if 46 s went by without a word)

        async def said_stale() -> bool:
            await pilot.pause()
            return str(table.get_row("c/wenzhou")[10]) == "2"

        await until(said_stale, 5, "the halls said stale")
        assert watch.generation == generation and app.province_sums.stale == 2
        assert "stale 2" in " ".join(shown(app.query_one(Headline)).split())


async def test_the_help_and_the_palette_say_the_province_keys() -> None:
    watch = watch_of([hall("aq-1", "weifang", "anqiu", waiting=3)])

    async def no_shard(hall: str) -> None:
        return None

    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="en")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        left = " ".join(shown(app.screen.query_one("#help-0")).split())
        assert left.startswith(
            "Province v the province: its halls by city and county "
            "Enter open or close a city, a county; on a hall: open it Screens"
        )
        await pilot.press("escape")
        titles = [title for title, _run in ConsoleCommands(app.screen)._commands()]
        assert "the province: its halls by city and county (v)" in titles
        await pilot.press("w")  # a hall's screen, then back to the province by its key
        assert app.screen_name == "windows" and app.query_one(CityStrip).display
        await pilot.press("v")
        assert app.screen_name == "province" and not app.query_one(CityStrip).display
    # A console on its own hall's feeds has no province: neither key nor section.
    titles = [t for column in help_sections(Words("en"), replay=False) for t, _rows in column]
    assert "Province" not in titles
