"""Config files: a bad value names the file, the line and the field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.config import ConfigError, load_config, read_token


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_sets_limits(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[thresholds]
wait_limit_minutes = 20
yellow_share = 0.75

[halls.anqiu.zones.estate]
name = "不动产交易纳税登记"
wait_limit_minutes = 45
""",
        )
    )
    limits = cfg.wait_limits()
    assert limits.limit_ms("biz") == 20 * 60_000
    assert limits.limit_ms("estate") == 45 * 60_000
    assert limits.yellow_share == 0.75


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        ("[thresholds]\nwait_limit_minutes = 30\ncolour = 1\n", ":3:", "thresholds.colour"),
        ("[thresholds]\nyellow_share = 1.5\n", ":2:", "thresholds.yellow_share"),
        (
            "[halls.a.zones.ok]\nwait_limit_minutes = 4\n[halls.a.zones.biz]\nname = 'b'\n"
            "wait_limit_minutes = -4\n",
            ":5:",
            "halls.a.zones.biz.wait_limit_minutes",
        ),
    ],
)
def test_bad_config_names_file_line_field(tmp_path: Path, text: str, where: str, field: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + where), message
    assert f"field {field}:" in message


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[thresholds\n"))


def test_token_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        read_token(path)
    os.chmod(path, 0o600)
    assert read_token(path) == "s3cret"
