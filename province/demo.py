"""``make cluster-demo``: a province on this machine, on loopback — three NATS nodes, eight
demo feeds of three halls (24 halls), two gateways, three shards — until Ctrl-C. Prints
each shard's /metrics URL; kill a shard, a gateway or a node (their pids are printed) and
watch the others take over (docs/scale.md). Everything goes under a fresh temporary
folder, printed too, and is stopped on the way out.

    python -m province.demo [--speed 60] [--feeds 8]

Imports: province.local, the standard library.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from province.local import LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, log: Path, stdout: int | None = None) -> subprocess.Popen[str]:
    with log.open("a") as err:
        return subprocess.Popen(
            [sys.executable, "run.py", *args],
            cwd=ROOT,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops it as Ctrl-C does


def main() -> None:
    parser = argparse.ArgumentParser(description="a local province: NATS, feeds, gateways, shards")
    parser.add_argument("--speed", default="60", help="demo speed (default 60), or max")
    parser.add_argument("--feeds", type=int, default=8, help="demo feeds of three halls")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hallwatch-province-"))
    procs: list[subprocess.Popen[str]] = []
    cluster = LocalCluster(root / "nats").start()
    print(f"folder   {root}\nnats     {cluster.nats_arg}")
    try:
        nats = ["--nats", cluster.nats_arg, "--partitions", "8", "--lease-seconds", "3"]
        for k in range(3):
            port = free_port()
            procs.append(
                _run(
                    "serve",
                    *nats,
                    "--metrics-port",
                    str(port),
                    "--log-file",
                    str(root / f"shard{k}.log"),
                    log=root / "stderr",
                )
            )
            print(f"shard{k}   http://127.0.0.1:{port}/metrics   pid {procs[-1].pid}")
        feeds = []
        for i in range(args.feeds):
            p = _run(
                "demo-feed",
                "--port",
                "0",
                "--speed",
                args.speed,
                "--seed",
                str(i + 1),
                "--hall-prefix",
                f"h{i}",
                log=root / "stderr",
                stdout=subprocess.PIPE,
            )
            procs.append(p)
            assert p.stdout is not None
            feeds += ["--feed", f"f{i}={p.stdout.readline().strip()}"]
        key = root / "key"
        key.mkdir(mode=0o700)
        (key / "pseudonym.key").write_bytes(os.urandom(32))
        (key / "pseudonym.key").chmod(0o600)
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
        print("Ctrl-C stops everything.")
        signal.signal(signal.SIGTERM, _interrupt)
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        cluster.stop()


if __name__ == "__main__":
    main()
