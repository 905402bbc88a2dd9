"""NATS credentials off the command line, and registered agents on shards.

- ``--nats-auth-file FILE`` (``USER:PASSWORD``, mode 0600) is one option of every NATS
  command (``cli.nats_options.add_nats``), read by one function
  (``province.access.read_credentials``): a gateway and a shard run on a cluster that
  wants a user, and neither's argv (``/proc/<pid>/cmdline``, what ``ps`` shows every
  user of the machine) holds the password; a missing, malformed or group-readable file is
  refused by every command with the file's name (exit 2, no traceback).
- Registered agents (代办员: seed 002 "全市組建152人的“五心”服務專業代辦(幫辦)隊伍", seed 003
  "区级共有26名帮办代办人员") take many tickets a day as their work; scalping (seed 004
  "对倒号、盗号…予以严厉打击") is one person taking more than ``max_tickets`` (3). The stream
  holds pseudonyms made with the gateways' key, so a shard matches its configured agents
  only with that key: with it, the agent's five tickets raise nothing and a citizen's
  four raise one alert; without it the shard refuses to start and says what to copy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feeds.protocol import TicketIssued
from feeds.server import FeedServer
from province.access import User, authorization, read_credentials
from province.local import LocalCluster, free_port
from province.outbox import Transition
from runtime.config import ConfigError
from tests.factories import H, ms
from tests.province.procs import (
    ROOT,
    alert_transitions,
    key_dir,
    owned,
    python,
    scrape,
    stopping,
    until,
)

pytestmark = pytest.mark.timeout(120)

SERVICE = User("svc", "s3cret-Not-In-ps-7f2a", None)
AGENT_ID = "370784198805050011"  # an agent's ID number, as the hall's system sends it
CITIZEN_ID = "370784199103030022"


def auth_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def tickets(person: str, n: int, prefix: str, minute: int) -> list[TicketIssued]:
    """``n`` tickets of one person, as the feed sends them: raw ``person`` (the server
    numbers them)."""
    return [TicketIssued(seq=1, ts=ms(minute + i), hall=H, ticket=f"{prefix}{i + 1}",
                         zone="biz", person=person) for i in range(n)]  # fmt: skip


def cmdline(pid: int) -> str:
    """What ``ps`` shows of a process: its argv."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_the_auth_file_is_one_line_user_password_and_only_the_owners(tmp_path: Path) -> None:
    good = auth_file(tmp_path / "svc.auth", "svc:pa:ss\n")
    assert read_credentials(good) == ("svc", "pa:ss")  # the password may hold a colon
    for name, text in (("no-colon", "svc"), ("no-user", ":pw"), ("no-password", "svc:"),
                       ("space", "s v:pw"), ("two-lines", "svc:pw\nmore:pw")):  # fmt: skip
        bad = auth_file(tmp_path / f"{name}.auth", text)
        with pytest.raises(ConfigError) as caught:
            read_credentials(bad)
        assert str(caught.value) == f"{bad}: expected one line USER:PASSWORD (--nats-auth-file)"
    shared = auth_file(tmp_path / "shared.auth", "svc:pw", mode=0o640)
    with pytest.raises(ConfigError, match=r"readable by others.*chmod 600"):
        read_credentials(shared)
    with pytest.raises(ConfigError, match="cannot read token file"):
        read_credentials(tmp_path / "missing.auth")


