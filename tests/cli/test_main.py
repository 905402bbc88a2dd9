"""The command line: one entry (``hallwatch`` = ``python run.py``), every command a module
on the command protocol, options read as declared."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _commands(help_text: str) -> list[str]:
    """The command names listed under ``COMMAND`` in a ``--help`` text."""
    block = help_text.split("positional arguments:")[1].split("options:")[0]
    return re.findall(r"^    (\S+)", block, re.M)


def test_hallwatch_and_run_py_list_the_same_commands() -> None:
    exe = shutil.which("hallwatch") or str(Path(sys.executable).parent / "hallwatch")
    installed = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    script = subprocess.run(
        [sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert installed.returncode == script.returncode == 0, installed.stderr + script.stderr
    names = _commands(script.stdout)
    assert names == _commands(installed.stdout)
    assert names == [c.name for c in COMMANDS]
    assert installed.stdout.startswith("usage: hallwatch")
    assert script.stdout.startswith("usage: run.py")


def test_run_py_is_only_the_entry() -> None:
    """run.py imports the command line and nothing else of the project."""
    tree = ast.parse((ROOT / "run.py").read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "sys", "cli.main"}, imported


def test_every_command_module_is_one_command() -> None:
    modules = {type(c).__module__ for c in COMMANDS}
    assert len(modules) == len(COMMANDS)  # one module per command
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)


@pytest.mark.parametrize("words", [[], ["--speed", "120"]])
def test_no_command_is_the_demo(words: list[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["demo", *words])
    assert args.command == "demo"
    assert args.history == 5  # the console demo opens on a hall with a past


def test_demo_feed_history_defaults_to_none() -> None:
    args = build_parser().parse_args(["demo-feed"])
    assert args.history == 0 and args.port == 8765


def test_no_getattr_on_args() -> None:
    """Each command reads the options it declared: no ``getattr(args, …)`` guesses."""
    for path in (ROOT / "cli").glob("*.py"):
        assert "getattr(args" not in path.read_text(), path


def test_a_bad_config_is_exit_2_with_file_line_and_field(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "hall.toml"
    bad.write_text("[thresholds]\nwait_limit_minutes = -5\n")
    assert main(["handover", "--config", str(bad), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hall.toml:2" in err and "wait_limit_minutes" in err


def test_a_bad_option_value_is_refused_by_the_parser(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["demo-feed", "--speed", "0"])
    assert stop.value.code == 2
    assert "speed must be > 0" in capsys.readouterr().err
