"""``make cluster-demo``'s province as ``province.demo.prepare`` writes it, without
running it: the config places and names every hall the demo feeds send — three cities, a
county per feed — and the NATS users are a block nats-server accepts, each console's auth
file the view of its level (the province's everything, the city's its city).
"""

from __future__ import annotations

import stat
import subprocess
from collections import Counter
from pathlib import Path

import msgspec
from websockets.asyncio.client import connect

from feeds.protocol import Hello
from province.access import authorization, permissions, read_credentials, scopes
from province.demo import HALLS_PER_FEED, feed_prefix, prepare
from province.local import LocalCluster, nats_server_binary
from province.places import Place, Places, Scope
from runtime.config import load_config
from tests.province.procs import demo_feed, stop


async def hello_of(url: str) -> Hello:
    async with connect(url, compression=None) as ws:
        return msgspec.json.decode(await ws.recv(), type=Hello)


async def test_the_config_places_and_names_every_hall_the_demo_feeds_send(
    tmp_path: Path,
) -> None:
    province = prepare(tmp_path, 8, os_user="someone")
    cfg = load_config(province.config)
    # The hall ids as a demo feed sends them, started as the demo starts its eighth.
    proc, url = demo_feed("--halls", str(HALLS_PER_FEED), "--hall-prefix", feed_prefix(7))
    try:
        hello = await hello_of(url)
    finally:
        stop(proc)
    assert hello.halls == ["h7-city", "h7-county-a", "h7-county-b"]
    every = {f"h{i}-{hall.removeprefix('h7-')}" for i in range(8) for hall in hello.halls}
    assert set(cfg.halls) == every and len(every) == 24
    places = Places.of(cfg)
    # Eight feeds shared out in order, 3, 3 and 2, each a county of three halls.
    assert Counter(places(h).city for h in every) == {"weifang": 9, "linyi": 9, "jinan": 6}
    counties = Counter(places(h) for h in every)
    assert len(counties) == 8 and set(counties.values()) == {3}
    assert places("h0-city") == Place("weifang", "kuiwen")
    assert places("h7-county-b") == Place("jinan", "zhangqiu")
    names = cfg.names()
    assert names.halls["h1-city"] == "安丘市政务服务中心"
    assert names.halls["h7-county-b"] == "章丘区城西分中心"
    assert names.zones["h7-county-b"]["estate"] == "不动产交易纳税登记"
    assert names.depts["spj"] == "行政审批服务局"
    # The person at the terminal is the roster's: the consoles sign them in by themselves.
    assert cfg.duty.person_of_os_user("someone") == "demo"


def test_the_users_are_a_block_nats_server_accepts_and_each_auth_file_a_level(
    tmp_path: Path,
) -> None:
    province = prepare(tmp_path, 8, os_user="someone")
    # The nodes' config files (not started): nats-server -t parses and checks one.
    cluster = LocalCluster(tmp_path / "nats", authorization=authorization(province.users))
    done = subprocess.run([nats_server_binary(), "-t", "-c", str(cluster.nodes[0].config)],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The gateways' and shards' user has a file too: no password on their command lines.
    assert province.service.scope is None
    assert read_credentials(province.auth[province.service.name]) == (
        province.service.name, province.service.password)  # fmt: skip
    for name, scope in (("province", Scope()), ("weifang", Scope(("weifang",)))):
        path = province.auth[name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        user, password = read_credentials(path)
        (mine,) = [u for u in province.users if u.name == user]
        assert mine.password == password and user == name
        # The view a $SYS.REQ.USER.INFO answer with these permissions gives its console.
        assert scopes({"data": {"permissions": permissions(mine)}}) == [scope]
