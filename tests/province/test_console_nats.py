"""``console --nats``: consoles that see the province by their credentials, and actions
as commands on the stream.

One province on loopback for the module: a NATS node whose users are a service user (the
gateway and the shards), the province's, Wenzhou's (a city) and nobody else; two shards
(``serve --nats``), one partition each, with a config that places two Wenzhou halls
(county Lucheng and Ouhai) and two Weifang halls; a gateway over two demo feeds (one per
city, one per partition: each city's halls are on their own shard) of a whole day at
once. Then:

- a console with Wenzhou's credentials sees Wenzhou's halls and no other — the
  server refuses it Weifang's subjects outright, and a shard does not answer a Weifang
  hall named under Wenzhou — while the province's sees all four, each hall's screens
  from the shard that runs it;
- on the Wenzhou console's screen (Textual, Pilot) the city opens into its counties, a
  county into its halls, and a hall into its own overview, fetched from the shard;
- a console without credentials is refused and says so (exit 2, no traceback);
- an acknowledgement from the console reaches the shard, is carried out once (sent twice
  under one id), and is in the alerts stream with the operator and the hall time; and a
  replay of the partition from the stream's start gives that alert the same transitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js import api

from console.province import ProvinceApp, ProvinceTable
from console.widgets import Headline
from province.access import User, authorization
from province.cluster import connect, setup
from province.commands import Command, Outcome, decode_command, encode
from province.local import LocalCluster, free_port
from province.outbox import Transition
from province.partition import Partition
from province.places import Scope, command_subject
from province.views import HallDetail
from province.watch import ProvinceWatch, RemoteDesk, open_watch
from province.wire import OPS_SUBJECTS, PARTITIONS_KEY, STREAM, SUBJECTS, ops_subject
from runtime.build import build_pipeline
from runtime.config import load_config
from runtime.snapshot import config_digest
from tests.console.test_app import shown
from tests.province.procs import (
    ROOT,
    alert_transitions,
    demo_feed,
    key_dir,
    owned,
    python,
    scrape,
    stop,
    stream_bodies,
    until,
)

pytestmark = pytest.mark.timeout(120)

#: Two shards, a partition each: feed ``wz`` is in partition 0, ``wf`` in 1 (CRC-32).
PARTITIONS = 2
USERS = (
    User("svc", "svc-secret", None),
    User("prov", "prov-secret", Scope()),
    User("wenzhou", "wz-secret", Scope(("wenzhou",))),
)
#: Demo halls (``--hall-prefix``): PREFIX-city and PREFIX-county-a.
WENZHOU = {"wz-city": ("wenzhou", "lucheng"), "wz-county-a": ("wenzhou", "ouhai")}
WEIFANG = {"wf-city": ("weifang", "kuiwen"), "wf-county-a": ("weifang", "anqiu")}
CONFIG = "\n".join(
    f'[halls.{hall}]\ncity = "{city}"\ncounty = "{county}"\n'
    for hall, (city, county) in {**WENZHOU, **WEIFANG}.items()
)


@dataclass
class Province:
    cluster: LocalCluster
    config: Path
    root: Path
    ports: list[int] = field(default_factory=list)
    """The shards' /metrics ports."""

    def url(self, user: str | None) -> str:
        """The node's URL with ``user``'s credentials (None: without any)."""
        url = self.cluster.nodes[0].url
        if user is None:
            return url
        password = next(u.password for u in USERS if u.name == user)
        return url.replace("nats://", f"nats://{user}:{password}@")


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    root = tmp_path_factory.mktemp("province")
    config = root / "province.toml"
    config.write_text(CONFIG)
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats", size=1, authorization=authorization(USERS))
    with cluster:
        here = Province(cluster, config, root)
        try:
            nats_args = ["--nats", here.url("svc"), "--partitions", str(PARTITIONS),
                         "--lease-seconds", "2"]  # fmt: skip
            for k in range(2):
                here.ports.append(free_port())
                procs.append(python("serve", *nats_args, "--config", str(config),
                                    "--metrics-port", str(here.ports[-1]),
                                    "--log-file", str(root / f"shard{k}.log")))  # fmt: skip

            # The shards run a partition each before any feed comes: they emit every
            # transition as it happens (none is left to a catch-up).
            async def one_each() -> bool:
                held = [owned(scrape(port) or "") for port in here.ports]
                return sorted(p for h in held for p in h) == [0, 1] and all(held)

            asyncio.run(until(one_each, 30, "the shards run a partition each"))
            feeds = []
            for prefix in ("wz", "wf"):
                proc, url = demo_feed("--speed", "max", "--date", "2025-11-24", "--halls", "2",
                                      "--hall-prefix", prefix, "--seed", "3")  # fmt: skip
                procs.append(proc)
                feeds += ["--feed", f"{prefix}={url}"]
            procs.append(python("gateway", *feeds, *nats_args, "--data-dir",
                                str(key_dir(root / "gateway")), "--log-file",
                                str(root / "gateway.log")))  # fmt: skip
            yield here
        finally:
            stop(*procs)


