"""hallwatch: the one entry point. Argument parsing and wiring only.

python run.py                      the demo: embedded demo hall + console (= make demo)
python run.py console --feed URL   the console on live feeds
python run.py serve --feed URL     headless: ingest, alerts, journal, /metrics
python run.py demo-feed --port P   only the demo hall feed server (protocol v1)
python run.py staffing ...         Erlang C: windows needed for a waiting target
python run.py report --day DATE    daily (or --month YYYY-MM) report from the recordings
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from alerts.store import AlertStore, StoreError
from feeds.client import WebSocketFeed, feed_name
from feeds.decode import FrameDecoder
from feeds.journal import Journal
from feeds.privacy import Pseudonymizer, ensure_data_dir
from feeds.tls import TLSConfigError, client_context, server_context
from runtime import logs
from runtime.config import (
    Config,
    ConfigError,
    check_config,
    default_data_dir,
    load_config,
    read_token,
)
from runtime.recovery import recover
from runtime.snapshot import Snapshots, config_digest
from runtime.supervisor import Supervisor


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0 or 'max'")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _mmc(text: str) -> Any:
    from feeds.demo_mmc import MMC

    try:
        return MMC.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _feed(text: str) -> tuple[str, str]:
    """``[NAME=]URL`` → (name, url)."""
    name, sep, url = text.partition("=")
    if sep and not name.startswith(("ws:", "wss:")):
        return name, url
    return feed_name(text), text


def _add_live_options(p: argparse.ArgumentParser, *, feeds_required: bool) -> None:
    p.add_argument(
        "--feed",
        action="append",
        type=_feed,
        default=[],
        required=feeds_required,
        metavar="[NAME=]URL",
        help="a protocol-v1 feed (ws:// or wss://); repeat for several",
    )
    p.add_argument("--config", type=Path, help="TOML: halls, zones, thresholds")
    p.add_argument("--data-dir", type=Path, help="journal, key, database (default: per user)")
    p.add_argument("--token-file", type=Path, help="bearer token for the feeds (mode 0600)")
    p.add_argument("--ca-file", type=Path, help="wss:// trusts only this CA (default: system)")
    p.add_argument(
        "--recover-days",
        type=_positive,
        default=1,
        metavar="N",
        help="without a state snapshot, replay the journal's newest N days at start-up (default 1)",
    )
    p.add_argument("--metrics-host", default="127.0.0.1", help="default 127.0.0.1")
    p.add_argument("--metrics-port", type=int, default=0, help="0 = no /metrics endpoint")
    p.add_argument(
        "--metrics-auth-file", type=Path, help="USER:PASSWORD for /metrics basic auth (0600)"
    )
    p.add_argument("--metrics-tls-cert", type=Path, help="serve /metrics over HTTPS: PEM chain")
    p.add_argument("--metrics-tls-key", type=Path, help="the private key of --metrics-tls-cert")
    _add_operator(p)


def _add_tls_serving(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tls-cert", type=Path, help="serve wss:// with this PEM certificate chain")
    p.add_argument("--tls-key", type=Path, help="the private key of --tls-cert")


def _server_tls(cert: Path | None, key: Path | None) -> Any:
    """The server TLS context of ``--tls-cert``/``--tls-key`` (both or neither), or None."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise TLSConfigError("--tls-cert and --tls-key go together")
    return server_context(cert, key)


def _add_operator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--operator",
        default=None,
        metavar="NAME",
        help="who acts (acknowledge, resolve, silence, handover); default: the OS user",
    )


def _operator(args: argparse.Namespace) -> str:
    import getpass

    return getattr(args, "operator", None) or getpass.getuser()


