"""Flood and memory: `serve` (a real process) swallowing `demo-feed --halls N --speed max`.

The demo feed publishes a whole day of N halls at once; `serve` ingests it over a real
WebSocket (journal on disk, state, alert rules, /metrics). Measured: wall time from the
first /metrics answer to the last seq applied (the flood rate, events/s), `serve`'s
resident set at the end and at its peak (VmRSS, VmHWM from /proc), then a `kill -9` and
a restart: how long start-up recovery takes to rebuild that day from the journal.

    python bench/flood.py                 # 100 halls
    python bench/flood.py --halls 20 --json
    python bench/flood.py --days 3        # three days back to back (closed days archived)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feeds.demo.city import city  # noqa: E402
from feeds.demo.play import demo_events  # noqa: E402
from feeds.protocol import Heartbeat  # noqa: E402

DAY = dt.date(2025, 11, 24)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _last_seq(port: int) -> float | None:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return None
    for line in body.decode().splitlines():
        if line.startswith('hall_feed_last_seq{feed="demo"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _mem(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024  # MiB
    return out


def _serve(url: str, data: Path, port: int) -> subprocess.Popen[bytes]:
    argv = ["serve", "--feed", f"demo={url}", "--data-dir", str(data)]
    argv += ["--metrics-port", str(port), "--log-file", str(data / "serve.log")]
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *argv], cwd=ROOT)


def _until(port: int, total: int, timeout: float) -> float:
    """Seconds until /metrics shows the last seq (polled every 50 ms)."""
    start = time.perf_counter()
    while _last_seq(port) != total:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"last seq {total} not reached within {timeout} s")
        time.sleep(0.05)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=100)
    parser.add_argument("--days", type=int, default=1, help="consecutive days, all at once")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", type=Path, help="use (and keep) this data dir")
    args = parser.parse_args()
    events = demo_events(city(args.halls), DAY, 1, days=args.days)
    total = sum(not isinstance(e, Heartbeat) for e in events)
    del events
    feed = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "demo-feed", "--port", "0", "--speed", "max",
         "--date", DAY.isoformat(), "--halls", str(args.halls), "--days", str(args.days)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert feed.stdout is not None
    url = feed.stdout.readline().decode().strip()
    result: dict[str, object] = {"halls": args.halls, "days": args.days, "events": total}
    with tempfile.TemporaryDirectory() as tmp:
        data, port = args.keep or Path(tmp), _port()
        serve = _serve(url, data, port)
        try:
            while _last_seq(port) is None:  # up and listening (imports, key, store)
                time.sleep(0.05)
            took = _until(port, total, 600)
            result |= {"ingest_s": round(took, 2), "events_per_s": round(total / took)}
            result |= {f"{k}_mib": v for k, v in _mem(serve.pid).items()}
            serve.send_signal(signal.SIGKILL)
            serve.wait()
            journal = sum(p.stat().st_size for p in (data / "journal").rglob("*"))
            result["journal_mib"] = round(journal / 2**20, 1)
            started = time.perf_counter()
            serve = _serve(url, data, port)
            _until(port, total, 600)
            result["restart_to_caught_up_s"] = round(time.perf_counter() - started, 2)
            result |= {f"after_restart_{k}_mib": v for k, v in _mem(serve.pid).items()}
        finally:
            serve.terminate()
            serve.wait()
            feed.terminate()
            feed.wait()
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