@contextlib.asynccontextmanager
async def watching(province: Province, user: str) -> AsyncIterator[ProvinceWatch]:
    watch = await open_watch([province.url(user)], f"test-{user}")
    try:
        yield watch
    finally:
        await watch.close()


async def test_city_credentials_see_that_city_and_no_other(province: Province) -> None:
    async with watching(province, "wenzhou") as city, watching(province, "prov") as whole:
        assert city.scopes == (Scope(("wenzhou",)),) and whole.scopes == (Scope(),)

        async def everything_seen() -> bool:
            return set(whole.summaries) == {*WENZHOU, *WEIFANG} and set(city.summaries) == {
                *WENZHOU
            }

        await until(everything_seen, 30, "the province's halls, and Wenzhou's")
        for hall, (c, county) in WENZHOU.items():
            assert (city.summaries[hall].city, city.summaries[hall].county) == (c, county)
        # The server itself keeps Weifang from Wenzhou's user: not a filter of ours.
        errors: list[Exception] = []

        async def error_cb(error: Exception) -> None:
            errors.append(error)

        nc = await nats.connect(province.url("wenzhou"), inbox_prefix="_INBOX_wenzhou",
                                error_cb=error_cb, allow_reconnect=False)  # fmt: skip
        try:
            await nc.subscribe("hw.view.weifang.>")
            await nc.subscribe("hw.view.>")
            await nc.flush()

            async def refused_twice() -> bool:
                return len(errors) >= 2

            await until(refused_twice, 5, "the server refuses the subscriptions")
            assert all("permissions violation for subscription" in str(e) for e in errors)
        finally:
            await nc.close()
        # A Weifang hall named under Wenzhou's own prefix: its shard does not answer.
        assert await city.detail("wf-city") is None
        spoof = await nats.connect(province.url("wenzhou"), inbox_prefix="_INBOX_wenzhou")
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await spoof.request("hw.hall.wenzhou.lucheng.wf-city", b"", timeout=1.5)
        finally:
            await spoof.close()
        # Each hall's screens from the shard that runs it: the two cities' halls are on
        # two shards.
        for watch, hall in ((city, "wz-city"), (whole, "wf-city"), (whole, "wz-county-a")):
            detail = await watch.detail(hall)
            assert detail is not None and detail.hall.hall == hall
            assert detail.partition == whole.summaries[hall].partition
        runs = [owned(scrape(port) or "") for port in province.ports]
        shard_of = {h: next(k for k, r in enumerate(runs) if s.partition in r)
                    for h, s in whole.summaries.items()}  # fmt: skip
        assert shard_of["wz-city"] == shard_of["wz-county-a"] != shard_of["wf-city"]
        assert whole.summaries["wf-city"].county == "kuiwen"