def _add_demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--speed", type=_speed, default=60.0, help="hall time / real time, or max")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same day")
    p.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="service day (default: today, or the last day the halls opened)",
    )
    p.add_argument("--halls", type=_positive, default=3, help="halls in the demo city (default 3)")
    p.add_argument("--days", type=_positive, default=1, help="consecutive days to play (default 1)")
    p.add_argument(
        "--history",
        type=_non_negative,
        default=0,
        metavar="DAYS",
        help="also simulate DAYS days before --date and send them at once first "
        "(open cases, some late; people coming back)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="hallwatch — supervision console for government service halls. "
        "With no command: the demo (an embedded demo hall and the console).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="the embedded demo hall and the console (the default)")
    _add_demo_options(demo)
    # The console demo opens on a hall with a past: open cases (some late), people back.
    demo.set_defaults(history=5)
    demo.add_argument("--data-dir", type=Path, help="journal and key (default: per user)")
    demo.add_argument("--metrics-port", type=int, default=0, help="0 = no /metrics endpoint")
    demo.add_argument("--metrics-host", default="127.0.0.1")
    _add_operator(demo)
    console = sub.add_parser("console", help="the Textual console on live feeds")
    _add_live_options(console, feeds_required=False)
    console.add_argument(
        "--replay",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="open the console on recorded days instead of live feeds (space pauses, "
        ". and > step on, < steps back, + and - change the speed)",
    )
    console.add_argument(
        "--speed", type=_speed, default=60.0, help="replay: hall/real time, or max"
    )
    console.add_argument("--from", dest="start", metavar="TIME", help="replay: start here")
    console.add_argument("--until", metavar="TIME", help="replay: stop here")
    for p in (demo, console):
        p.add_argument(
            "--lang", choices=("zh", "en"), help="中文 or English (default: from the locale)"
        )
        p.add_argument(
            "--theme",
            help="colours: textual-light (or ansi-light) for a light terminal, ansi-dark for 16 "
            "colours (ctrl+p lists them all)",
        )
        p.add_argument(
            "--big-screen",
            action="store_true",
            help="the wall display: big figures, turning through the halls",
        )
    serve = sub.add_parser("serve", help="headless: ingest, alerts, journal and /metrics")
    _add_live_options(serve, feeds_required=True)
    serve.add_argument("--log-file", type=Path, help="JSON-line log file (default: stderr)")
    feed = sub.add_parser("demo-feed", help="only the demo hall feed server (protocol v1)")
    feed.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    feed.add_argument("--port", type=int, default=8765, help="0 = any free port")
    feed.add_argument("--token-file", type=Path, help="require this bearer token")
    _add_tls_serving(feed)
    _add_demo_options(feed)
    feed.add_argument(
        "--mmc",
        type=_mmc,
        metavar="LAMBDA,MU,C",
        help="instead of the city: one M/M/c hall (rates per minute, C windows, FCFS)",
    )
    _add_staffing(sub)
    _add_replay(sub)
    web = sub.add_parser(
        "web",
        help="the console in a browser (the hall's big screen): run.py web [--port P] "
        "[-- console ARGS | demo ARGS]",
    )
    web.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine)")
    web.add_argument("--port", type=int, default=8000, help="default 8000")
    web.add_argument(
        "app",
        nargs=argparse.REMAINDER,
        help="what each browser tab runs (after --): a console or demo command line; "
        "default: demo --big-screen",
    )
    _add_import_csv(sub)
    _add_alert_commands(sub)
    _add_report(sub)
    rotate = sub.add_parser(
        "rotate-key", help="new pseudonymization key (old pseudonyms unlinkable)"
    )
    rotate.add_argument("--data-dir", type=Path, help="where the key is (default: per user)")
    return parser


def _add_alert_commands(sub: Any) -> None:
    p = sub.add_parser("check-config", help="validate a config file (rules, roster, holidays)")
    p.add_argument("file", type=Path)
    p = sub.add_parser("handover", help="write the shift report (Markdown), or accept one")
    p.add_argument("--data-dir", type=Path, help="where the alert database is")
    p.add_argument("--config", type=Path, help="TOML with the duty roster")
    _add_operator(p)
    p.add_argument("--hall", help="the hall (needed when several are known)")
    p.add_argument("--notes", default="", help="the outgoing director's notes")
    p.add_argument("--incoming", help="who takes over (default: from the roster)")
    p.add_argument("--accept", type=int, metavar="ID", help="accept shift report ID instead")
    p = sub.add_parser("audit", help="the alert audit trail: verify the chain, export it")
    p.add_argument("action", choices=("verify", "export"))
    p.add_argument("--data-dir", type=Path, help="where the alert database is")
    p.add_argument("--out", type=Path, help="export: write here instead of stdout")


def _store(args: argparse.Namespace) -> AlertStore:
    data_dir = ensure_data_dir(args.data_dir or default_data_dir())
    return AlertStore(data_dir / "alerts.db")


