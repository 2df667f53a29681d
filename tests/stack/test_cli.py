"""`bmad stack up|down|status|env` through the real command line (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port, http_get, port_open

pytestmark = pytest.mark.stack


def bmad(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "bmad", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def test_up_status_env_down(tmp_path: Path) -> None:
    from bmad.stack import missing_programs

    if missing_programs(("pushgateway", "prometheus")):
        pytest.skip("prometheus / pushgateway not installed")
    directory = tmp_path / "stack"
    prom, push = free_port(), free_port()
    rules = Path(__file__).resolve().parents[2] / "examples" / "hello" / "monitoring" / "alerts.yml"
    common = ["--dir", str(directory)]
    first = bmad(
        "stack", "up", *common, "--only", "pushgateway", "--only", "prometheus",
        "--prometheus-port", str(prom), "--pushgateway-port", str(push),
        "--scrape", "hello=127.0.0.1:1", "--rules", str(rules), "--json",
    )  # fmt: skip
    try:
        assert first.returncode == 0, first.stderr
        up_doc = json.loads(first.stdout)
        pids = {c["name"]: c["pid"] for c in up_doc["components"]}
        assert set(pids) == {"pushgateway", "prometheus"} and all(pids.values())
        assert up_doc["env"]["BMAD_PROMETHEUS_URL"] == f"http://127.0.0.1:{prom}"
        # the example's alert rules are loaded
        _, body = http_get(f"http://127.0.0.1:{prom}/api/v1/rules")
        names = {r["name"] for g in json.loads(body)["data"]["groups"] for r in g["rules"]}
        assert {"HelloDown", "HelloHighErrorRate", "HelloHighLatencyP95"} <= names

        again = bmad("stack", "up", *common, "--json")  # idempotent: settings from the state file
        assert again.returncode == 0, again.stderr
        assert {c["name"]: c["pid"] for c in json.loads(again.stdout)["components"]} == pids

        status = bmad("stack", "status", *common, "--json")
        assert status.returncode == 0
        assert {c["name"]: c["state"] for c in json.loads(status.stdout)["components"]} == {
            "pushgateway": "running",
            "prometheus": "running",
        }
        env = bmad("stack", "env", *common)
        # only variables something reads (issue 14): the component URLs are in `stack status --json`
        exported = dict(line.removeprefix("export ").split("=", 1) for line in env.stdout.splitlines())
        assert set(exported) == {"DOCKER_HOST", "BMAD_PROMETHEUS_FILE_SD_DIR"}
        assert exported["BMAD_PROMETHEUS_FILE_SD_DIR"] == str(directory.resolve() / "file_sd")
        assert json.loads(status.stdout)["env"]["BMAD_PUSHGATEWAY_URL"] == f"http://127.0.0.1:{push}"
    finally:
        down = bmad("stack", "down", *common, "--json")
    assert down.returncode == 0, down.stderr
    assert set(json.loads(down.stdout)["stopped"]) == {"pushgateway", "prometheus"}
    assert not port_open(prom) and not port_open(push)
    after = bmad("stack", "status", *common, "--json")
    assert after.returncode == 3
    assert {c["state"] for c in json.loads(after.stdout)["components"]} == {"stopped"}


def test_status_without_a_stack_is_a_usage_error(tmp_path: Path) -> None:
    result = bmad("stack", "status", "--dir", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "no local stack" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_scrape_option_is_a_usage_error(tmp_path: Path) -> None:
    result = bmad("stack", "up", "--dir", str(tmp_path / "s"), "--only", "pushgateway", "--scrape", "nojob")
    assert result.returncode == 2
    assert "JOB=HOST:PORT" in result.stderr
    assert not (tmp_path / "s" / "state.json").exists()


def test_unknown_component_is_a_usage_error(tmp_path: Path) -> None:
    result = bmad("stack", "up", "--dir", str(tmp_path / "s"), "--only", "grafana")
    assert result.returncode == 2
    assert "unknown stack component 'grafana'" in result.stderr


def test_down_without_a_stack_does_nothing(tmp_path: Path) -> None:
    result = bmad("stack", "down", "--dir", str(tmp_path / "none"))
    assert result.returncode == 0
    assert "nothing was running" in result.stdout