async def test_the_city_console_opens_its_city_counties_and_halls(province: Province) -> None:
    async with watching(province, "wenzhou") as watch:
        desk = RemoteDesk(watch)
        app = ProvinceApp(desk, watch, watch.detail, lang="en", refresh_hz=20)
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.query_one(ProvinceTable)

            def state() -> str:
                return console_state(app, desk, province)

            async def city_row() -> bool:
                await pilot.pause()
                return app.screen_name == "province" and table.row_keys == ["c/wenzhou"]

            await until(city_row, 30, "Wenzhou's row")
            assert "wenzhou" in shown(app.query_one(Headline))
            assert "2 halls" in shown(app.query_one(Headline))
            await pilot.press("enter")  # the city opens into its counties
            await pilot.pause()
            assert table.row_keys == ["c/wenzhou", "k/wenzhou/lucheng", "k/wenzhou/ouhai"]
            await pilot.press("down", "enter")  # Lucheng opens into its hall
            await pilot.pause()
            assert table.row_keys[2] == "h/wz-city"
            await pilot.press("down", "enter")  # the hall's overview, from its shard

            async def overview() -> bool:
                await pilot.pause()
                return app.screen_name == "overview" and "wz-city" in desk.pipeline.view.city.halls

            await until(overview, 20, "the hall's own screen", state)
            assert "wz-city" in shown(app.query_one(Headline))
            await pilot.press("w")  # its windows, then the next hall's (by place)
            await pilot.press("right_square_bracket")

            async def next_hall() -> bool:
                await pilot.pause()
                return app.screen_name == "windows" and list(desk.pipeline.view.city.halls) == [
                    "wz-county-a"
                ]

            await until(next_hall, 20, "the next hall's windows", state)
            assert app.hall == "wz-county-a"
            await pilot.press("v")  # back to the province
            await pilot.pause()
            assert app.screen_name == "province" and table.row_keys[:3] == [
                "c/wenzhou", "k/wenzhou/lucheng", "h/wz-city",
            ]  # fmt: skip
            assert table.cursor_key == "h/wz-city"  # where it was


def console_state(app: ProvinceApp, desk: RemoteDesk, province: Province) -> str:
    """Where a console stood (a failed wait says it): the hall and screen, what the desk
    shows, what was said, and the shards' partition changes."""
    said = [str(n.message) for n in app._notifications]
    moves = [line.strip() for log in sorted(province.root.glob("shard*.log"))
             for line in log.read_text().splitlines() if '"partition_' in line]  # fmt: skip
    stood = (f"hall {app.hall}, screen {app.screen_name}, fetching {app._fetching}, shown "
             f"{list(desk.pipeline.view.city.halls)}, said {said}")  # fmt: skip
    return "\n".join([stood, *moves])


def test_a_console_without_credentials_is_refused_and_says_so(province: Province) -> None:
    command = [sys.executable, "run.py", "console", "--nats", province.url(None),
               "--data-dir", str(province.root / "console")]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2
    assert "refused the console (no credentials: authorization violation)" in done.stderr
    assert "Traceback" not in done.stderr and "--nats-auth-file" in done.stderr


