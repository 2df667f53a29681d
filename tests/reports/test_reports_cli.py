"""`bmad metrics`, `bmad report` and `bmad runbook` over a ledger with known data (BMAD_LEDGER_URL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bmad.ledger import Ledger
from tests.cli.invoke import Invocation, invoke
from tests.reports.reports_data import SPECS

Cli = Callable[[list[str]], Invocation]


@pytest.fixture
def cli(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BMAD_LEDGER_URL", ledger.url)
    monkeypatch.setenv("COLUMNS", "200")
    return invoke


def test_metrics_json(cli: Cli) -> None:
    result = cli(["metrics", "--service", "hello", "--env", "dev", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["deployments"] == 4
    assert data["by_result"] == {"success": 3, "rolled_back": 1, "failed": 0, "blocked": 1}
    assert data["success_rate"] == 0.75
    assert data["deployment_time_seconds"] == {"count": 4, "mean": 1125.0, "p50": 1050.0, "p90": 1620.0}
    assert data["dora"]["lead_time_seconds"]["p50"] == 4800.0
    assert data["dora"]["change_failure_rate"] == 0.25
    assert data["mttr_seconds"]["mean"] == 90.0


def test_metrics_period_and_table(cli: Cli) -> None:
    result = cli(["metrics", "-s", "all", "--since", "2026-01-06", "--until", "2026-01-08"])
    assert result.exit_code == 0, result.output
    assert "### Framework Metrics (2 Deployments)" in result.stdout
    assert "| **Success Rate** | >95% | 50% (1/2) | ✗ |" in result.stdout
    assert "| **MTTR** | <10 min | 1.5 min avg | ✓ |" in result.stdout


def test_metrics_prometheus_format(cli: Cli) -> None:
    result = cli(["metrics", "--service", "hello", "--format", "prometheus"])
    assert result.exit_code == 0, result.output
    assert 'bmad_framework_success_ratio{env="",service="hello"} 0.75' in result.stdout
    assert 'bmad_dora_change_failure_ratio{env="",service="hello"} 0.25' in result.stdout


def test_metrics_bad_time_is_a_usage_error(cli: Cli) -> None:
    result = cli(["metrics", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "cannot read the time 'last tuesday'" in result.stderr


def test_report_and_runbook(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    result = cli(["report", SPECS[2].version[:8], "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "rolled_back"
    assert Path(data["report_html"]).is_file() and Path(data["runbook_html"]).is_file()
    result = cli(["runbook", "#1", "--out", str(out), "--checklist"])
    assert result.exit_code == 0, result.output
    assert "# Pre-Deployment Checklist: hello aaaaaaaaaaaa (dev)" in result.stdout
    assert "- [x] ✓ Integration tests: 36/36 passed" in result.stdout
    latest = cli(["runbook", "--out", str(out)])
    assert latest.exit_code == 0, latest.output
    assert f"**Version**: {'e' * 40}" in latest.stdout


def test_unknown_release_is_a_usage_error(cli: Cli) -> None:
    result = cli(["report", "0123456789"])
    assert result.exit_code == 2
    assert "no release '0123456789' in the ledger" in result.stderr


def test_demo_command_is_registered(cli: Cli) -> None:
    result = cli(["demo", "--help"])
    assert result.exit_code == 0, result.output
    assert "--dir" in result.stdout and "--stack-dir" in result.stdout


def test_no_ledger_here_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BMAD_LEDGER_URL", raising=False)
    result = invoke(["metrics"])
    assert result.exit_code == 2
    assert "no ledger here" in result.stderr
    assert not (tmp_path / ".bmad").exists()
