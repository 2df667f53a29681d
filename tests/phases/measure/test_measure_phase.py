"""The MEASURE phase against the real stack (Prometheus, Pushgateway, Alertmanager), the example
service as a local process, and the Grafana stand-in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.core.errors import Unreachable
from bmad.engine.wiring.measure import make_plugin
from tests.helpers import free_port
from tests.phase_harness import run_phase
from tests.phases.measure.conftest import (
    BROKEN_RULES,
    GOOD_RULES,
    config_yaml,
    make_ctx,
    traffic,
    wait_for_rate,
)
from tests.stand_ins.grafana import GrafanaStandIn

pytestmark = pytest.mark.stack

TOKEN = "glsa_measure_test_token"


@pytest.fixture
def grafana(stack: Any) -> Iterator[GrafanaStandIn]:
    with GrafanaStandIn(
        token=TOKEN,
        datasources=[
            {"uid": "prom", "name": "Prometheus", "type": "prometheus", "url": stack.prometheus_url, "isDefault": True}
        ],
    ) as stand_in:
        yield stand_in


def grafana_yaml(grafana: GrafanaStandIn) -> str:
    return f"grafana: {{url: '{grafana.url}', token: {{env: BMAD_TEST_GRAFANA_TOKEN}}}}"


def install_dashboards_with_cli(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bmad", "dashboards", "install", "-c", str(config)],
        env={**os.environ, "BMAD_TEST_GRAFANA_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_all_healthy(
    stack: Any,
    hello_service: Callable[..., str],
    scraped: Callable[..., None],
    grafana: GrafanaStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = hello_service()
    scraped({"hello": [url.removeprefix("http://")]}, rules=[GOOD_RULES])
    traffic(url)
    wait_for_rate(stack, "hello")
    yaml_text = config_yaml(stack, service_url=url, grafana=grafana_yaml(grafana))
    ctx = make_ctx(tmp_path, yaml_text)
    install_dashboards_with_cli(tmp_path / "bmad.yaml")  # `bmad dashboards install`, then MEASURE sees them
    monkeypatch.setenv("BMAD_TEST_GRAFANA_TOKEN", TOKEN)

    run = run_phase(make_plugin(ctx), ctx)

    statuses = {r.id: r.status.value for r in run.results}
    assert set(statuses.values()) == {"pass"}, {r.id: (r.status.value, r.summary) for r in run.results}
    # The guide's metric block.
    uptime = run.metrics["prometheus_uptime_seconds"]
    assert isinstance(uptime, int) and uptime >= 0
    assert run.metrics["alert_rules_loaded"] == 3
    assert run.metrics["grafana_dashboards_count"] == 4
    assert run.metrics["baseline_captured"] is True
    # Baselines: every default figure, a value now and a window summary.
    baseline = run.artifacts["baseline"]
    assert set(baseline) == {"cpu", "memory", "request_rate", "error_rate", "p95_latency"}
    for name, figure in baseline.items():
        assert figure["no_data"] is False, name
        assert figure["min"] <= figure["avg"] <= figure["max"], name
        assert figure["query"] and 'job="hello"' in figure["query"]
    assert baseline["memory"]["value"] > 1_000_000
    assert baseline["request_rate"]["value"] > 0 and baseline["error_rate"]["value"] == 0
    # End to end.
    e2e = run.result("measure.e2e_metric")
    assert 0 < e2e.evidence["seconds_to_visible"] < 15 and e2e.evidence["group_deleted"] is True
    # Load test: the levels in order, sane figures.
    levels = run.artifacts["load_test"]
    assert [level["concurrency"] for level in levels] == [5, 10, 20]
    for level in levels:
        assert level["requests"] > 0 and level["success_rate"] == 1.0 and level["errors"] == {}
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
        assert level["p95"] == pytest.approx(level["p95_ms"] / 1000)
    assert run.metrics["load_test_c20_requests"] == levels[2]["requests"]
    assert run.metrics["load_test_c5_success_rate"] == 1.0
    # Evidence written, no secret in it.
    evidence_root = Path(ctx.evidence.root)
    assert (evidence_root / "measure" / "baseline.json").is_file()
    assert all(TOKEN not in p.read_text() for p in evidence_root.rglob("*") if p.is_file())


def test_prometheus_down_is_unreachable_with_a_clear_message(stack: Any, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None, prometheus_url=dead))
    plugin = make_plugin(ctx)
    check = next(c for c in plugin.checks(ctx) if c.id == "measure.prometheus")
    with pytest.raises(Unreachable) as down:
        check.run(ctx)
    assert dead in str(down.value) and "prometheus_url" in (down.value.hint or "")
    run = run_phase(plugin, ctx)
    failed = run.result("measure.prometheus")
    assert failed.status.value == "fail" and failed.evidence["error_type"] == "Unreachable"
    for dependent in ("measure.scrape_job", "measure.alert_rules", "measure.baselines", "measure.e2e_metric"):
        assert run.status(dependent) == "skip"
    # The guide's block is complete: not measured is None, never a made-up figure.
    guide = ("prometheus_uptime_seconds", "grafana_dashboards_count", "alert_rules_loaded", "baseline_captured")
    assert {key: run.metrics[key] for key in guide} == {
        "prometheus_uptime_seconds": None,
        "grafana_dashboards_count": None,
        "alert_rules_loaded": None,
        "baseline_captured": None,
    }


def test_prometheus_down_exits_3_from_the_cli(stack: Any, git_repo: Callable[..., Path]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    repo = git_repo(files={"bmad.yaml": config_yaml(stack, service_url=None, prometheus_url=dead)})
    done = subprocess.run(
        [sys.executable, "-m", "bmad", "measure", "-c", str(repo / "bmad.yaml"), "--force", "--reason", "test"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert dead.removeprefix("http://") in done.stdout + done.stderr


def test_rule_failing_at_evaluation_shows_group_health(
    stack: Any, scraped: Callable[..., None], tmp_path: Path
) -> None:
    scraped({}, rules=[GOOD_RULES, BROKEN_RULES])
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None))
    check = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.alert_rules")
    deadline = time.monotonic() + 10
    result = check.run(ctx)
    while "DuplicateMatch" not in result.summary and time.monotonic() < deadline:  # evaluated every 1 s
        time.sleep(0.2)
        result = check.run(ctx)
    assert result.status.value == "fail"
    assert "DuplicateMatch" in result.summary and "many-to-many" in result.summary
    broken = next(g for g in result.evidence["groups"] if g["name"] == "broken")
    assert broken["errors"][0]["health"] == "err"
    assert result.metrics["alert_rules_loaded"] == 4


def test_failed_reload_is_shown(stack: Any, scraped: Callable[..., None], tmp_path: Path) -> None:
    import urllib.request

    scraped({}, rules=[GOOD_RULES])
    rule_file = tmp_path / "rules-0.yml"
    rule_file.write_text("groups: [{name: x, rules: [{alert: A, expr: 'sum('}]}]\n", encoding="utf-8")
    request = urllib.request.Request(f"{stack.prometheus_url}/-/reload", method="POST")
    try:
        with pytest.raises(urllib.error.HTTPError):  # Prometheus refuses the file
            urllib.request.urlopen(request, timeout=10)
        ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None))
        run = run_phase(make_plugin(ctx), ctx)
        rules = run.result("measure.alert_rules")
        assert rules.status.value == "fail" and "reload failed" in rules.summary
        assert run.status("measure.prometheus") == "warn" and "FAILED" in run.result("measure.prometheus").summary
    finally:
        rule_file.write_text(GOOD_RULES, encoding="utf-8")
        urllib.request.urlopen(urllib.request.Request(f"{stack.prometheus_url}/-/reload", method="POST"), timeout=10)


def test_fewer_rules_than_expected(stack: Any, scraped: Callable[..., None], tmp_path: Path) -> None:
    scraped({}, rules=[GOOD_RULES])
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None, min_rules=25))
    result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.alert_rules").run(ctx)
    assert result.status.value == "fail"
    assert "3 rules loaded, fewer than the 25 expected" in result.summary
    assert result.evidence["alerting"] == 2 and result.evidence["recording"] == 1


NO_DATA_QUERIES = """\
baselines:
  - {name: pushgateway_up, query: 'sum(up{job="pushgateway"})'}
  - {name: ghost, query: 'sum(bmad_metric_nobody_exports{job="{job}"})', no_data: %s}