async def test_an_ack_reaches_the_shard_once_and_the_alerts_stream_with_who_and_when(
    province: Province,
) -> None:
    async with watching(province, "wenzhou") as watch:
        desk = RemoteDesk(watch, operator="zhang", method="password")
        answers: list[tuple[Command, object]] = []
        desk.answered = lambda command, outcome: answers.append((command, outcome))

        # The whole day is in (``--speed max``): the hall clock stands at its last event.
        async def day_over() -> object:
            detail = await watch.detail("wz-city")
            firing = [a for a in detail.alerts if a.state == "firing"] if detail else []
            later = await watch.detail("wz-city")
            if detail and later and firing and later.hall.now_ms == detail.hall.now_ms:
                return detail
            return None

        detail = await until(day_over, 60, "a finished day with a firing alert")
        desk.show(detail)  # type: ignore[arg-type]
        alert = next(a for a in desk.pipeline.view.alerts if a.state == "firing")
        desk.acknowledge(alert.id, "on my way")
        await desk.settled()
        ((command, outcome),) = answers
        assert outcome.ok and outcome.error is None, outcome  # type: ignore[attr-defined]
        hall_time = desk.pipeline.view.city.halls["wz-city"].now_ms
        assert command.at_ms == hall_time and outcome.at_ms == hall_time  # type: ignore[attr-defined]
        # Sent again under the same id (an answer lost): carried out once.
        again = await watch.send(command)
        assert again == outcome

        key = (alert.rule, alert.hall, alert.scope, alert.fired_ms)

        async def acknowledged() -> list[Transition]:
            every = await alert_transitions([province.url("svc")])
            return [t for t in every if (t.rule, t.hall, t.scope, t.fired_ms) == key]

        async def in_stream() -> list[Transition] | None:
            mine = await acknowledged()
            return mine if any(t.what == "acknowledged" for t in mine) else None

        trail = await until(in_stream, 20, "the acknowledgement in the alerts stream")
        acks = [t for t in trail if t.what == "acknowledged"]
        assert [(t.actor, t.at_ms, t.note, t.state) for t in acks] == [
            ("zhang", hall_time, "on my way", "acknowledged"),
        ]  # fmt: skip
        # The events stream holds the command once, on its partition's subject.
        nc = await connect([province.url("svc")], "test")
        try:
            js = nc.jetstream()
            stored = await js.get_last_msg(STREAM, ops_subject(acks[0].partition))
            assert json.loads(stored.data)["id"] == command.id
            assert stored.seq == outcome.stream_seq  # type: ignore[attr-defined]
            commands = [decode_command(b) for b in await stream_bodies(
                [province.url("svc")], STREAM, OPS_SUBJECTS)]  # fmt: skip
            assert [c.console for c in commands if c.id == command.id] == ["wenzhou"]

            # A replay of the partition from the stream's start gives the alert the same
            # transitions: the command is met where it stands, carried out at its time.
            cfg = load_config(province.config)
            replay = Partition(acks[0].partition, lambda: build_pipeline(cfg, forward=False),
                               js=js, store=None,  # type: ignore[arg-type]  # (no checkpoint)
                               partitions=PARTITIONS, checkpoint_every_s=1e9,
                               config_digest=config_digest(province.config))  # fmt: skip
            replay.outbox.enabled = True  # every transition, not only the open alerts' history
            tasks = [asyncio.create_task(replay.pipeline.consume(replay)),
                     asyncio.create_task(replay.pipeline.publisher())]  # fmt: skip
            try:

                async def replayed() -> bool:
                    return replay.applied >= outcome.stream_seq and replay.caught_up  # type: ignore[attr-defined]

                await until(replayed, 30, "the partition replayed past the command")
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            again_trail = [t for t in replay.outbox.unsent
                           if (t.rule, t.hall, t.scope, t.fired_ms) == key]  # fmt: skip
            assert [(t.id, t.what, t.at_ms, t.actor) for t in again_trail] == [
                (t.id, t.what, t.at_ms, t.actor) for t in await acknowledged()
            ]
            assert replay.commands.done == 1
        finally:
            await nc.close()