def cmd_check_config(args: argparse.Namespace) -> int:
    for warning in check_config(args.file):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.file}: ok")
    return 0


def cmd_handover(args: argparse.Namespace) -> int:
    from alerts import commands

    config = load_config(args.config) if args.config else Config()
    store = _store(args)
    try:
        if args.accept is not None:
            print(commands.accept_handover(store, args.accept, _operator(args), args.notes))
        else:
            hid, report = commands.write_handover(
                store, config.duty, _operator(args), args.hall, args.notes, args.incoming
            )
            print(report)
            print(f"(stored as handover #{hid}; accept with: run.py handover --accept {hid})")
    except commands.CommandError as error:
        print(f"hallwatch handover: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from alerts import commands

    store = _store(args)
    try:
        if args.action == "verify":
            intact, text = commands.verify(store)
            print(text, file=sys.stdout if intact else sys.stderr)
            return 0 if intact else 1
        if args.out:
            with args.out.open("w", encoding="utf-8") as out:
                n = commands.export(store, out)
            print(f"{n} audit records written to {args.out}", file=sys.stderr)
        else:
            commands.export(store, sys.stdout)
        return 0
    finally:
        store.close()


def _add_staffing(sub: Any) -> None:
    p = sub.add_parser(
        "staffing",
        help="Erlang C: windows needed for an arrival rate, service time and waiting target",
    )
    p.add_argument("--arrivals-per-hour", type=float, required=True, metavar="X")
    p.add_argument("--mean-service-seconds", type=float, required=True, metavar="Y")
    p.add_argument("--target-wait-seconds", type=float, required=True, metavar="T")
    p.add_argument(
        "--service-level", type=float, required=True, metavar="P", help="share, e.g. 0.9"
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")


def cmd_staffing(args: argparse.Namespace) -> int:
    from metrics.staffing_report import plan_dict, render_json, render_text

    inputs = (
        args.arrivals_per_hour,
        args.mean_service_seconds,
        args.target_wait_seconds,
        args.service_level,
    )
    try:
        plan = plan_dict(*inputs)
    except ValueError as error:
        print(f"hallwatch staffing: {error}", file=sys.stderr)
        return 2
    print(render_json(plan) if args.json else render_text(plan, *inputs))
    return 0


def _supervisor(
    args: argparse.Namespace, feeds: list[tuple[str, str]], *, demo: bool = False
) -> Supervisor:
    config = load_config(args.config) if getattr(args, "config", None) else Config()
    data_dir = ensure_data_dir(args.data_dir or default_data_dir())
    token = read_token(args.token_file) if getattr(args, "token_file", None) else None
    pseudonymize = Pseudonymizer.from_data_dir(data_dir)
    ca_file = getattr(args, "ca_file", None)
    tls = client_context(ca_file) if any(u.startswith("wss:") for _, u in feeds) else None
    sources = [
        WebSocketFeed(url, FrameDecoder(pseudonymize), name=name, token=token, ssl_context=tls)
        for name, url in feeds
    ]
    calendar = config.work_calendar()
    store_path = data_dir / "alerts.db"
    journal_dir = data_dir / "journal"
    snapshot = data_dir / "state.snapshot"
    if demo:  # each demo starts a fresh day: its alerts and journal go apart, made anew,
        # never mixed into (or recovered from, or reported with) the real halls' data
        store_path = ensure_data_dir(data_dir / "demo") / "alerts.db"
        for old in (store_path, *(store_path.with_name(f"alerts.db{x}") for x in ("-wal", "-shm"))):
            old.unlink(missing_ok=True)
        journal_dir = data_dir / "demo" / "journal"
        shutil.rmtree(journal_dir, ignore_errors=True)
        snapshot = data_dir / "demo" / "state.snapshot"
        snapshot.unlink(missing_ok=True)
    store = AlertStore(store_path)
    return Supervisor(
        sources,
        settings=config.settings(calendar),
        wait_limits=config.wait_limits(),  # the figures' service level uses them too
        journal=Journal(journal_dir),
        alerts=config.alert_engine(store, calendar),
        store=store,
        roster=config.duty,
        operator=_operator(args),
        snapshots=Snapshots(snapshot, config_digest(getattr(args, "config", None))),
    )


def _start_metrics(args: argparse.Namespace, sup: Supervisor) -> Callable[[], None]:
    if not args.metrics_port:
        return lambda: None
    from metrics.exposition import serve_metrics

    auth_file = getattr(args, "metrics_auth_file", None)
    user, _, password = read_token(auth_file).partition(":") if auth_file else ("", "", "")
    _, port, stop = serve_metrics(
        lambda: sup.view.city,
        args.metrics_host,
        args.metrics_port,
        basic_auth=(user, password) if auth_file else None,
        ssl_context=_server_tls(
            getattr(args, "metrics_tls_cert", None), getattr(args, "metrics_tls_key", None)
        ),
    )
    structlog.get_logger("hallwatch").info("metrics_listening", host=args.metrics_host, port=port)
    return stop


async def _run_console(sup: Supervisor, **app_args: Any) -> None:
    from console.app import HallwatchApp

    await HallwatchApp(sup, **app_args).run_async()


def _replay_console(args: argparse.Namespace) -> int:
    """``console --replay``: the console on recordings, in process, with replay keys. No
    journal (the recording is the journal) and no alert store (a replay must not mix its
    alerts into the live trail): alerts live in memory for the session."""
    from feeds.replay import ReplayDriver, ReplaySource, read_recording, window

    config = load_config(args.config) if args.config else Config()
    try:
        recording = read_recording(args.replay)
        begin, end = window(recording, args.start, args.until)
    except (OSError, ValueError) as error:
        print(f"hallwatch: replay: {error}", file=sys.stderr)
        return 2
    driver = ReplayDriver(recording.events, speed=args.speed, start_ts=begin, until_ts=end)
    calendar = config.work_calendar()

    def rebuild() -> Supervisor:
        return Supervisor(
            [ReplaySource(driver)],
            settings=config.settings(calendar),
            alerts=config.alert_engine(None, calendar),
            roster=config.duty,
            operator=_operator(args),
        )

    logs.configure(sup_log_path(args))
    sup = rebuild()
    title = f"hallwatch — replay {' '.join(p.name for p in args.replay)}"
    asyncio.run(
        _run_console(
            sup,
            lang=args.lang,
            title=title,
            replay=driver,
            rebuild=rebuild,
            big_screen=args.big_screen,
            theme=args.theme,
        )
    )
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    if args.replay:
        return _replay_console(args)
    if not args.feed:
        print("hallwatch: console needs --feed URL (or --replay FILE)", file=sys.stderr)
        return 2
    sup = _supervisor(args, args.feed)
    logs.configure(sup_log_path(args))
    recover(sup, args.recover_days)  # the journal rebuilds the state; feeds resume after it
    stop_metrics = _start_metrics(args, sup)
    try:
        # No --operator: whoever sits here picks their name from the roster, if there is one.
        people = [] if args.operator else [(k, p.name) for k, p in sup.roster.people.items()]
        asyncio.run(
            _run_console(
                sup,
                lang=args.lang,
                big_screen=args.big_screen,
                choose_operator=people,
                theme=args.theme,
            )
        )
    finally:
        stop_metrics()
        sup.close()
    return 0


def sup_log_path(args: argparse.Namespace) -> Path:
    return (args.data_dir or default_data_dir()) / "hallwatch.log"


def cmd_demo(args: argparse.Namespace) -> int:
    from feeds.demo_city import city
    from feeds.demo_play import demo_day, demo_events, run_demo
    from feeds.demo_server import FeedServer
    from feeds.hallclock import day_start_ms

    profiles = city(args.halls)
    day = demo_day(profiles, args.date)
    args.config = None
    args.token_file = None
    logs.configure(sup_log_path(args))

    async def play(server: FeedServer) -> None:
        # Simulated in a thread once the console is up: the first frame does not wait
        # for the days of history to be simulated.
        events = await asyncio.to_thread(
            demo_events, profiles, day, args.seed, days=args.days, history=args.history
        )
        await run_demo(server, events, speed=args.speed, backlog_until=day_start_ms(day))

    async def main() -> None:
        server = FeedServer("demo", [p.hall for p in profiles])
        await server.start()
        sup = _supervisor(args, [("demo", server.url)], demo=True)
        stop_metrics = _start_metrics(args, sup)
        driver = asyncio.create_task(play(server))
        try:
            await _run_console(
                sup,
                title=f"hallwatch — demo {day.isoformat()}",
                lang=args.lang,
                big_screen=args.big_screen,
                theme=args.theme,
            )
        finally:
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
            await server.stop()
            stop_metrics()
            sup.close()

    asyncio.run(main())
    return 0


def _run_until_signal(main: Callable[[], Any]) -> None:
    """Run ``main()`` until it ends or SIGTERM/SIGINT arrives; then cancel it cleanly."""

    async def runner() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())


def cmd_serve(args: argparse.Namespace) -> int:
    logs.configure(args.log_file)
    log = structlog.get_logger("hallwatch")
    sup = _supervisor(args, args.feed)
    recover(sup, args.recover_days)  # the journal rebuilds the state; feeds resume after it
    stop_metrics = _start_metrics(args, sup)
    log.info("serve_started", feeds=[url for _, url in args.feed])
    try:
        _run_until_signal(sup.run)
    finally:
        stop_metrics()
        sup.close()
        log.info("serve_stopped", events=sup.events_total)
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    """``run.py web``: serve the console to browsers (textual-serve); every tab runs its
    own console process with the arguments after ``--``. Bound to 127.0.0.1 unless told."""
    import shlex

    from textual_serve.server import Server

    app = [a for a in args.app if a != "--"] or ["demo", "--big-screen"]
    if app[0] not in ("console", "demo"):
        print(
            "hallwatch: web runs a console or the demo: web -- console --feed URL", file=sys.stderr
        )
        return 2
    command = shlex.join([sys.executable, str(Path(__file__).resolve()), *app])
    print(f"http://{args.host}:{args.port}", flush=True)  # the first line: where to look
    Server(command, host=args.host, port=args.port, title="hallwatch").serve()
    return 0


def cmd_demo_feed(args: argparse.Namespace) -> int:
    from feeds.demo_play import serve_demo

    logs.configure(None)
    log = structlog.get_logger("hallwatch")
    token = read_token(args.token_file) if args.token_file else None
    tls = _server_tls(args.tls_cert, args.tls_key)

    def ready(url: str) -> None:
        log.info("demo_feed_listening", url=url)
        print(url, flush=True)  # a script (or a test) reads the URL from the first line

    _run_until_signal(
        lambda: serve_demo(
            args.host,
            args.port,
            speed=args.speed,
            seed=args.seed,
            day=args.date,
            token=token,
            halls=args.halls,
            days=args.days,
            history=args.history,
            mmc=args.mmc,
            ready=ready,
            ssl_context=tls,
        )
    )
    return 0


def _add_replay(sub: Any) -> None:
    p = sub.add_parser("replay", help="serve recorded days (journal files) as a protocol-v1 feed")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="journal .jsonl(.gz)")
    p.add_argument("--speed", type=_speed, default=60.0, help="hall time / real time, or max")
    p.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="start here (HH:MM[:SS] on the first day, or an ISO date-time)",
    )
    p.add_argument("--until", metavar="TIME", help="serve nothing after this time")
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    p.add_argument("--port", type=int, default=8766, help="0 = any free port")
    p.add_argument("--token-file", type=Path, help="require this bearer token")
    _add_tls_serving(p)


