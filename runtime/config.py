"""The console's config file (TOML), validated by msgspec Structs.

A bad file is refused with its path, the line and the field (``ConfigError``), never a
traceback. Without a file the console learns halls, zones and windows from the stream and
uses the default thresholds.

Example::

    [thresholds]
    wait_limit_minutes = 30      # yellow at 80 %, red at 100 % of the zone's limit
    yellow_share = 0.8
    deemed_accept_minutes = 10   # back office: no answer in 10 min counts as accepted

    [halls.anqiu]
    name = "安丘市政务服务中心"

    [halls.anqiu.zones.estate]
    name = "不动产交易纳税登记"
    wait_limit_minutes = 45

Imports: alerts, metrics, msgspec.
"""

from __future__ import annotations

import os
import re
import stat
import typing
from pathlib import Path
from typing import Annotated

import msgspec

from alerts.rules import WaitLimits
from metrics.state import Settings

Minutes = Annotated[float, msgspec.Meta(gt=0, le=24 * 60)]


class ZoneConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    """Display name, e.g. 商事登记."""
    wait_limit_minutes: Minutes | None = None
    """This zone's waiting limit; the default threshold when absent."""


class HallConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    """Display name of the hall."""
    zones: dict[str, ZoneConfig] = {}


class Thresholds(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    wait_limit_minutes: Minutes = 30.0
    """Default waiting limit of a zone (hall time)."""
    yellow_share: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.8
    """Yellow card from this share of the limit; red at the limit."""
    deemed_accept_minutes: Annotated[int, msgspec.Meta(ge=1, le=24 * 60)] = 10
    """A case the back office has not answered within this counts as accepted (Anqiu)."""


class Config(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    thresholds: Thresholds = msgspec.field(default_factory=Thresholds)
    halls: dict[str, HallConfig] = {}

    def wait_limits(self) -> WaitLimits:
        zones = {
            zone_id: zone.wait_limit_minutes * 60
            for hall in self.halls.values()
            for zone_id, zone in hall.zones.items()
            if zone.wait_limit_minutes is not None
        }
        t = self.thresholds
        return WaitLimits(t.wait_limit_minutes * 60, t.yellow_share, zones)

    def settings(self) -> Settings:
        return Settings(deemed_accept_minutes=self.thresholds.deemed_accept_minutes)


class ConfigError(Exception):
    """A config (or token) file is wrong: the message names file, line and field."""


_SEGMENT = re.compile(r"\.([^.`\[]+)|\[\.\.\.\]|\[(\d+)\]")


def _resolve(data: object, tp: object, segments: list[str | None]) -> list[str]:
    """Turn msgspec's path (dict keys shown as ``[...]``) into concrete keys, by finding
    which entry of each dict fails validation on its own."""
    out: list[str] = []
    for seg in segments:
        hints = typing.get_type_hints(tp) if isinstance(tp, type) else {}
        if seg is not None:  # a Struct field
            out.append(seg)
            tp = hints.get(seg, object)
            data = data.get(seg) if isinstance(data, dict) else None
            continue
        args = typing.get_args(tp)  # dict[str, X]
        value_type = args[1] if len(args) == 2 else object
        culprit = None
        if isinstance(data, dict):
            for key, value in data.items():
                try:
                    msgspec.convert(value, value_type)
                except msgspec.ValidationError:
                    culprit = key
                    break
        out.append(str(culprit) if culprit is not None else "*")
        tp = value_type
        data = data.get(culprit) if isinstance(data, dict) and culprit is not None else None
    return out


def _line_of(text: str, path: list[str]) -> int | None:
    """The line where the field at ``path`` is written (1-based), found in the text."""
    if not path:
        return None
    *tables, key = path
    lines = text.splitlines()

    def header(parts: list[str]) -> re.Pattern[str]:
        names = [r"[^.\]]+" if p == "*" else r'"?' + re.escape(p) + r'"?' for p in parts]
        return re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(names) + r"\s*\]")

    start = 0
    if tables:
        table = header(tables)
        start = next((i + 1 for i, line in enumerate(lines) if table.match(line)), 0)
    key_re = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    sub_table = header([*tables, key])
    for i in range(start, len(lines)):
        if key_re.match(lines[i]) or sub_table.match(lines[i]):
            return i + 1
        if i > start and lines[i].lstrip().startswith("[") and tables:
            break  # left the table without finding the key
    return start or None


def load_config(path: Path) -> Config:
    """Read and validate a config file, or raise ``ConfigError`` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    try:
        return msgspec.toml.decode(text.encode(), type=Config)
    except msgspec.ValidationError as error:
        msg = str(error)
        match = re.search(r"at `\$([^`]*)`", msg)
        segments: list[str | None] = []
        for m in _SEGMENT.finditer(match.group(1) if match else ""):
            segments.append(m.group(1) or m.group(2))
        unknown = re.search(r"unknown field `([^`]+)`", msg)
        if unknown:
            segments.append(unknown.group(1))
        fields = _resolve(msgspec.toml.decode(text.encode()), Config, segments)
        line = _line_of(text, fields)
        where = f"{path}:{line}" if line else str(path)
        field = ".".join(fields) or "(top level)"
        raise ConfigError(f"{where}: field {field}: {msg.split(' - at ')[0]}") from error
    except msgspec.DecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def read_token(path: Path) -> str:
    """Read a bearer token file; refuse one that others can read (it is a secret)."""
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read token file: {error.strerror}") from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path}: token file is readable by others (mode {stat.filemode(mode)}); "
            f"run: chmod 600 {path}"
        )
    if not token:
        raise ConfigError(f"{path}: token file is empty")
    return token


def default_data_dir() -> Path:
    """The per-user data dir (``HALLWATCH_DATA_DIR`` overrides it)."""
    override = os.environ.get("HALLWATCH_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("hallwatch", appauthor=False))
