"""Cities and counties by their names: ``[places]`` in the shards' config, carried by each
hall's summary, shown on the province screen (its city and county rows, what the
credentials see) and in a hall's header — in Chinese; by id in English, and where the
config names none.

The levels are the seeds': 建立市、县、乡3级政务服务责任体系 (seed 004, Yinchuan); the
example is seed 000's Ouhai (瓯海区), a district of Wenzhou (温州市): 将"瓯海模式"打造成为
全市、全省乃至全国的"标杆模式".
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import msgspec
import pytest

from alerts.names import Names
from console.province import ProvinceApp, ProvinceTable
from console.widgets import Headline
from feeds.decode import FrameDecoder
from feeds.protocol import Heartbeat
from feeds.source import Batch, MemorySource
from province.commands import Command, Outcome
from province.demo import prepare
from province.places import Place, Places, Scope
from province.views import HallDetail, decode_summary, detail_of, encode_summary, summaries
from province.watch import ProvinceWatch, RemoteDesk
from runtime.config import ConfigError, load_config
from runtime.pipeline import Pipeline
from tests.console.test_app import shown
from tests.factories import H, console_morning
from tests.province.procs import until

CONFIG = f"""\
[halls.{H}]
name = "瓯海区行政服务中心"
city = "wenzhou"
county = "ouhai"

[halls.lc]
city = "wenzhou"
county = "lucheng"

[halls.sm]
city = "wenzhou"          # the city's own centre, in no county

[places.wenzhou]
name = "温州市"
counties = {{ ouhai = "瓯海区", _ = "市本级" }}
"""


def test_the_config_names_cities_and_counties_and_refuses_a_name_of_no_place(
    tmp_path: Path,
) -> None:
    config = tmp_path / "province.toml"
    config.write_text(CONFIG)
    places = Places.of(load_config(config))
    assert places.names_of(places(H)) == ("温州市", "瓯海区")
    assert places.names_of(places("lc")) == ("温州市", "")  # Lucheng not named: its id shows
    assert places.names_of(places("sm")) == ("温州市", "市本级")  # county _
    assert places.names_of(places("nowhere")) == ("", "")  # unplaced

    def refused(text: str) -> str:
        config.write_text(CONFIG + text)
        with pytest.raises(ConfigError) as error:
            load_config(config)
        return str(error.value)

    # A typo names a place no hall is in: refused, or its halls would go on by id.
    said = refused('\n[places.wenzou]\nname = "温州"\n')
    assert said.startswith(f"{config}:17: field places.wenzou: no hall is in city 'wenzou'")
    config.write_text(CONFIG.replace('ouhai = "瓯海区"', 'ouhia = "瓯海区"'))
    with pytest.raises(ConfigError, match=r"province.toml:15: field places.wenzhou.counties."
                       r"ouhia: no hall of 'wenzhou' is in county 'ouhia'"):  # fmt: skip
        load_config(config)
    # The same as a table of its own: the line of the county's name.
    inline = 'counties = { ouhai = "瓯海区", _ = "市本级" }\n'
    table = '\n[places.wenzhou.counties]\nlucheng = "鹿城区"\nouhia = "x"\n'
    config.write_text(CONFIG.replace(inline, "") + table)
    with pytest.raises(ConfigError, match=r"province.toml:18: field places.wenzhou.counties."
                       r"ouhia: no hall"):  # fmt: skip
        load_config(config)
    # Ids are subject tokens, names are not empty, and nothing unknown.
    said = refused('\n[places."wen zhou"]\nname = "温州"\n')
    assert said.startswith(f"{config}:17: field places.wen zhou: Expected `str` matching")
    config.write_text(CONFIG.replace('name = "温州市"', 'name = ""'))
    with pytest.raises(ConfigError, match=r"province.toml:14: field places.wenzhou.name: "
                       r"Expected `str` of length >= 1"):  # fmt: skip
        load_config(config)
    config.write_text(CONFIG.replace("counties =", "county ="))
    with pytest.raises(ConfigError, match=r":15: field places.wenzhou.county: Object contains "
                       r"unknown field `county`"):  # fmt: skip
        load_config(config)


def test_the_demo_names_its_three_cities_and_their_counties(tmp_path: Path) -> None:
    cfg = load_config(prepare(tmp_path, 8, os_user="someone").config)
    # Eight feeds, 3, 3 and 2 counties (province.demo.CITIES, in order).
    assert {city: (p.name, p.counties) for city, p in cfg.places.items()} == {
        "weifang": ("潍坊市", {"kuiwen": "奎文区", "anqiu": "安丘市", "qingzhou": "青州市"}),
        "linyi": ("临沂市", {"lanshan": "兰山区", "luozhuang": "罗庄区", "hedong": "河东区"}),
        "jinan": ("济南市", {"lixia": "历下区", "zhangqiu": "章丘区"}),
    }
    places = Places.of(cfg)
    assert places.names_of(places("h4-county-a")) == ("临沂市", "罗庄区")


def _pipeline() -> Pipeline:
    """The console tests' morning at hall ``lz`` (09:20: two waiting, a complaint), the
    hall named as a shard's config names it."""
    source = MemorySource("f", [], FrameDecoder(lambda p: p))
    pipeline = Pipeline([source], names=Names(halls={H: "瓯海区行政服务中心"}))
    events = [
        e if isinstance(e, Heartbeat) else msgspec.structs.replace(e, seq=i)
        for i, e in enumerate(console_morning(), start=1)
    ]
    pipeline.apply(source.status, Batch("f", events))
    pipeline.publish()
    return pipeline


