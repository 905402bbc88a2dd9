"""Erlang C and the ``staffing`` command against published worked examples.

Sources (the inputs and the published figures are quoted in each test):
- Westbay Engineers, "The Erlang-C formula" (erlang.com, the technical paper behind the
  Westbay Traffic Calculators): 360 calls per half hour, 4 minutes per call, 55 agents,
  15 s target answer time -> traffic 48 erlangs, occupancy 0.873, probability of waiting
  E_C = 0.2387, average speed of answer 8.18 s, service level 84.6 %.
- Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example"
  (callcentrehelper.com): 100 calls per 30 minutes, 180 s average handling time,
  80 % within 20 s -> 10 erlangs; with 11 agents the probability a call waits is
  68.21 %, the service level 39.0 % and the average speed of answer 122.8 s; 14 agents
  are the first to reach 80 % (13 give 79.6 %, 14 give 88.8 %).
"""

from __future__ import annotations

import json
import math

import pytest

import run
from metrics.erlang import erlang_c, staffing, staffing_plan, windows_needed


def test_westbay_360_calls_per_half_hour_55_agents() -> None:
    s = staffing(55, arrivals_per_hour=720, mean_service_seconds=240, target_wait_seconds=15)
    assert s.occupancy == pytest.approx(0.873, abs=5e-4)
    assert s.wait_probability == pytest.approx(0.2387, abs=5e-5)
    assert s.mean_wait_seconds == pytest.approx(8.18, abs=5e-3)
    assert s.service_level == pytest.approx(0.846, abs=5e-4)


def test_call_centre_helper_100_calls_per_30_minutes() -> None:
    s = staffing(11, arrivals_per_hour=200, mean_service_seconds=180, target_wait_seconds=20)
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert s.wait_probability == pytest.approx(0.6821, abs=5e-5)
    assert s.service_level == pytest.approx(0.390, abs=5e-4)
    assert s.mean_wait_seconds == pytest.approx(122.8, abs=0.05)
    assert windows_needed(200, 180, 20, 0.80) == 14
    assert staffing(13, 200, 180, 20).service_level == pytest.approx(0.796, abs=5e-4)
    assert staffing(14, 200, 180, 20).service_level == pytest.approx(0.888, abs=5e-4)


def test_hand_computed_two_windows() -> None:
    # A = 1 erlang, c = 2: B = 1/5, C = 2*0.2/(2-1*0.8) = 1/3; W_q = C/(2μ-λ) = 1/3 · 60 s.
    s = staffing(2, arrivals_per_hour=60, mean_service_seconds=60, target_wait_seconds=60)
    assert s.wait_probability == pytest.approx(1 / 3)
    assert s.mean_wait_seconds == pytest.approx(20.0)
    assert s.service_level == pytest.approx(1 - math.exp(-1) / 3)


def test_plan_has_needed_and_one_either_side() -> None:
    needed, candidates = staffing_plan(200, 180, 20, 0.8)
    assert needed == 14
    assert [c.windows for c in candidates] == [13, 14, 15]
    # Below the load: the queue grows without end.
    needed, candidates = staffing_plan(60, 60, 60, 0.5)  # 1 erlang
    assert needed == 2
    assert candidates[0].windows == 1 and math.isinf(candidates[0].mean_wait_seconds)


def test_staffing_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--arrivals-per-hour", "720", "--mean-service-seconds", "240",
            "--target-wait-seconds", "15", "--service-level", "0.8", "--json"]  # fmt: skip
    assert run.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"windows_needed", "candidates"}
    assert out["windows_needed"] == 55  # Westbay: 54 give less than 80 %, 55 give 84.6 %
    assert [c["windows"] for c in out["candidates"]] == [54, 55, 56]
    mid = out["candidates"][1]
    assert set(mid) == {"windows", "service_level", "wait_probability", "mean_wait_seconds",
                        "occupancy"}  # fmt: skip
    assert mid["wait_probability"] == pytest.approx(0.2387, abs=5e-5)
    assert mid["mean_wait_seconds"] == pytest.approx(8.18, abs=5e-3)
    assert out["candidates"][0]["service_level"] < 0.8 <= mid["service_level"]


def test_staffing_command_text_and_unbounded(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["staffing", "--arrivals-per-hour", "60", "--mean-service-seconds", "60",
            "--target-wait-seconds", "60", "--service-level", "0.5"]  # fmt: skip
    assert run.main(argv) == 0
    out = capsys.readouterr().out
    assert "windows needed: 2" in out
    assert "unbounded" in out  # 1 window for 1 erlang
    assert run.main([*argv, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["candidates"][0]["mean_wait_seconds"] is None


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--service-level", "90", "service level must be between 0 and 1"),
        ("--arrivals-per-hour", "0", "arrivals per hour must be > 0"),
        ("--mean-service-seconds", "-3", "mean service seconds must be > 0"),
    ],
)
def test_staffing_command_bad_input(
    capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    args = {"--arrivals-per-hour": "200", "--mean-service-seconds": "180",
            "--target-wait-seconds": "20", "--service-level": "0.8"}  # fmt: skip
    args[flag] = value
    argv = ["staffing", *[x for kv in args.items() for x in kv]]
    assert run.main(argv) == 2
    assert message in capsys.readouterr().err