"""


@pytest.mark.parametrize(("policy", "status"), [("fail", "fail"), ("warn", "warn"), ("skip", "pass")])
def test_no_data_follows_the_query_policy(stack: Any, tmp_path: Path, policy: str, status: str) -> None:
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None, measure=NO_DATA_QUERIES % policy))
    result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.baselines").run(ctx)
    assert result.status.value == status, result.summary
    ghost = result.artifacts["baseline"]["ghost"]
    assert ghost["no_data"] is True and ghost["value"] is None  # explicit, never a silent zero
    assert ghost["no_data_policy"] == policy
    assert "ghost" in result.summary and "no data" in result.summary
    assert result.artifacts["baseline"]["pushgateway_up"]["value"] == 1.0
    assert result.metrics["baseline_captured"] is (policy != "fail")


def test_bad_baseline_query_is_a_failure_not_no_data(stack: Any, tmp_path: Path) -> None:
    measure = "baselines:\n  - {name: broken, query: 'sum(', no_data: skip}\n"
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None, measure=measure))
    result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.baselines").run(ctx)
    assert result.status.value == "fail" and "parse error" in result.observed
    assert result.artifacts["baseline"]["broken"]["no_data"] is False


def test_sweep_stops_at_the_first_level_breaking_the_slo(
    stack: Any, hello_service: Callable[..., str], tmp_path: Path
) -> None:
    url = hello_service(fault="errors")
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=url))
    result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.load_test").run(ctx)
    assert result.status.value == "warn"
    levels = result.artifacts["load_test"]
    assert [level["concurrency"] for level in levels] == [5]
    assert levels[0]["errors"].get("http_500", 0) > 0 and "error rate" in levels[0]["slo_breach"]
    assert result.evidence["not_run"] == [10, 20]


def test_sweep_at_a_host_not_allowed_is_refused(stack: Any, hello_service: Callable[..., str], tmp_path: Path) -> None:
    url = hello_service()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    other = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        load_test = f"{{levels: [5], duration_seconds: 1, request: {{url: '{other}'}}}}"
        yaml_text = config_yaml(stack, service_url=url, load_test=load_test)
        ctx = make_ctx(tmp_path, yaml_text)
        result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.load_test").run(ctx)
        assert result.status.value == "fail"
        assert "refusing to load-test" in result.summary and "allowed_hosts" in result.summary
        with pytest.raises(BlockingIOError):  # not a single connection was made
            listener.accept()
    finally:
        listener.close()


def test_first_release_skips_the_sweep_and_tolerates_down_targets(
    stack: Any, scraped: Callable[..., None], tmp_path: Path
) -> None:
    nothing = f"127.0.0.1:{free_port()}"
    job = f"first-{uuid.uuid4().hex[:8]}"  # a job Prometheus never had data for
    scraped({job: [nothing]}, rules=[GOOD_RULES])
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=f"http://{nothing}", job=job), deployed=False)
    run = run_phase(make_plugin(ctx), ctx)
    sweep = run.result("measure.load_test")
    assert sweep.status.value == "skip" and "first release" in sweep.summary
    scrape = run.result("measure.scrape_job")
    assert scrape.status.value == "warn" and "nothing is deployed" in scrape.summary
    assert run.status("measure.baselines") == "warn"  # no data, policy warn: explicit
    assert run.metrics["baseline_captured"] is False


def test_grafana_not_configured_is_skipped_with_a_reason(stack: Any, tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None))
    run = run_phase(make_plugin(ctx), ctx)
    for check_id in ("measure.grafana.health", "measure.grafana.dashboards", "measure.grafana.datasource"):
        result = run.result(check_id)
        assert result.status.value == "skip" and "Grafana is not configured" in result.summary, check_id
    assert run.metrics["grafana_dashboards_count"] is None


def test_grafana_missing_dashboards_then_installed(
    stack: Any, grafana: GrafanaStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BMAD_TEST_GRAFANA_TOKEN", TOKEN)
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=None, grafana=grafana_yaml(grafana)))
    checks = {c.id: c for c in make_plugin(ctx).checks(ctx)}
    missing = checks["measure.grafana.dashboards"].run(ctx)
    assert missing.status.value == "fail" and missing.metrics["grafana_dashboards_count"] == 0
    assert "bmad dashboards install" in missing.fix
    install_dashboards_with_cli(tmp_path / "bmad.yaml")
    present = checks["measure.grafana.dashboards"].run(ctx)
    assert present.status.value == "pass" and present.metrics["grafana_dashboards_count"] == 4
    assert checks["measure.grafana.datasource"].run(ctx).status.value == "pass"
    grafana.datasources[0]["url"] = f"http://127.0.0.1:{free_port()}"
    broken = checks["measure.grafana.datasource"].run(ctx)
    assert broken.status.value == "fail" and broken.observed


def test_sweep_at_a_deployment_that_does_not_answer_fails(stack: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ctx = make_ctx(tmp_path, config_yaml(stack, service_url=url, load_test="{levels: [5, 10], duration_seconds: 0.5}"))
    result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.load_test").run(ctx)
    assert result.status.value == "fail" and "does not accept connections" in result.summary
    assert [level["concurrency"] for level in result.artifacts["load_test"]] == [5]


def test_kubernetes_targets_get_pod_and_node_baselines(stack: Any, tmp_path: Path) -> None:
    """cAdvisor / node-exporter figures, fed through the real Pushgateway -> Prometheus path."""
    from bmad.adapters.pushgateway import PushgatewayClient

    namespace = f"ns{uuid.uuid4().hex[:8]}"
    gateway = PushgatewayClient(stack.pushgateway_url)
    grouping = {"instance": namespace}

    def push(cpu: float) -> None:
        lines = [
            f'container_cpu_usage_seconds_total{{namespace="{namespace}",pod="hello-{i}",container="hello"}} {cpu * i}'
            for i in (1, 2)
        ]
        lines += [
            f'container_memory_working_set_bytes{{namespace="{namespace}",pod="hello-{i}",container="hello"}} {i * 1e6}'
            for i in (1, 2)
        ]
        gateway.push("bmad_kube_test", "\n".join(lines), grouping=grouping)

    from bmad.adapters.prometheus import PrometheusClient
    from tests.helpers import wait_for

    prom = PrometheusClient(stack.prometheus_url)
    try:
        push(10.0)
        wait_for(lambda: prom.query(f'container_cpu_usage_seconds_total{{namespace="{namespace}"}}'), timeout=15)
        push(20.0)
        rate = f'rate(container_cpu_usage_seconds_total{{namespace="{namespace}"}}[10s]) > 0'
        wait_for(lambda: prom.query(rate), timeout=15, interval=0.2)
        yaml_text = config_yaml(stack, service_url=None).replace(
            "  staging:\n", f"  staging:\n    target: {{kind: kubernetes, kubernetes: {{namespace: {namespace}}}}}\n"
        )
        ctx = make_ctx(tmp_path, yaml_text)
        result = next(c for c in make_plugin(ctx).checks(ctx) if c.id == "measure.baselines").run(ctx)
    finally:
        gateway.delete("bmad_kube_test", grouping=grouping)
    pods = result.artifacts["baseline_pods"]
    assert set(pods) == {"hello-1", "hello-2"}
    assert pods["hello-2"]["memory_bytes"] == 2e6 and pods["hello-2"]["cpu_cores"] > pods["hello-1"]["cpu_cores"] > 0
    assert result.artifacts["baseline"]["pods_memory"]["value"] == 3e6
    assert result.artifacts["baseline_nodes"] == {}  # no node-exporter here: empty, not invented
    assert result.artifacts["baseline"]["nodes_cpu"]["no_data"] is True