def test_a_summary_carries_the_names_and_one_without_them_still_reads() -> None:
    pipeline = _pipeline()
    places = Places({H: Place("wenzhou", "ouhai")}, {"wenzhou": ("温州市", {"ouhai": "瓯海区"})})
    (line,) = summaries(pipeline.view, 3, places).values()
    assert (line.city, line.county, line.city_name, line.county_name) == (
        "wenzhou", "ouhai", "温州市", "瓯海区")  # fmt: skip
    assert decode_summary(encode_summary(line)) == line
    # A shard of the release before: its array stops before the names.
    older = msgspec.msgpack.encode(msgspec.structs.astuple(line)[:-2])
    assert (decode_summary(older).city_name, decode_summary(older).county_name) == ("", "")


@pytest.mark.parametrize(("lang", "size"), [("zh", (120, 40)), ("en", (80, 24))])
async def test_the_province_screen_and_a_halls_header_say_the_names(
    lang: str, size: tuple[int, int]
) -> None:
    pipeline = _pipeline()
    places = Places(
        {H: Place("wenzhou", "ouhai"), "lc": Place("wenzhou", "lucheng")},
        {"wenzhou": ("温州市", {"ouhai": "瓯海区", "_": "市本级"})},
    )
    watch = ProvinceWatch(None, "wenzhou", [Scope(("wenzhou",))])  # type: ignore[arg-type]
    lines = summaries(pipeline.view, 0, places)
    lines["lc"] = msgspec.structs.replace(lines[H], hall="lc", name="鹿城区中心",
                                          county="lucheng", county_name="")  # fmt: skip
    lines["sm"] = msgspec.structs.replace(lines[H], hall="sm", name="市民中心", county="_",
                                          county_name="市本级")  # (the city's own)  # fmt: skip
    for hall, line in lines.items():
        watch.summaries[hall], watch.heard[hall] = line, time.monotonic()
    watch.generation += 1
    desk = RemoteDesk(watch)

    async def fetch(hall: str) -> HallDetail | None:
        return detail_of(pipeline, hall, 0)

    app = ProvinceApp(desk, watch, fetch, lang=lang, refresh_hz=20)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        await pilot.press("enter")  # the city opens into its counties
        await pilot.pause()
        assert table.row_keys == ["c/wenzhou", "k/wenzhou/lucheng", "k/wenzhou/ouhai",
                                  "k/wenzhou/_"]  # fmt: skip
        places_shown = [str(table.get_row(k)[0]).strip() for k in table.row_keys]
        head = " ".join(shown(app.query_one(Headline)).split())
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        if lang == "zh":  # Lucheng has no name: its id
            assert places_shown == ["▾ 温州市", "▸ lucheng", "▸ 瓯海区", "▸ 市本级"]
            assert "可见范围 温州市 · 3 大厅" in head
        else:  # English: ids, as halls, zones and items are
            assert places_shown == ["▾ wenzhou", "▸ lucheng", "▸ ouhai", "▸ unplaced"]
            assert "sees wenzhou · 3 halls" in head
        for label in places_shown:
            assert label in screen
        await pilot.press("down", "down", "enter", "down", "enter")  # Ouhai, its hall

        async def overview() -> bool:
            await pilot.pause()
            return app.screen_name == "overview" and H in desk.pipeline.view.city.halls

        await until(overview, 10, "the hall's overview")
        header = shown(app.query_one(Headline)).splitlines()[0]
        expected = "温州市 瓯海区 · 瓯海区行政服务中心" if lang == "zh" else f"wenzhou ouhai · {H}"
        assert header.startswith(expected), header
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert expected in screen
        # An answer to a command says the hall as the screen does.
        sent = Command(id="c1", kind="acknowledge", hall=H, operator="zhang",
                       signed_in_by="password", at_ms=0)  # fmt: skip
        app._answered(sent, Outcome(ok=True, at_ms=1763960400000))
        await pilot.pause()
        answer = f"{'确认' if lang == 'zh' else 'acknowledge'} {expected}: "  # (its place too)
        said = [str(n.message) for n in app._notifications]
        assert any(line.startswith(answer) for line in said), said
        await pilot.press("l")  # the other language: the header follows
        await pilot.pause()
        other = f"wenzhou ouhai · {H}" if lang == "zh" else "温州市 瓯海区 · 瓯海区行政服务中心"
        assert shown(app.query_one(Headline)).startswith(other)


