"""``make cluster-demo``: a province on this machine, on loopback — three NATS nodes whose
users are the province's levels, eight demo feeds of three halls (24 halls, placed in
three cities and their counties), two gateways, three shards — and the province's console
in this terminal; ``q`` in it stops everything (``--no-console``: headless, until Ctrl-C).
Before the console it prints each process's pid, each shard's /metrics URL and how to open
a city's console in another terminal: kill a shard, a gateway or a node and watch the
others take over (docs/scale.md). Everything goes under a fresh temporary folder, printed
too, and is stopped on the way out.

    python -m province.demo [--speed 60] [--feeds 8] [--no-console]

Where the halls are (``prepare``): each demo feed is a county (区县) of a city, its hall
``PREFIX-city`` the county's 政务服务中心 and its two others branches; the feeds are shared
out between the cities (``CITIES``) in order. The config (``province.toml``) places and
names them (their zones and items too) and maps the person at this terminal (``os_user``)
to the roster: the consoles sign them in by themselves. The NATS users
(``province.access``): ``hallwatch`` for the gateways and shards, ``province`` (every
hall) and the first city's (its halls only), each with its ``USER:PASSWORD`` file under
``auth/`` (0600), which its processes get as ``--nats-auth-file`` (no password on a
command line: ``ps`` shows those to everyone); new passwords every run.

Imports: province.local, province.access, province.places, feeds.demo.city, the standard
library.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from feeds.demo.city import city, display_names
from province.access import User, authorization
from province.local import LocalCluster, free_port, stop_processes
from province.places import Scope

ROOT = Path(__file__).resolve().parent.parent
#: Halls per demo feed (``demo-feed --halls``): PREFIX-city, PREFIX-county-a, -county-b.
HALLS_PER_FEED: Final = 3
#: What each hall of a feed is in its county, in the feed's order.
BRANCHES: Final = ("政务服务中心", "城东分中心", "城西分中心")
#: The NATS user of the gateways and shards (no limits).
SERVICE: Final = "hallwatch"


@dataclass(frozen=True, slots=True)
class City:
    id: str
    name: str
    counties: tuple[tuple[str, str], ...]
    """(id, name) of each county, in the order the feeds fill them."""


#: Three cities of Shandong (the seeds' Anqiu and Luozhuang are in the first two).
CITIES: Final = (
    City("weifang", "潍坊市", (("kuiwen", "奎文区"), ("anqiu", "安丘市"), ("qingzhou", "青州市"),
         ("shouguang", "寿光市"), ("zhucheng", "诸城市"), ("gaomi", "高密市"),
         ("changle", "昌乐县"), ("linqu", "临朐县"))),
    City("linyi", "临沂市", (("lanshan", "兰山区"), ("luozhuang", "罗庄区"), ("hedong", "河东区"),
         ("yinan", "沂南县"), ("tancheng", "郯城县"), ("yishui", "沂水县"),
         ("lanling", "兰陵县"), ("pingyi", "平邑县"))),
    City("jinan", "济南市", (("lixia", "历下区"), ("zhangqiu", "章丘区"), ("licheng", "历城区"),
         ("shizhong", "市中区"), ("huaiyin", "槐荫区"), ("tianqiao", "天桥区"),
         ("changqing", "长清区"), ("pingyin", "平阴县"))),
)  # fmt: skip
#: One county per feed: no more feeds than the cities have counties.
MAX_FEEDS: Final = len(CITIES) * min(len(c.counties) for c in CITIES)


def feed_prefix(i: int) -> str:
    """The i-th feed's ``--hall-prefix``."""
    return f"h{i}"


