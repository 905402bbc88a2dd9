"""``deploy/``: the Prometheus and Alertmanager configs a province runs, checked by the
tools themselves (Debian's ``prometheus`` and ``prometheus-alertmanager``: ``promtool``,
``amtool``; ``.ci/run`` installs them), the rules' hand-worked cases run by ``promtool
test rules``, the routes by ``amtool config routes test``, and every metric the rules
use is one docs/metrics.md documents."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.province.procs import ROOT

DEPLOY = ROOT / "deploy"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install prometheus prometheus-alertmanager"
                    "; .ci/run does)")  # fmt: skip
    return found


def check(*args: str) -> str:
    done = subprocess.run(args, cwd=DEPLOY, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_promtool_accepts_the_prometheus_config_and_its_rules() -> None:
    promtool = tool("promtool")
    out = check(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS: prometheus.yml is valid" in out
    assert "SUCCESS: 10 rules found" in check(promtool, "check", "rules", "hallwatch-rules.yml")
    assert "SUCCESS" in check(promtool, "test", "rules", "hallwatch-rules.test.yml")


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["kind=card", "severity=red"], "supervision-office,duty-director"),  # 红牌, 督办
        (["kind=card", "severity=yellow"], "duty-director"),
        (["kind=warning", "severity=urgent"], "duty-director"),
        (["kind=warning", "severity=notice"], "duty-director-digest"),
        (["kind=system", "alertname=HallwatchShardDown"], "it-operations"),
    ],
)
def test_amtool_accepts_the_alertmanager_config_and_routes_by_kind_and_severity(
    labels: list[str], receivers: str
) -> None:
    amtool = tool("amtool")
    assert "SUCCESS" in check(amtool, "check-config", "alertmanager.yml")
    routed = check(amtool, "config", "routes", "test", "--config.file=alertmanager.yml", *labels)
    assert routed.strip() == receivers


def test_the_rules_use_documented_metrics_only() -> None:
    documented = set(re.findall(r"^\| `(hall_[a-z_]+)` \|", (ROOT / "docs/metrics.md")
                                .read_text(), re.M))  # fmt: skip
    rules = (DEPLOY / "hallwatch-rules.yml").read_text()
    used = set(re.findall(r"(?<![:\w])(hall_[a-z_]+)\b(?!:)", rules))  # (not a record's name)
    assert used and used <= documented, sorted(used - documented)
