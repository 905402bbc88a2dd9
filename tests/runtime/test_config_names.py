"""Display names from the config file (``[halls.H] name``, zones, items, ``[depts]``) and
the ``[console]`` signal; a bad one is refused naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.build import build_pipeline
from runtime.config import ConfigError, load_config

CONFIG = """\
[halls.lz]
name = "罗庄区政务服务中心"

[halls.lz.zones.estate]
name = "不动产登记"

[halls.lz.items.bdc-01]
name = "二手房转移登记"

[depts]
bdcdj = "不动产登记中心"

[console]
bell = true
"""


def test_names_reach_the_view(tmp_path: Path) -> None:
    path = tmp_path / "hallwatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path)
    names = config.names()
    assert names.hall("lz") == "罗庄区政务服务中心"
    assert names.zone("lz", "estate") == "不动产登记"
    assert names.item("lz", "bdc-01") == "二手房转移登记"
    assert names.dept("bdcdj") == "不动产登记中心"
    assert (config.console.bell, config.console.flash) == (True, True)
    pipeline = build_pipeline(config)
    assert pipeline.publish().names == names


def test_a_bad_name_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "hallwatch.toml"
    path.write_text(CONFIG.replace('bdcdj = "不动产登记中心"', "bdcdj = 5"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:11: field depts.bdcdj: Expected `str`")
    path.write_text(CONFIG.replace("bell = true", "bel = true"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:14: field console.bel:")
