"""Operators on the command line: ``operator add|passwd|remove|list`` writing a real
operators file (password on stdin, as scripts do), the file refused at start when others
can read it, ``--operator`` that names nobody, and ``web`` refused beyond loopback
without TLS — served over real TLS when given a certificate."""

from __future__ import annotations

import json
import os
import signal
import ssl
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import trustme

from alerts.store import AlertStore
from cli.main import main
from cli.web import is_loopback
from runtime.operators import Operators
from tests.e2e.test_serve import ROOT, free_port, wait_until

CONFIG = """
[duty.people.zhang]
name = "张主任"
os_user = "zhangwei"
[duty.people.li]
name = "李主任"
"""


def hallwatch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_operator_add_passwd_list_remove(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(CONFIG)
    where = ["--data-dir", str(tmp_path / "data"), "--config", str(config)]
    added = hallwatch("operator", "add", "张主任", *where, "--password-stdin",
                      stdin="zhang-secret\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "zhang (张主任): operator added" in added.stdout
    path = tmp_path / "data" / "operators"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = json.loads(path.read_text())["operators"]["zhang"]
    assert entry["scheme"] == "scrypt" and len(bytes.fromhex(entry["salt"])) == 16
    assert "zhang-secret" not in path.read_text()
    assert Operators.load(path).check("zhang", "zhang-secret")
    assert not Operators.load(path).check("zhang", "zhang-secreT")

    short = hallwatch("operator", "add", "li", *where, "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "too short" in short.stderr
    again = hallwatch("operator", "add", "zhang", *where, "--password-stdin", stdin="x" * 9)
    assert again.returncode == 2 and "operator passwd zhang" in again.stderr
    stranger = hallwatch("operator", "add", "wang", *where, "--password-stdin", stdin="x" * 9)
    assert stranger.returncode == 2 and "not a person of the roster" in stranger.stderr

    changed = hallwatch("operator", "passwd", "zhang", *where, "--password-stdin",
                        stdin="another-secret\n")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert Operators.load(path).check("zhang", "another-secret")
    listed = hallwatch("operator", "list", *where)
    assert listed.stdout.splitlines() == [
        "zhang\t张主任\tos_user zhangwei\tpassword set",
        "li\t李主任\tos_user -\tno password",
    ]
    removed = hallwatch("operator", "remove", "zhang", *where)
    assert removed.returncode == 0 and Operators.load(path).names() == []

    # Each change is in the audit trail, by the OS account that made it.
    store = AlertStore(tmp_path / "data" / "alerts.db")
    trail = [(r["action"], r["subject"]) for r in store.audit_records()]
    assert trail == [
        ("operator added", "operator zhang"),
        ("password changed", "operator zhang"),
        ("operator removed", "operator zhang"),
    ]
    assert all(r["actor"].startswith("os:") for r in store.audit_records())
    assert store.verify() == []
    store.close()


def test_an_operators_file_others_can_read_is_refused_at_start(tmp_path: Path, capsys) -> None:
    path = tmp_path / "operators"
    Operators.load(path).set_password("zhang", "zhang-secret")
    path.chmod(0o644)
    feed = "ws://127.0.0.1:9/never-reached"
    for args in (
        ["console", "--feed", feed, "--data-dir", str(tmp_path)],
        ["handover", "--data-dir", str(tmp_path), "--operator", "zhang"],
        ["operator", "list", "--data-dir", str(tmp_path)],
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "operators file is readable by others" in err and f"chmod 600 {path}" in err


def test_operator_must_be_someone_who_can_sign_in(tmp_path: Path, capsys) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(CONFIG)
    console = ["console", "--feed", "ws://127.0.0.1:9/never-reached", "--data-dir", str(tmp_path)]
    assert main([*console, "--operator", "x"]) == 2
    assert "--operator x: not a person of the roster" in capsys.readouterr().err
    # li is in the roster, but not this OS account's person and without a password.
    assert main([*console, "--config", str(config), "--operator", "李主任"]) == 2
    assert "no password is set: hallwatch operator add li" in capsys.readouterr().err


def test_web_beyond_loopback_needs_tls(capsys) -> None:
    assert main(["web", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--tls-cert FILE --tls-key FILE" in err and "reverse proxy" in err
    assert main(["web", "--host", "hall.example", "--tls-cert", "c.pem"]) == 2  # key missing
    assert "go together" in capsys.readouterr().err
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.0.0.5")] == [
        True, True, True, False, False,
    ]  # fmt: skip


def test_web_serves_https_and_wss_with_a_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "web",
            "--port",
            str(port),
            "--tls-cert",
            str(cert_file),
            "--tls-key",
            str(key_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HALLWATCH_DATA_DIR": str(tmp_path / "data")},
        start_new_session=True,
    )
    try:
        assert web.stdout is not None
        url = web.stdout.readline().strip()
        assert url == f"https://127.0.0.1:{port}"
        context = ssl.create_default_context()
        ca.configure_trust(context)

        def page() -> str | None:
            try:
                with urllib.request.urlopen(url, timeout=2, context=context) as r:
                    return str(r.read().decode())
            except OSError:
                return None

        html = wait_until(page, what="the https page")
        assert "textual.js" in html and f"wss://127.0.0.1:{port}/ws" in html
        with pytest.raises(OSError):  # plain http is not served
            urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=2)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
