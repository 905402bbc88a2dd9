"""``hallwatch web``: the console in a browser (textual-serve) for the hall's big screen.
Every browser tab runs its own console process with the arguments after ``--``; bound to
127.0.0.1 unless told.

A tab is read-only until someone signs in with a password (the console's ``i``): it never
signs anyone in by the OS account it runs as (the service account is not the person at
the browser), nor as the demo's operator. A password crosses the network only over TLS:
a host other than loopback needs ``--tls-cert``/``--tls-key`` (or a TLS reverse proxy in
front of a loopback ``web``), else ``web`` is refused (exit 2).

Imports: cli, feeds.tls (through cli.wiring); textual-serve and aiohttp when run.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import ssl
import sys
from pathlib import Path
from typing import Any, ClassVar

from cli import wiring

#: The entry point each tab runs: the same ``run.py`` this command came from.
ENTRY = Path(__file__).resolve().parent.parent / "run.py"


class WebCommand:
    name: ClassVar[str] = "web"
    help: ClassVar[str] = (
        "the console in a browser (the hall's big screen): web [--port P] "
        "[-- console ARGS | demo ARGS]"
    )

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine)")
        parser.add_argument("--port", type=int, default=8000, help="default 8000")
        parser.add_argument(
            "--tls-cert", type=Path, help="serve https:// with this PEM certificate chain"
        )
        parser.add_argument("--tls-key", type=Path, help="the private key of --tls-cert")
        parser.add_argument(
            "--public-url",
            help="the address browsers use: with --tls-cert the name on the certificate "
            "(default https://HOST:PORT, for 0.0.0.0 this machine's name); behind a TLS "
            "reverse proxy, its https:// address",
        )
        parser.add_argument(
            "app",
            nargs=argparse.REMAINDER,
            help="what each browser tab runs (after --): a console or demo command line; "
            "default: demo --big-screen",
        )

    def run(self, args: argparse.Namespace) -> int:
        app = [a for a in args.app if a != "--"] or ["demo", "--big-screen"]
        if app[0] not in ("console", "demo"):
            print(
                "hallwatch: web runs a console or the demo: web -- console --feed URL",
                file=sys.stderr,
            )
            return 2
        tls = wiring.server_tls(args.tls_cert, args.tls_key)
        if tls is None and not is_loopback(args.host):
            print(
                f"hallwatch: web --host {args.host}: people sign in through the browser, so "
                "beyond this machine it needs TLS: give --tls-cert FILE --tls-key FILE, or "
                "keep web on 127.0.0.1 behind a TLS reverse proxy (README, Operators)",
                file=sys.stderr,
            )
            return 2
        command = shlex.join([sys.executable, str(ENTRY), *app])
        if tls is None:
            from textual_serve.server import Server

            # Behind a TLS reverse proxy, --public-url https://… makes the page use wss://.
            public: str | None = args.public_url.rstrip("/") if args.public_url else None
            print(public or f"http://{args.host}:{args.port}", flush=True)  # where to look
            Server(command, host=args.host, port=args.port, title="hallwatch",
                   public_url=public).serve()  # fmt: skip
            return 0
        url = args.public_url or f"https://{_public_host(args.host)}:{args.port}"
        print(url, flush=True)
        _tls_server(command, args.host, args.port, url.rstrip("/"), tls).serve()
        return 0


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (a name other than localhost may
    resolve anywhere, so it does not count)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public_host(host: str) -> str:
    """The name browsers reach a host by: the machine's for an any-address bind."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def _tls_server(command: str, host: str, port: int, public_url: str,
                context: ssl.SSLContext) -> Any:  # fmt: skip
    """A textual-serve server on https:// and wss://: its ``serve`` is textual-serve's
    with the TLS context given to aiohttp (textual-serve has no TLS option of its own;
    its pages take the scheme of the websocket from ``public_url``)."""
    import asyncio
    import signal

    from aiohttp import web
    from textual_serve.server import Server

    class TLSServer(Server):
        def serve(self, debug: bool = False) -> None:
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                ssl_context=context,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
            )

    return TLSServer(command, host=host, port=port, title="hallwatch", public_url=public_url)
