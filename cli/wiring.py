"""How the commands put the pipeline together: sources, journal, alert store, snapshots,
the /metrics endpoint, the console, and running until a signal.

Every function takes what it needs as arguments (never the whole ``argparse``
namespace), so each command passes exactly the options it declared.

Imports: feeds, alerts, metrics (exposition), runtime; console only inside
``run_console`` and ``run_province_console`` (the headless commands never load Textual),
province (and nats, the optional ``cluster`` extra) only inside the latter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import shutil
import signal
import ssl
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from alerts.duty import Roster
from alerts.names import Names
from alerts.store import AlertStore
from feeds.client import WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.privacy import Pseudonymizer, ensure_data_dir
from feeds.tls import TLSConfigError, client_context, server_context
from runtime.build import build_pipeline
from runtime.config import Config, default_data_dir, load_config, read_token
from runtime.datadir import DataDirLock
from runtime.desk import Desk, Session
from runtime.operators import FILE_NAME, Operators
from runtime.pipeline import Pipeline
from runtime.signin import SignIn, SignInError
from runtime.snapshot import Snapshots, config_digest
from runtime.storage import open_alert_store, starting

#: Who the demo signs in when ``--operator`` does not say.
DEMO_OPERATOR = "演示值班员"


def os_account() -> str:
    """The OS account this process runs as (mapped to a person by ``os_user``)."""
    return getpass.getuser()


def operators_path(config_path: Path | None, cfg: Config, data: Path | None) -> Path:
    """The operators file: ``[duty] operators_file`` (relative to the config), else
    ``<data dir>/operators``."""
    named = cfg.duty.operators_file
    if named is not None:
        base = config_path.parent if config_path is not None else Path.cwd()
        return base / named
    return data_dir(data) / FILE_NAME


def operators(config_path: Path | None, cfg: Config, data: Path | None) -> Operators:
    """The operators file, read; refused (``ConfigError``) if others can read it."""
    return Operators.load(operators_path(config_path, cfg, data))


def console_sign_in(roster: Roster, known: Operators, operator: str | None) -> SignIn:
    """The console's gate: the OS account's person signs in by itself; ``--operator``
    naming anyone else is asked for their password at start.

    Raises:
        SignInError: ``--operator`` names nobody of the roster or the operators file, or
            someone else than the OS account's person who has no password.
    """
    mapped = roster.person_of_os_user(os_account())
    auto = Session(mapped, "os_account") if mapped is not None else None
    gate = SignIn(roster, known, auto=auto)
    if operator is not None:
        person = gate.person(operator)
        if person is None:
            raise SignInError(
                f"--operator {operator}: not a person of the roster ([duty.people]) or the "
                f"operators file (hallwatch operator add {operator})"
            )
        if person != mapped:
            if person not in known:
                raise SignInError(
                    f"--operator {operator}: not your OS account's person, and no password "
                    f"is set: hallwatch operator add {person} (or os_user in [duty.people])"
                )
            gate.auto, gate.ask = None, person
    return gate


def demo_sign_in(name: str | None) -> SignIn:
    """The demo's gate: its operator signs in by itself (a sandbox: its own store)."""
    return SignIn(Roster(), auto=Session(name or DEMO_OPERATOR, "demo"))


def data_dir(path: Path | None) -> Path:
    """``--data-dir`` or the per-user default (not created)."""
    return path or default_data_dir()


def config(path: Path | None) -> Config:
    """``--config`` loaded (errors name the file, line and field), or the defaults."""
    return load_config(path) if path is not None else Config()


def log_path(data: Path | None) -> Path:
    """The console's log file: consoles never log to the terminal they draw on."""
    return data_dir(data) / "hallwatch.log"


def server_tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The server TLS context of ``--tls-cert``/``--tls-key`` (both or neither), or None."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise TLSConfigError("--tls-cert and --tls-key go together")
    return server_context(cert, key)


def open_store(data: Path | None) -> AlertStore:
    """The alert store of a data dir (made 0700 if new), checked before it is used."""
    with starting(data_dir(data)):
        folder = ensure_data_dir(data_dir(data))
    return open_alert_store(folder / "alerts.db")