def feed_places(feeds: int) -> list[tuple[City, str, str]]:
    """Each feed's city and county (id, name): the feeds shared out between the cities in
    order (8 feeds: 3, 3, 2), each feed the next county of its city."""
    out: list[tuple[City, str, str]] = []
    for i in range(feeds):
        where = CITIES[i * len(CITIES) // feeds]
        county, name = where.counties[sum(1 for c, _, _ in out if c is where)]
        out.append((where, county, name))
    return out


def _s(text: str) -> str:
    """A TOML basic string (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def _names(names: dict[str, str]) -> str:
    """``{"id" = {name = "…"}, …}``: zones or items by id, with their names."""
    return "{" + ", ".join(f"{_s(k)} = {{name = {_s(v)}}}" for k, v in names.items()) + "}"


def demo_config(feeds: int, os_user: str) -> str:
    """The province's config (TOML) for ``feeds`` demo feeds: every hall placed (city,
    county) and named, with its zones' and items' names, the cities and counties named,
    and the departments; the person at this terminal (OS account ``os_user``) in the
    roster."""
    profiles = city(HALLS_PER_FEED)
    names = display_names(profiles)
    lines = ["# make cluster-demo (province/demo.py): the demo halls placed in cities and "
             "counties", ""]  # fmt: skip
    placed = feed_places(feeds)
    for where in dict.fromkeys(c for c, _, _ in placed):  # the cities the feeds are in
        counties = {county: name for c, county, name in placed if c is where}
        lines += [f"[places.{where.id}]", f"name = {_s(where.name)}",
                  f"counties = {{{', '.join(f'{k} = {_s(v)}' for k, v in counties.items())}}}",
                  ""]  # fmt: skip
    for i, (where, county, county_name) in enumerate(placed):
        for profile, branch in zip(profiles, BRANCHES, strict=True):
            lines += [
                f"[halls.{feed_prefix(i)}-{profile.hall}]",
                f"name = {_s(county_name + branch)}",
                f"city = {_s(where.id)}         # {where.name}",
                f"county = {_s(county)}",
                f"zones = {_names(names['zones'][profile.hall])}",
                f"items = {_names(names['items'][profile.hall])}",
                "",
            ]
    lines += ["[depts]", *(f"{_s(k)} = {_s(v)}" for k, v in names["depts"].items()), ""]
    lines += ["[duty.people.demo]", f"name = {_s('演示值班员')}", f"os_user = {_s(os_user)}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Province:
    """What ``prepare`` wrote: the config, the NATS users, their ``USER:PASSWORD`` files."""

    config: Path
    users: tuple[User, ...]
    """The service user, the province's, the first city's."""
    auth: dict[str, Path]
    """A user's name → its ``--nats-auth-file``."""

    @property
    def service(self) -> User:
        return self.users[0]

    @property
    def city(self) -> User:
        return self.users[2]


