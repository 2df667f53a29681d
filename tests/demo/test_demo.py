"""`bmad demo` end to end on the real stack (Podman API, registry, Prometheus, Pushgateway, Alertmanager).

Two releases of examples/hello: the first must deploy, the second (HELLO_FAULT=errors) must be
caught by post-deploy verification and rolled back; the ledger, the documents, the metrics table
and the Pushgateway must all show it.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import EXAMPLES

pytestmark = [pytest.mark.engine, pytest.mark.stack, pytest.mark.slow, pytest.mark.timeout(300)]


def test_demo_good_release_then_rolled_back_release(stack: Any, tmp_path: Path) -> None:
    from bmad.demo import remove_demo, run_demo

    # The example's "dev" environment under a name of its own: parallel test sessions share the
    # container engine's storage, and must never see each other's replicas.
    environment = f"dev-{uuid.uuid4().hex[:6]}"
    lines: list[str] = []
    rule_files = list(stack.settings.rule_files)  # the demo adds the example's rules to the shared stack
    try:
        result = run_demo(tmp_path / "demo", stack=stack, examples=EXAMPLES, environment=environment, say=lines.append)
        _check(result, environment, stack, "\n".join([*lines, *result.summary_lines()]))
        _check_down(result, environment, stack, tmp_path)
    finally:
        remove_demo(stack, environment)
        stack.set_rule_files(rule_files)  # e.g. its Watchdog alert would reach other tests' webhooks


def _check_down(result: Any, environment: str, stack: Any, tmp_path: Path) -> None:
    """The demo says where release 1 still serves and how to remove it; `bmad demo --down` does."""
    from bmad.adapters.engine_client import connect_engine
    from tests.engine.support import bmad

    summary = "\n".join(result.summary_lines())
    assert result.serving, summary
    assert f"still serving: http://{result.serving[0]}" in summary, summary
    assert f"`bmad demo --down -e {environment}` removes it" in summary, summary
    assert requests.get(f"http://{result.serving[0]}/", timeout=5).status_code == 200
    done = bmad("demo", "--down", "--stack-dir", str(stack.root), "-e", environment, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"environment": environment, "removed_containers": len(result.serving)}
    assert not (stack.file_sd_dir / f"hello-{environment}.json").exists()
    client = connect_engine(stack.docker_host)
    try:
        labels = ["bmad.service=hello", f"bmad.environment={environment}"]
        assert client.containers.list(all=True, filters={"label": labels}) == []
    finally:
        client.close()


def _check(result: Any, environment: str, stack: Any, log: str) -> None:
    from bmad.config.loader import load_config
    from bmad.engine.runner import open_ledger
    from bmad.reports.metrics import render_table
    from bmad.reports.source import load_releases

    # Both releases recorded in the ledger, the second one rolled back.
    config = load_config(result.config_path)
    ledger = open_ledger(config)
    try:
        views = load_releases(ledger, service="hello", environment=environment)
    finally:
        ledger.close()
    assert [v.outcome.value for v in views] == ["success", "rolled_back"], log
    assert result.ok, log
    # One engine run per release, all four phases; release 2's MEASURE saw release 1 serving (on
    # whichever port slot) through service discovery: its scrape job up and its load test run.
    assert list(result.releases[1].phases) == ["build", "measure", "analyze", "deploy"], log
    assert result.releases[1].phases["measure"] == "passed", log
    _check_discovery(config, stack, environment, views[0].version, log)
    assert result.releases[1].phases["deploy"] == "failed", log
    assert any(f.startswith(("deploy.verify", "deploy.smoke")) for f in result.releases[1].failures), log
    bad = views[1]
    assert bad.rollback is not None and bad.rollback.recovered, log
    assert bad.rollback.to_version == views[0].version

    # The framework metrics: 1 success, 1 rollback.
    metrics = result.metrics
    assert (metrics.deployments, metrics.successful, metrics.rolled_back) == (2, 1, 1)
    table = render_table(metrics)
    assert "| **Success Rate** | >95% | 50% (1/2) | ✗ |" in table
    assert "| **Rollback Rate** | <5% | 50% (1/2) | ✗ |" in table
    assert "1 success, 1 rolled back, 0 failed" in table
    assert metrics.mttr.mean is not None and metrics.mttr.mean > 0

    # Runbooks and reports of both releases.
    for release in result.releases:
        outputs = release.published.outputs
        assert outputs is not None, release.published.problems
        assert outputs.files["report_html"].stat().st_size > 5000
        assert any(key.startswith("junit:build-") for key in outputs.files), sorted(outputs.files)
    runbook = result.releases[1].published.outputs.files["runbook_md"].read_text()  # type: ignore[union-attr]
    assert "**Outcome**: rolled back" in runbook
    assert "- Rollback complete: " in runbook and "never recovered" not in runbook

    # bmad's own metrics reached the Pushgateway.
    text = requests.get(f"{stack.pushgateway_url}/metrics", timeout=10).text
    # one group per (ledger, service, environment): the ledger label is a hash of the ledger's URL
    labels = re.escape(f'env="{environment}",instance="",job="bmad",') + 'ledger="[0-9a-f]{12}"'
    assert re.search(labels + re.escape(',result="rolled_back",service="hello"} 1'), text), text[-2000:]
    assert re.search(labels + re.escape(',result="success",service="hello"} 1'), text)
    assert re.search(labels + re.escape(',service="hello"} 1'), text.split("bmad_rollbacks_total", 1)[-1])
    for ledger_id in set(re.findall(labels.replace('ledger="[0-9a-f]{12}"', 'ledger="([0-9a-f]{12})"'), text)):
        group = f"job/bmad/service/hello/env/{environment}/ledger/{ledger_id}"
        requests.delete(f"{stack.pushgateway_url}/metrics/{group}", timeout=10)


def _check_discovery(config: Any, stack: Any, environment: str, good_version: str, log: str) -> None:
    """After the rollback, the discovery file lists release 1's replicas and Prometheus scrapes them."""
    import json

    from bmad.core.models import PhaseName
    from bmad.engine.runner import open_ledger

    path = stack.file_sd_dir / f"hello-{environment}.json"
    groups = json.loads(path.read_text())
    assert len(groups) == 1, groups
    assert groups[0]["labels"] == {"job": "hello", "environment": environment, "release": good_version[:12]}
    assert len(groups[0]["targets"]) == 2
    ledger = open_ledger(config)
    try:
        releases = ledger.list_releases(service="hello", environment=environment)
        bad = next(h for h in releases if h.release.version != good_version)
        deploy = bad.latest(PhaseName.DEPLOY)
        assert deploy is not None
        measure = bad.latest(PhaseName.MEASURE)
        assert measure is not None
    finally:
        ledger.close()
    checks = {c.id: c for c in measure.checks}
    assert checks["measure.scrape_job"].status.value == "pass", checks["measure.scrape_job"].summary
    assert checks["measure.load_test"].status.value in ("pass", "warn"), checks["measure.load_test"].summary
    verify = next(c for c in deploy.checks if c.id == "deploy.verify")
    smoke = next(c for c in deploy.checks if c.id == "deploy.smoke")
    # The bad release passes its smoke tests; post-deploy verification is what catches it.
    assert smoke.status.value == "pass", (smoke.summary, log)
    assert verify.status.value == "fail", (verify.summary, log)
    discovery = verify.evidence["discovery"]
    assert discovery["ok"] and discovery["expected"] == 2, (discovery, log)
    assert f'release="{bad.release.version[:12]}"' in discovery["query"]