def cmd_replay(args: argparse.Namespace) -> int:
    from feeds.replay import read_recording, serve_replay, window

    logs.configure(None)
    log = structlog.get_logger("hallwatch")
    token = read_token(args.token_file) if args.token_file else None
    tls = _server_tls(args.tls_cert, args.tls_key)
    try:
        recording = read_recording(args.files)
        window(recording, args.start, args.until)
    except (OSError, ValueError) as error:
        print(f"hallwatch: replay: {error}", file=sys.stderr)
        return 2
    if recording.bad_lines:
        log.warning("replay_bad_lines", files=recording.bad_lines)

    def ready(server: Any) -> None:
        log.info(
            "replay_listening",
            url=server.url,
            events=len(recording.events),
            halls=list(recording.halls),
        )
        print(server.url, flush=True)  # a script (or a test) reads the URL from the first line

    _run_until_signal(
        lambda: serve_replay(
            recording,
            args.host,
            args.port,
            speed=args.speed,
            start=args.start,
            until=args.until,
            token=token,
            ready=ready,
            ssl_context=tls,
        )
    )
    return 0


def _add_import_csv(sub: Any) -> None:
    p = sub.add_parser(
        "import-csv", help="turn a queue system's CSV ticket log into recordings for replay"
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument(
        "--map",
        required=True,
        metavar="FIELD=COLUMN,...",
        help="arrival (required), call, start, end, window, item, outcome, ticket, zone, "
        "person, staff",
    )
    p.add_argument("--hall", default="imported", help="hall id of the events (default imported)")
    p.add_argument("--out", type=Path, help="folder (default: <data dir>/journal/import-HALL)")
    p.add_argument("--data-dir", type=Path, help="pseudonymization key (default: per user)")
    p.add_argument("--encoding", default="utf-8-sig", help="e.g. gbk (default utf-8)")
    p.add_argument("--outcome", metavar="WORD=OUTCOME,...", help="extra outcome words of the log")


def cmd_import_csv(args: argparse.Namespace) -> int:
    from feeds.csv_import import CsvImportError, import_csv, parse_map, parse_outcomes
    from feeds.journal import safe_name

    data_dir = ensure_data_dir(args.data_dir or default_data_dir())
    out = args.out or data_dir / "journal" / f"import-{safe_name(args.hall)}"
    try:
        report = import_csv(
            args.file,
            parse_map(args.map),
            out,
            hall=args.hall,
            pseudonymize=Pseudonymizer.from_data_dir(data_dir),
            encoding=args.encoding,
            outcomes=parse_outcomes(args.outcome),
        )
    except (CsvImportError, OSError, LookupError) as error:
        print(f"hallwatch: import-csv: {error}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 0


def _report_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM-DD") from None


def _add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="daily or monthly report from the recordings and alerts")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", type=_report_day, metavar="YYYY-MM-DD")
    when.add_argument("--month", metavar="YYYY-MM")
    p.add_argument("--data-dir", type=Path, help="recordings and alerts.db (default: per user)")
    p.add_argument("--config", type=Path, help="TOML with limits, rules and holidays")
    p.add_argument("--out", type=Path, help="write the files here (default: print to stdout)")
    p.add_argument("--format", choices=("md", "csv", "all"), default="md", help="default md")


def cmd_report(args: argparse.Namespace) -> int:
    from runtime.report import ReportError, gather, month_days, tty_progress
    from runtime.report_render import write

    config = load_config(args.config) if args.config else Config()
    data_dir = args.data_dir or default_data_dir()
    try:
        days = month_days(args.month) if args.month else [args.day]
        gathered = gather(days, data_dir, config, tty_progress() if args.month else None)
        text, files = write(gathered, args.out, args.format, args.month)
    except (ReportError, OSError) as error:
        print(f"hallwatch report: {error}", file=sys.stderr)
        return 2
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for path in files:
        print(path, file=sys.stderr)
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """``run.py rotate-key``: replace the pseudonymization key; restart consoles to use it."""
    from feeds.privacy import rotate_key

    path = rotate_key(args.data_dir or default_data_dir())
    print(f"{path}: new key; people seen before cannot be linked to those seen from now on")
    print("restart running consoles and serve processes to use it")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # No command, only demo options (``run.py --speed 120``): the demo, as documented.
    if words and words[0].startswith("-") and words[0] not in ("-h", "--help"):
        words.insert(0, "demo")
    args = parser.parse_args(words)
    command = args.command or "demo"
    if args.command is None:
        args = parser.parse_args(["demo"])
    handlers = {
        "demo": cmd_demo,
        "console": cmd_console,
        "serve": cmd_serve,
        "demo-feed": cmd_demo_feed,
        "staffing": cmd_staffing,
        "replay": cmd_replay,
        "import-csv": cmd_import_csv,
        "report": cmd_report,
        "rotate-key": cmd_rotate_key,
        "check-config": cmd_check_config,
        "handover": cmd_handover,
        "audit": cmd_audit,
        "web": cmd_web,
    }
    try:
        return handlers[command](args)
    except (ConfigError, StoreError, TLSConfigError) as error:
        print(f"hallwatch: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