def pipeline(
    feeds: Sequence[tuple[str, str]],
    *,
    config_path: Path | None,
    data: Path | None,
    token_file: Path | None,
    ca_file: Path | None,
    demo: bool = False,
    names: Names | None = None,
) -> Pipeline:
    """The live pipeline of ``console``, ``serve`` and the demo on ``feeds`` (name, URL):
    WebSocket sources, the data dir's journal, alert store and snapshots.

    ``demo``: each demo starts a fresh day; its alerts and journal go apart under
    ``<data dir>/demo``, made anew, never mixed into (or recovered from, or reported with)
    the real halls' data. ``names``: display names instead of the config's (the demo's).
    """
    cfg = config(config_path)
    token = read_token(token_file) if token_file is not None else None
    with starting(data_dir(data)):  # read-only, not ours: the file and what to do (exit 2)
        root = ensure_data_dir(data_dir(data))
        lock = DataDirLock(ensure_data_dir(root / "demo") if demo else root)
        lock.acquire()  # before anything is written: one writer per data dir
        pseudonymize = Pseudonymizer.from_data_dir(root)
    cfg = cfg.pseudonymized(pseudonymize)  # registered agents: as the decoder sees them
    tls = client_context(ca_file) if any(u.startswith("wss:") for _, u in feeds) else None
    sources = [
        WebSocketFeed(url, FrameDecoder(pseudonymize), name=name, token=token, ssl_context=tls)
        for name, url in feeds
    ]
    store_path = root / "alerts.db"
    journal_dir = root / "journal"
    snapshot = root / "state.snapshot"
    if demo:
        store_path = ensure_data_dir(root / "demo") / "alerts.db"
        with starting(root):
            for old in (
                store_path,
                *(store_path.with_name(f"alerts.db{x}") for x in ("-wal", "-shm")),
            ):
                old.unlink(missing_ok=True)
        journal_dir = root / "demo" / "journal"
        shutil.rmtree(journal_dir, ignore_errors=True)
        snapshot = root / "demo" / "state.snapshot"
        snapshot.unlink(missing_ok=True)
    return build_pipeline(
        cfg,
        sources,
        store=open_alert_store(store_path),  # damaged: the file and what to do (exit 2)
        journal=Journal(journal_dir),
        snapshots=Snapshots(snapshot, config_digest(config_path)),
        lock=lock,
        names=names,
    )


def start_metrics(
    sup: Pipeline,
    host: str,
    port: int,
    *,
    auth_file: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> Callable[[], None]:
    """Serve ``/metrics`` of ``sup`` in its own thread (port 0: none); returns its stop."""
    if not port:
        return lambda: None
    from metrics.exposition import serve_metrics

    user, _, password = read_token(auth_file).partition(":") if auth_file else ("", "", "")
    _, bound, stop = serve_metrics(
        lambda: sup.view.city,
        host,
        port,
        basic_auth=(user, password) if auth_file else None,
        ssl_context=server_tls(tls_cert, tls_key),
    )
    structlog.get_logger("hallwatch").info("metrics_listening", host=host, port=bound)
    return stop


def start_live_metrics(sup: Pipeline, args: argparse.Namespace) -> Callable[[], None]:
    """``start_metrics`` as ``options.add_live`` asks (``serve``, ``console``): host, port,
    basic auth, TLS; returns its stop."""
    return start_metrics(
        sup,
        args.metrics_host,
        args.metrics_port,
        auth_file=args.metrics_auth_file,
        tls_cert=args.metrics_tls_cert,
        tls_key=args.metrics_tls_key,
    )


async def run_console(desk: Desk, **app_args: Any) -> None:
    """The Textual console on ``desk`` (and its pipeline) until the user quits; whoever
    is still signed in then is signed out (recorded)."""
    from console.app import HallwatchApp

    app = HallwatchApp(desk, **app_args)
    await app.run_async()
    app.desk.sign_out("console closed")  # app.desk: a replay seek back swaps the desk


async def run_province_console(
    urls: Sequence[str], auth: tuple[str, str] | None, *, roster: Roster, **app_args: Any
) -> str | None:
    """The console over the province's NATS cluster (``console.province``) until the user
    quits: the halls the credentials (``auth``: ``--nats-auth-file``'s, or in ``urls``) see,
    a hall's screens from its shard, actions as commands. Returns why the cluster refused
    it (said, exit 2), or None."""
    from console.province import ProvinceApp
    from province.access import AccessRefused
    from province.watch import RemoteDesk, open_watch

    try:
        watch = await open_watch(urls, f"hallwatch-console {getpass.getuser()}", auth)
    except AccessRefused as error:
        return str(error)
    desk = RemoteDesk(watch, roster=roster)
    try:
        app = ProvinceApp(desk, watch, watch.detail, **app_args)
        await app.run_async()
        app.desk.sign_out("console closed")
    finally:
        await watch.close()
    return None


def interrupt_on_sigterm() -> None:
    """From now on SIGTERM (systemd's stop) raises ``KeyboardInterrupt``, as Ctrl-C does:
    a stop that comes before the event loop runs — a data dir taken, a journal replayed,
    a key read — ends as cleanly as one during the run (``run_until_signal``), where the
    command catches it, instead of killing the process (exit -15, nothing closed)."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_until_signal(main: Callable[[], Awaitable[Any]]) -> None:
    """Run ``main()`` until it ends or SIGTERM/SIGINT arrives; then cancel it cleanly.
    A stop before the loop runs is ``interrupt_on_sigterm``'s."""

    async def runner() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())