def test_every_nats_command_refuses_a_bad_auth_file_by_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "missing.auth"
    malformed = auth_file(tmp_path / "malformed.auth", "svc-without-a-password")
    shared = auth_file(tmp_path / "shared.auth", f"svc:{SERVICE.password}", mode=0o644)
    nats = ["--nats", "nats://127.0.0.1:9"]  # never reached: the file is read first
    runs = {
        ("gateway", missing): ["gateway", "--feed", "f=ws://127.0.0.1:9", "--data-dir",
                               str(tmp_path / "gw")],
        ("gateway", malformed): ["gateway", "--feed", "f=ws://127.0.0.1:9", "--data-dir",
                                 str(tmp_path / "gw")],
        ("gateway", shared): ["gateway", "--feed", "f=ws://127.0.0.1:9", "--data-dir",
                              str(tmp_path / "gw")],
        ("serve", malformed): ["serve"],
        ("archive", shared): ["archive", "--data-dir", str(tmp_path / "archive")],
        ("report", missing): ["report", "--day", "2025-11-24"],
        ("console", malformed): ["console", "--data-dir", str(tmp_path / "console")],
    }  # fmt: skip
    procs = {
        key: subprocess.Popen(
            [sys.executable, "run.py", *args, *nats, "--nats-auth-file", str(key[1])],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for key, args in runs.items()
    }  # fmt: skip
    for (command, path), proc in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (command, path.name, err)
        assert err.startswith(f"hallwatch: {path}: "), (command, err)
        assert "Traceback" not in err and SERVICE.password not in err
    assert not (tmp_path / "archive").exists()  # refused before anything was made


def test_a_shard_with_agents_and_no_key_says_what_to_copy_where(tmp_path: Path) -> None:
    config = tmp_path / "province.toml"
    config.write_text(f'[rules.scalping]\nagents = ["{AGENT_ID}"]\n', encoding="utf-8")
    empty = tmp_path / "shard"
    runs = {
        "no data dir": [],
        "no key": ["--data-dir", str(empty)],
    }
    procs = {
        why: subprocess.Popen(
            [sys.executable, "run.py", "serve", "--nats", "nats://127.0.0.1:9",
             "--config", str(config), *args],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for why, args in runs.items()
    }  # fmt: skip
    said = {}
    for why, proc in procs.items():
        _, said[why] = proc.communicate(timeout=60)
        assert proc.returncode == 2, said[why]
        assert "Traceback" not in said[why] and AGENT_ID not in said[why]
        assert said[why].startswith(
            f"hallwatch: {config}: [rules.scalping] agents are matched by pseudonym, made "
            "with the gateways' key: copy pseudonym.key from a gateway's --data-dir into "
            "this shard's"
        ), said[why]
    assert (
        said["no data dir"].rstrip().endswith("(give --data-dir DIR, and the key in it, mode 0600)")
    )
    assert f"{empty / 'pseudonym.key'} is missing" in said["no key"]
    assert not empty.exists()  # no key made, no data dir either


async def test_gateway_and_shard_by_auth_file_keep_the_password_off_ps_and_the_agent_unflagged(
    tmp_path: Path,
) -> None:
    secret = auth_file(tmp_path / "svc.auth", f"{SERVICE.name}:{SERVICE.password}\n")
    config = tmp_path / "province.toml"
    config.write_text(f'[rules.scalping]\nagents = ["{AGENT_ID}"]\n', encoding="utf-8")
    # The shard's data dir holds a copy of the gateways' key (procs.key_dir: the same
    # bytes every time), as docs/scale.md says to do.
    gateway_dir, shard_dir = key_dir(tmp_path / "gateway"), key_dir(tmp_path / "shard")
    server = FeedServer("lz-feed", [H])
    await server.start()
    port = free_port()
    cluster = LocalCluster(tmp_path / "nats", size=1, authorization=authorization([SERVICE]))
    try:
        with cluster, stopping([]) as procs:
            nats = ["--nats", cluster.nats_arg, "--nats-auth-file", str(secret),
                    "--partitions", "1", "--lease-seconds", "2"]  # fmt: skip
            shard = python("serve", *nats, "--config", str(config), "--data-dir", str(shard_dir),
                           "--metrics-port", str(port), "--log-file", str(tmp_path / "shard.log"),
                           log=tmp_path / "stderr")  # fmt: skip
            procs.append(shard)
            gateway = python("gateway", *nats, "--feed", f"lz={server.url}", "--data-dir",
                             str(gateway_dir), "--log-file", str(tmp_path / "gateway.log"),
                             log=tmp_path / "stderr")  # fmt: skip
            procs.append(gateway)

            async def running() -> bool:  # the cluster took the file's user: they work
                return owned(scrape(port) or "") == {0} and server.subscriber_count == 1

            await until(running, 60, "the shard runs the partition, the gateway the feed")
            for proc in (shard, gateway):  # what every user of the machine sees in ps
                line = cmdline(proc.pid)
                assert f"--nats-auth-file {secret}" in line and SERVICE.password not in line
            # The agent's five tickets, then a citizen's four (max_tickets 3).
            await server.publish(tickets(AGENT_ID, 5, "A", 0) + tickets(CITIZEN_ID, 4, "B", 5))
            urls = [u.replace("nats://", f"nats://{SERVICE.name}:{SERVICE.password}@")
                    for u in cluster.urls]  # (the test's own client)  # fmt: skip

            async def scalping() -> list[Transition]:
                seen = await alert_transitions(urls)
                return [t for t in seen if t.rule == "ticket_scalping"]

            # The partition applies the feed in order: the citizen's alert comes after the
            # agent's tickets were applied, and theirs raised none.
            alerts = await until(scalping, 60, "the citizen's scalping alert")
            assert [(t.scope, t.summary, t.state) for t in alerts] == [
                ("2025-11-24/B1", "one person took 4 tickets today (倒号?): B1, B2, B3, B4",
                 "firing"),
            ]  # fmt: skip
            for proc in (shard, gateway):
                assert proc.poll() is None
    finally:
        await server.stop()
    for log in ("shard.log", "gateway.log", "stderr"):  # the raw ids, the password: nowhere
        text = (tmp_path / log).read_text(encoding="utf-8")
        assert AGENT_ID not in text and CITIZEN_ID not in text and SERVICE.password not in text
    assert "Traceback" not in (tmp_path / "stderr").read_text(encoding="utf-8")
