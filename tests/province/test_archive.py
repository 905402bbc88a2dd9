"""``hallwatch archive`` and ``report --nats``: a day of the stream becomes the journal
files a local ``serve`` writes, and a day's report built from the stream equals the one
built from the archive, byte for byte.

Two seeded demo feeds of two days each go through a gateway into the stream (small
messages, so days end inside a message); a local ``serve --feed`` of the same feeds
records its own journal beside it. The first day is closed (the feeds went on to the
second): ``archive --day`` writes it, one file per feed, the same lines as the local
journal's; the second, still open, is refused. A feed whose messages do not follow each
other is named and left out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.hallclock import day_start_ms
from feeds.protocol import WindowState
from province.cluster import connect
from province.local import LocalCluster
from province.wire import STREAM, Mark, encode, subject
from tests.province.procs import (
    ROOT,
    demo_feed,
    feed_last_seq,
    key_dir,
    python,
    stopping,
    until,
)

pytestmark = pytest.mark.timeout(150)

DAY = dt.date(2025, 11, 24)
NEXT = DAY + dt.timedelta(days=1)
PARTITIONS = 4


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``python run.py ARGS``, waited for."""
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()


async def publish_broken_feed(urls: list[str]) -> None:
    """Feed ``gapped``: seqs 1-2 of the day, then a message that says it follows seq 3
    (a message lost), then one of the next day (so the day is closed)."""
    nc = await connect(urls, "test")
    try:
        js = nc.jetstream(timeout=5)
        subj, start = subject("gapped", PARTITIONS), day_start_ms(DAY) + 9 * 3_600_000
        last = 0
        for prev, seq, ts in ((0, 2, start), (3, 4, start + 60_000), (4, 5, start + 86_400_000)):
            events = [WindowState(seq=s, ts=ts, hall="gx", window="W1", state="open")
                      for s in range(prev + 1, seq + 1)]  # fmt: skip
            headers = Mark(1, seq, prev, 0.0).headers("gapped", last, f"gapped:1:{prev + 1}-{seq}")
            last = (await js.publish(subj, encode(events, [], 0), headers=headers)).seq
    finally:
        await nc.close()


async def test_a_days_report_from_the_stream_equals_the_one_from_its_archive(
    tmp_path: Path,
) -> None:
    with LocalCluster(tmp_path / "nats", size=1) as cluster, stopping([]) as procs:
        feeds, urls = [], []
        for i in range(2):
            proc, url = demo_feed("--speed", "max", "--date", DAY.isoformat(), "--days", "2",
                                  "--seed", str(i + 5), "--halls", "2",
                                  "--hall-prefix", f"h{i}")  # fmt: skip
            procs.append(proc)
            urls.append(url)
            feeds += ["--feed", f"f{i}={url}"]
        procs.append(python(
            "gateway", *feeds, "--nats", cluster.nats_arg, "--partitions", str(PARTITIONS),
            "--max-events", "40", "--data-dir", str(key_dir(tmp_path / "gateway")),
            "--log-file", str(tmp_path / "gateway.log"),
        ))  # fmt: skip
        local = key_dir(tmp_path / "local")  # the same pseudonym key as the gateway's
        procs.append(python("serve", *feeds, "--data-dir", str(local),
                            "--log-file", str(tmp_path / "local.log")))  # fmt: skip

        nc = await connect(cluster.urls, "test")
        try:
            js = nc.jetstream(timeout=5)

            async def published() -> bool:
                for i, url in enumerate(urls):
                    try:
                        msg = await js.get_last_msg(STREAM, subject(f"f{i}", PARTITIONS))
                    except Exception:
                        return False
                    if Mark.of(msg.headers).seq != await feed_last_seq(url):
                        return False
                return True

            await until(published, 60, "both feeds' two days in the stream")
        finally:
            await nc.close()
        archive = tmp_path / "archive"

        async def archive_day(day: dt.date) -> subprocess.CompletedProcess[str]:
            where = ["--nats", cluster.nats_arg, "--data-dir", str(archive)]
            return await asyncio.to_thread(run, "archive", *where, "--day", day.isoformat())

        got = await archive_day(DAY)
        assert got.returncode == 0, got.stderr
        written = sorted(str(p.relative_to(archive)) for p in archive.rglob("*")
                         if p.is_file() and p.name != "hallwatch.lock")  # fmt: skip
        assert written == [f"journal/f{i}/{DAY}.jsonl.gz" for i in range(2)]
        # ... the lines a local serve journaled of the same feeds that day.
        journaled = [local / "journal" / f"f{i}" / f"{DAY}.jsonl.gz" for i in range(2)]

        async def compressed() -> bool:
            return all(p.exists() for p in journaled)

        await until(compressed, 30, "the local serve's day compressed")
        for i in range(2):
            mine = lines(archive / "journal" / f"f{i}" / f"{DAY}.jsonl.gz")
            assert mine and mine == lines(journaled[i])

        # The day's report, from the stream and from the archive: the same bytes, every
        # file of it (Markdown, CSV, the chart).
        outs = {}
        for name, where in (("stream", ["--nats", cluster.nats_arg]),
                            ("archive", ["--data-dir", str(archive)])):  # fmt: skip
            outs[name] = tmp_path / f"report-{name}"
            args = ["report", "--day", DAY.isoformat(), *where, "--format", "all"]
            report = await asyncio.to_thread(run, *args, "--out", str(outs[name]))
            assert report.returncode == 0, report.stderr
        files = sorted(p.name for p in outs["stream"].iterdir())
        assert files and files == sorted(p.name for p in outs["archive"].iterdir())
        for name in files:
            assert (outs["stream"] / name).read_bytes() == (outs["archive"] / name).read_bytes()
        md = next(n for n in files if n.endswith(".md"))
        assert "h0-" in (outs["stream"] / md).read_text()  # both feeds' halls are in it
        assert "h1-" in (outs["stream"] / md).read_text()

        again = await archive_day(DAY)
        assert again.returncode == 0 and f"{DAY} f0: already: {DAY}.jsonl.gz" in again.stdout
        still_open = await archive_day(NEXT)
        assert still_open.returncode == 1
        assert f"{NEXT} f0: open: the feed has not gone past this day yet" in still_open.stderr

        # A feed whose messages do not follow each other: named, left out (exit 1).
        await publish_broken_feed(cluster.urls)
        broken = await archive_day(DAY)
        assert broken.returncode == 1, broken.stderr
        assert f"{DAY} gapped: broken: feed gapped: stream seq" in broken.stderr
        assert "(run 1, feed seqs 4-4) comes after feed seq 2 of run 1" in broken.stderr
        assert not (archive / "journal" / "gapped").exists()