async def test_a_console_sends_under_its_own_user_only(province: Province) -> None:
    # Wenzhou's credentials: a command under the province's user is refused by the server
    # itself; one that says it comes from the province's console is stamped Wenzhou's.
    async with watching(province, "wenzhou") as watch:

        async def seen() -> bool:
            return "wz-county-a" in watch.summaries

        await until(seen, 30, "Wenzhou's halls")
        errors: list[Exception] = []

        async def error_cb(error: Exception) -> None:
            errors.append(error)

        nc = await nats.connect(province.url("wenzhou"), inbox_prefix="_INBOX_wenzhou",
                                error_cb=error_cb, allow_reconnect=False)  # fmt: skip
        place = watch.place("wz-county-a")
        lying = Command(id=uuid.uuid4().hex, kind="handover", hall="wz-county-a",
                        operator="li", signed_in_by="password", at_ms=0, note="quiet day",
                        console="prov")  # fmt: skip
        try:
            with pytest.raises(nats.errors.TimeoutError):  # (nobody hears it)
                await nc.request(command_subject("prov", place, "wz-county-a"),
                                 encode(lying), timeout=1.5)  # fmt: skip

            async def refused() -> bool:
                return bool(errors)

            await until(refused, 5, "the server refuses the publish")
            assert "permissions violation for publish" in str(errors[0])
            assert "hw.cmd.prov.wenzhou.ouhai.wz-county-a" in str(errors[0])
        finally:
            await nc.close()
        outcome = await watch.send(lying)  # to its own user's subject, saying "prov"
        assert outcome.ok and outcome.report, outcome
        commands = [decode_command(b) for b in await stream_bodies(
            [province.url("svc")], STREAM, OPS_SUBJECTS)]  # fmt: skip
        assert [c.console for c in commands if c.id == lying.id] == ["wenzhou"]


async def test_a_shift_report_written_at_one_console_is_accepted_at_another(
    province: Province,
) -> None:
    # 交接班 over NATS: zhang hands wz-city over; the hall's partition keeps the report
    # and lists it as waiting; wang, the incoming director at another console, accepts it.
    async with watching(province, "wenzhou") as watch:
        outgoing = RemoteDesk(watch, operator="zhang", method="password")
        incoming = RemoteDesk(watch, operator="wang", method="password")
        answers: list[tuple[Command, Outcome]] = []
        for desk in (outgoing, incoming):
            desk.answered = lambda command, outcome: answers.append((command, outcome))

        async def shown() -> HallDetail | None:
            return await watch.detail("wz-city")

        outgoing.show(await until(shown, 30, "wz-city's screens"))
        outgoing.write_handover("wz-city", "W4's printer jams", incoming="wang")
        await outgoing.settled()
        ((_, written),) = answers
        assert written.ok and written.report and "W4's printer jams" in written.report

        async def waiting() -> HallDetail | None:
            detail = await watch.detail("wz-city")
            mine = [h for h in detail.handovers_unaccepted if h[2] == "zhang"] if detail else []
            return detail if mine else None

        detail = await until(waiting, 20, "the report waiting at the other console")
        incoming.show(detail)
        (number, hall, by, _) = next(h for h in detail.handovers_unaccepted if h[2] == "zhang")
        assert (hall, by) == ("wz-city", "zhang")
        incoming.accept_handover(number, "taking over")
        await incoming.settled()
        assert answers[-1][1].ok and answers[-1][1].error is None, answers[-1]

        async def accepted() -> bool:
            detail = await watch.detail("wz-city")
            return detail is not None and all(h[0] != number for h in detail.handovers_unaccepted)

        await until(accepted, 20, "the report no longer waiting")


async def test_a_stream_made_before_commands_gets_their_subject(tmp_path: Path) -> None:
    """And a cluster without users (no ``authorization``): a console sees the province."""
    with LocalCluster(tmp_path / "nats", size=1) as cluster:
        watch = await open_watch(cluster.urls, "test")
        assert watch.scopes == (Scope(),) and watch.user == ""
        await watch.close()
        nc = await connect(cluster.urls, "test")
        try:
            js = nc.jetstream()
            first = api.StreamConfig(name=STREAM, subjects=[SUBJECTS],
                                     metadata={PARTITIONS_KEY: "2"})  # fmt: skip
            await js.add_stream(first)  # as the first release made it
            await setup(nc, partitions=None, lease_s=2)
            info = await js.stream_info(STREAM)
            assert info.config.subjects == [SUBJECTS, OPS_SUBJECTS]
        finally:
            await nc.close()