def _secret(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file only its owner may read (``read_token`` wants 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def prepare(root: Path, feeds: int, os_user: str | None = None) -> Province:
    """Write the province's config and its users' auth files under ``root``."""
    config = root / "province.toml"
    config.write_text(demo_config(feeds, os_user or getpass.getuser()), encoding="utf-8")
    first = CITIES[0].id
    users = (
        User(SERVICE, secrets.token_hex(16), None),
        User("province", secrets.token_hex(16), Scope()),
        User(first, secrets.token_hex(16), Scope((first,))),
    )
    folder = root / "auth"
    folder.mkdir(mode=0o700)
    auth = {}
    for user in users:
        auth[user.name] = folder / f"{user.name}.auth"
        _secret(auth[user.name], f"{user.name}:{user.password}\n".encode())
    return Province(config, users, auth)


def _run(*args: str, log: Path, stdout: int | None = None) -> subprocess.Popen[str]:
    with log.open("a") as err:
        return subprocess.Popen(
            [sys.executable, "run.py", *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,  # the terminal's keys are the console's
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


def _console(root: Path, nats: str, province: Province, user: str) -> list[str]:
    """The command line of ``user``'s console over the cluster."""
    return [sys.executable, str(ROOT / "run.py"), "console", "--nats", nats,
            "--nats-auth-file", str(province.auth[user]), "--config", str(province.config),
            "--data-dir", str(root / f"console-{user}")]  # fmt: skip


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (or the terminal gone) stops it as Ctrl-C does


def _feeds(text: str) -> int:
    n = int(text)
    if not 1 <= n <= MAX_FEEDS:
        raise argparse.ArgumentTypeError(f"1 to {MAX_FEEDS} (a county each)")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(
        description="a local province: NATS with users per level, feeds, gateways, shards, "
        "and the province's console"
    )
    parser.add_argument("--speed", default="60", help="demo speed (default 60), or max")
    parser.add_argument("--feeds", type=_feeds, default=8,
                        help="demo feeds of three halls, a county each (default 8)")  # fmt: skip
    parser.add_argument("--no-console", action="store_true",
                        help="no console here: run headless until Ctrl-C")  # fmt: skip
    args = parser.parse_args()
    with_console = not args.no_console and sys.stdin.isatty() and sys.stdout.isatty()
    if not args.no_console and not with_console:
        print("not a terminal: no console here (as --no-console)")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)  # (nats-server takes SIGHUP as "reload")
    root = Path(tempfile.mkdtemp(prefix="hallwatch-province-"))
    province = prepare(root, args.feeds)
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats", authorization=authorization(province.users))
    try:
        cluster.start()
        print(f"folder   {root}\nnats     {cluster.nats_arg}\nconfig   {province.config}")
        nats = ["--nats", cluster.nats_arg, "--nats-auth-file",
                str(province.auth[province.service.name]), "--partitions", "8",
                "--lease-seconds", "3"]  # fmt: skip
        for k in range(3):
            port = free_port()
            procs.append(
                _run(
                    "serve",
                    *nats,
                    "--config",
                    str(province.config),
                    "--metrics-port",
                    str(port),
                    "--log-file",
                    str(root / f"shard{k}.log"),
                    log=root / "stderr",
                )
            )
            print(f"shard{k}   http://127.0.0.1:{port}/metrics   pid {procs[-1].pid}")
        started = []
        for i in range(args.feeds):
            p = _run(
                "demo-feed",
                "--port",
                "0",
                "--speed",
                args.speed,
                "--seed",
                str(i + 1),
                "--halls",
                str(HALLS_PER_FEED),
                "--hall-prefix",
                feed_prefix(i),
                log=root / "stderr",
                stdout=subprocess.PIPE,
            )
            procs.append(p)
            started.append(p)
        feeds = []
        for i, p in enumerate(started):  # (started together: each simulates its day first)
            assert p.stdout is not None
            feeds += ["--feed", f"f{i}={p.stdout.readline().strip()}"]
        key = root / "key"
        key.mkdir(mode=0o700)
        _secret(key / "pseudonym.key", os.urandom(32))
        for g in range(2):
            procs.append(
                _run(
                    "gateway",
                    *feeds,
                    *nats,
                    "--data-dir",
                    str(key),
                    "--log-file",
                    str(root / f"gateway{g}.log"),
                    log=root / "stderr",
                )
            )
            print(f"gateway{g} pid {procs[-1].pid}")
        for node in cluster.nodes:
            pid = node.process.pid if node.process else "-"
            print(f"{node.name}       {node.url}   pid {pid}")
        places = feed_places(args.feeds)
        for where in CITIES:
            counties = [f"{c} {name}" for w, c, name in places if w is where]
            if counties:
                print(f"{where.id:<8} {where.name} {len(counties) * HALLS_PER_FEED} halls: "
                      f"{', '.join(counties)}")  # fmt: skip
        city = province.city.name
        print(f"\n{city}'s console (its halls only), in another terminal:\n"
              f"  {shlex.join(_console(root, cluster.nats_arg, province, city))}")  # fmt: skip
        whole = _console(root, cluster.nats_arg, province, "province")
        if not with_console:
            print(f"The province's console:\n  {shlex.join(whole)}\nCtrl-C stops everything.",
                  flush=True)  # fmt: skip
            while True:
                time.sleep(1)
        print("\nEnter opens the province's console here; q in it stops everything "
              "(Ctrl-C now, too).")  # fmt: skip
        input()
        # In the foreground, on this terminal: when it ends (q), everything ends.
        console = subprocess.Popen(whole, cwd=ROOT, text=True)
        procs.append(console)
        console.wait()
    except (KeyboardInterrupt, EOFError):
        pass
    finally:
        # A second Ctrl-C, or the terminal closed (SIGHUP) while stopping, would leave the
        # rest running: nats-server takes SIGHUP as "reload", not as a stop.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        print("stopping the province …", flush=True)
        stop_processes(procs)
        cluster.stop()


if __name__ == "__main__":
    main()