async def test_a_late_answer_for_the_hall_left_is_not_shown_under_the_next() -> None:
    # ``]`` while the shard of the hall shown is still answering: that answer comes after
    # the next hall opened. It is dropped (not shown under the next hall's name), and the
    # next hall is asked for at once, not at the next second's fetch.
    pipeline = _pipeline()
    places = Places({H: Place("wenzhou", "ouhai"), "lc": Place("wenzhou", "lucheng")}, {})
    watch = ProvinceWatch(None, "wenzhou", [Scope(("wenzhou",))])  # type: ignore[arg-type]
    lines = summaries(pipeline.view, 0, places)
    lines["lc"] = msgspec.structs.replace(lines[H], hall="lc", county="lucheng")
    for hall, line in lines.items():
        watch.summaries[hall], watch.heard[hall] = line, time.monotonic()
    watch.generation += 1
    ours = detail_of(pipeline, H, 0)
    assert ours is not None
    lc = msgspec.structs.replace(ours, hall=dataclasses.replace(ours.hall, hall="lc"))
    held = asyncio.Event()
    asked: list[str] = []

    async def fetch(hall: str) -> HallDetail | None:
        asked.append(hall)
        if hall == "lc":  # lc's shard is slow: its answer waits for the test
            await held.wait()
            return lc
        return ours

    desk = RemoteDesk(watch)
    app = ProvinceApp(desk, watch, fetch, lang="en", refresh_hz=20, fetch_every_s=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_hall("lc")  # (by place: Lucheng, then Ouhai)

        async def asked_lc() -> bool:
            await pilot.pause()
            return asked == ["lc"] and app.screen_name == "overview"

        await until(asked_lc, 5, "lc asked for")
        await pilot.press("right_square_bracket")  # the next hall: ours, asked at once

        async def ours_shown() -> bool:
            await pilot.pause()
            return list(desk.pipeline.view.city.halls) == [H]

        await until(ours_shown, 5, "the next hall shown")
        assert app.hall == H and asked == ["lc", H]
        held.set()  # lc's answer, late
        for _ in range(5):
            await pilot.pause()
        assert list(desk.pipeline.view.city.halls) == [H]
        assert shown(app.query_one(Headline)).splitlines()[0].startswith(f"wenzhou ouhai · {H}")
