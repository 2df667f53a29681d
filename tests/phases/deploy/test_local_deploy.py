"""DEPLOY on the local target: the real Podman API, the real registry and Prometheus, the example service."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bmad.engine.wiring.deploy import make_plugin, make_target
from tests.helpers import free_port_block, http_get
from tests.phase_harness import run_phase
from tests.phases.deploy.conftest import PushedImage, dump, make_ctx, measured

pytestmark = [pytest.mark.engine, pytest.mark.stack, pytest.mark.slow]

SERVICE = "hello"


def config_yaml(
    environment: str,
    port_base: int,
    prometheus_url: str,
    *,
    env: dict[str, str],
    docker_host: str = "",
    replicas: int = 2,
    smoke: str = "",
    verification: str = "",
    rollout_timeout: float = 20,
    file_sd: str = "",
    job: str = "",
) -> str:
    env_lines = "\n".join(f"            {k}: {json.dumps(v)}" for k, v in env.items()) or "            {}"
    return textwrap.dedent(
        """\
        version: 1
        service: {{name: {service}}}
        environments:
          {environment}:
            monitoring: {{prometheus_url: "{prom}"}}
            target:
              kind: local
              local:
                replicas: {replicas}
                host_port_base: {port_base}
                stop_timeout_seconds: 3
                docker_host: "{docker_host}"
                prometheus_file_sd: {file_sd}
                env:
        {env_lines}
        measure: {{scrape_job: {job}}}
        deploy:
          rollout_timeout_seconds: {rollout_timeout}
          rollback_timeout_seconds: 30
          probe_interval_seconds: 0.1
          smoke:
            health_timeout_seconds: 5
            expected_metrics: [http_requests_total, http_request_duration_seconds, hello_build_info]
        {smoke}
          verification:
        {verification}
        """
    ).format(
        service=SERVICE,
        environment=environment,
        prom=prometheus_url,
        docker_host=docker_host,
        replicas=replicas,
        port_base=port_base,
        env_lines=env_lines,
        rollout_timeout=rollout_timeout,
        file_sd=json.dumps(file_sd) if file_sd else "null",
        job=json.dumps(job) if job else "null",
        smoke=textwrap.indent(smoke, "    ") if smoke else "",
        verification=textwrap.indent(verification or "enabled: false", "    "),
    )


def deploy(
    tmp_path: Path,
    stack: Any,
    image: PushedImage,
    environment: str,
    version: str,
    port_base: int,
    *,
    env: dict[str, str],
    baseline: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    folder = tmp_path / version
    folder.mkdir(exist_ok=True)
    text = config_yaml(environment, port_base, stack.prometheus_url, env=env, docker_host=stack.docker_host, **kwargs)
    ctx = make_ctx(
        folder,
        text,
        environment,
        version=version,
        previous=measured(baseline or {}),
        options={"image": image.repository, "digest": image.digest},
    )
    return run_phase(make_plugin(ctx), ctx)


def versions_served(urls: list[str]) -> set[str]:
    found = set()
    for url in urls:
        status, body = http_get(url + "/")
        if status == 200:
            found.add(json.loads(body)["version"])
    return found


def target_for(tmp_path: Path, stack: Any, environment: str, port_base: int, engine: Any) -> Any:
    ctx = make_ctx(
        tmp_path / "t",
        config_yaml(environment, port_base, stack.prometheus_url, env={}, docker_host=stack.docker_host),
        environment,
        version="0" * 40,
    )
    return make_target(ctx.config, environment, client=engine)


def test_good_release_then_update_with_zero_downtime(
    tmp_path: Path, stack: Any, engine: Any, pushed_hello: PushedImage, cleanup_service: Any
) -> None:
    environment = "dep-good"
    cleanup_service(SERVICE, environment)
    base = free_port_block(4)
    first = deploy(tmp_path, stack, pushed_hello, environment, "a" * 40, base, env={"HELLO_VERSION": "1.0.1"})
    assert all(r.status.value == "pass" for r in first.results if r.id != "deploy.verify"), dump(first)
    assert first.metrics["pods_running"] == 2
    assert first.metrics["pods_failed"] == 0
    assert first.metrics["smoke_tests_passed"] == 4  # health + metrics on each replica
    assert first.metrics["rollout_successful"] is True
    assert first.metrics["rolled_back"] is False
    assert first.artifacts["digest"] == pushed_hello.digest

    second = deploy(tmp_path, stack, pushed_hello, environment, "b" * 40, base, env={"HELLO_VERSION": "1.0.2"})
    assert second.metrics["rollout_successful"] is True, dump(second)
    assert second.metrics["zero_downtime"] is True, dump(second)
    assert second.metrics["failed_probes"] == 0

    target = target_for(tmp_path, stack, environment, base, engine)
    status = target.status(SERVICE, environment)
    assert status["active"]["release"] == "b" * 40
    assert status["previous"]["release"] == "a" * 40  # kept, stopped, for a fast rollback
    assert all(r["status"] == "exited" for r in status["previous"]["replicas"])
    assert versions_served(target.serving_endpoints(SERVICE, environment)) == {"1.0.2"}
    # `bmad target` reads the same state back from the engine's labels.
    from tests.cli.invoke import invoke

    config_path = tmp_path / ("b" * 40) / "bmad.yaml"
    shown = invoke(["target", "-c", str(config_path), "--env", environment])
    assert shown.exit_code == 0, shown.output
    assert f"active    {'b' * 12}" in shown.output and f"previous  {'a' * 12}" in shown.output, shown.output
    # Replica containers carry the labels the state is read back from.
    labels = engine.containers.list(filters={"label": [f"bmad.environment={environment}"]})[0].labels
    assert {"bmad.service", "bmad.environment", "bmad.release", "bmad.generation"} <= set(labels)


def test_crash_looping_release_is_rolled_back(
    tmp_path: Path, stack: Any, engine: Any, pushed_hello: PushedImage, cleanup_service: Any
) -> None:
    environment = "dep-crash"
    cleanup_service(SERVICE, environment)
    base = free_port_block(4)
    good = deploy(tmp_path, stack, pushed_hello, environment, "a" * 40, base, env={"HELLO_VERSION": "1.0.1"})
    assert good.metrics["rollout_successful"] is True, dump(good)

    bad = deploy(
        tmp_path,
        stack,
        pushed_hello,
        environment,
        "c" * 40,
        base,
        env={"HELLO_VERSION": "1.0.3", "HELLO_FAULT": "crash"},
    )
    rollout = bad.result("deploy.rollout")
    assert rollout.status.value == "fail", dump(bad)
    assert bad.metrics["pods_failed"] >= 1
    diagnosis = rollout.evidence["diagnosis"]
    assert any(d["symptom"] == "CrashLoopBackOff" for d in diagnosis), diagnosis
    assert any("HELLO_FAULT=crash" in line for d in diagnosis for line in d["evidence"]), diagnosis
    assert bad.status("deploy.rollback") == "pass", dump(bad)
    assert bad.metrics["rolled_back"] is True
    assert bad.metrics["rollout_successful"] is False
    assert 0 <= bad.metrics["mttr_seconds"] < 30
    rollback = bad.artifacts["rollback"]
    assert rollback["manual"] is False and rollback["to_version"] == "a" * 40
    assert rollback["detected_at"] <= rollback["recovered_at"]

    target = target_for(tmp_path, stack, environment, base, engine)
    assert versions_served(target.serving_endpoints(SERVICE, environment)) == {"1.0.1"}
    status = target.status(SERVICE, environment)
    assert [g["release"] for g in status["generations"]] == ["a" * 40]  # no orphan of the bad release


def test_release_failing_its_smoke_suite_is_rolled_back(
    tmp_path: Path, stack: Any, engine: Any, pushed_hello: PushedImage, cleanup_service: Any
) -> None:
    environment = "dep-smoke"
    cleanup_service(SERVICE, environment)
    base = free_port_block(4)
    suite = tmp_path / "smoke_suite.py"
    suite.write_text(
        textwrap.dedent(
            """\
            import json, os, sys, urllib.request
            url = os.environ["HELLO_URL"]
            body = json.load(urllib.request.urlopen(url + "/", timeout=5))
            ok = body.get("message", "").startswith("hello")
            case = '<testcase classname="smoke" name="greeting"/>' if ok else (
                '<testcase classname="smoke" name="greeting"><failure message="wrong greeting"/></testcase>')
            head = '<testsuite name="smoke" tests="2"><testcase classname="smoke" name="reachable"/>'
            xml = head + case + '</testsuite>'
            open("smoke-junit.xml", "w").write(xml)
            sys.exit(0 if ok else 1)
            """
        )
    )
    smoke = textwrap.dedent(
        f"""\
        command: [{json.dumps(__import__("sys").executable)}, {json.dumps(str(suite))}]
        url_env: HELLO_URL
        junit: smoke-junit.xml
        """
    )
    good = deploy(
        tmp_path, stack, pushed_hello, environment, "a" * 40, base, env={"HELLO_VERSION": "1.0.1"}, smoke=smoke
    )
    assert good.metrics["smoke_tests_passed"] == 6, dump(good)  # 4 endpoint checks + 2 suite cases

    bad = deploy(
        tmp_path,
        stack,
        pushed_hello,
        environment,
        "d" * 40,
        base,
        env={"HELLO_VERSION": "1.0.4", "HELLO_MESSAGE": "bye"},
        smoke=smoke,
    )
    smoke_result = bad.result("deploy.smoke")
    assert smoke_result.status.value == "fail", dump(bad)
    assert smoke_result.evidence["suite"]["junit"]["failed"] == ["smoke.greeting"]
    assert bad.metrics["smoke_tests_failed"] == 1
    assert bad.metrics["smoke_tests_passed"] == 5
    assert bad.status("deploy.cutover") == "skip"
    assert bad.metrics["rolled_back"] is True
    target = target_for(tmp_path, stack, environment, base, engine)
    assert versions_served(target.serving_endpoints(SERVICE, environment)) == {"1.0.1"}


def test_error_rate_rise_caught_by_verification_through_prometheus(
    tmp_path: Path, stack: Any, engine: Any, pushed_hello: PushedImage, cleanup_service: Any
) -> None:
    environment = "dep-errors"
    job = "deploy-errors"
    cleanup_service(SERVICE, environment)
    base = free_port_block(4)
    # No static scrape targets: the local target lists the serving replicas in the stack's file_sd
    # folder at each cut-over and rollback, with the job label below (whichever port slot they use).
    discovery = {"file_sd": str(stack.file_sd_dir), "job": job}
    sd_file = stack.file_sd_dir / f"{SERVICE}-{environment}.json"
    verification = textwrap.dedent(
        f"""\
        window_seconds: 4
        interval_seconds: 1
        settle_seconds: 1
        failures_to_fail: 2  # a loaded machine may scrape late once; two failing rounds in a row fail
        traffic_path: /
        traffic_rps: 20
        no_data: fail
        criteria:
          - name: error_rate
            query: 'sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[4s])) or vector(0)'
            baseline: error_rate
            max_increase: 0.5
          - name: error_ratio
            query: >-
              (sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[4s])) or vector(0))
              / sum(rate(http_requests_total{{job="{job}"}}[4s]))
            baseline: error_ratio
            max_increase: 0.01
        """
    )
    baseline = {
        "error_rate": {"query": "...", "value": 0.0, "min": 0.0, "avg": 0.0, "max": 0.0, "p95": 0.0, "no_data": False},
        "error_ratio": {"query": "...", "value": 0.0, "min": 0.0, "avg": 0.0, "max": 0.0, "p95": 0.0, "no_data": False},
    }
    good = deploy(
        tmp_path,
        stack,
        pushed_hello,
        environment,
        "a" * 40,
        base,
        env={"HELLO_VERSION": "1.0.1"},
        verification=verification,
        baseline=baseline,
        **discovery,
    )
    assert good.status("deploy.verify") == "pass", dump(good)
    scraped = good.result("deploy.verify").evidence["discovery"]
    assert scraped["ok"] and scraped["expected"] == 2 and scraped["seconds"] <= 20, scraped
    assert f'job="{job}"' in scraped["query"] and f'release="{"a" * 12}"' in scraped["query"]

    bad = deploy(
        tmp_path,
        stack,
        pushed_hello,
        environment,
        "e" * 40,
        base,
        env={"HELLO_VERSION": "1.0.5", "HELLO_FAULT": "errors"},
        verification=verification,
        baseline=baseline,
        **discovery,
    )
    verify = bad.result("deploy.verify")
    assert verify.status.value == "fail", dump(bad)
    assert "error_r" in verify.summary
    assert bad.status("deploy.rollout") == "pass" and bad.status("deploy.smoke") == "pass"
    assert bad.metrics["rolled_back"] is True, dump(bad)
    assert bad.metrics["mttr_seconds"] < 15
    # The new release was on the other port slot and was scraped before the window started.
    scraped = verify.evidence["discovery"]
    assert scraped["ok"] and f'release="{"e" * 12}"' in scraped["query"], scraped
    target = target_for(tmp_path, stack, environment, base, engine)
    assert versions_served(target.serving_endpoints(SERVICE, environment)) == {"1.0.1"}
    # After the rollback the discovery file lists release a's replicas again.
    groups = json.loads(sd_file.read_text())
    assert groups[0]["labels"] == {"job": job, "environment": environment, "release": "a" * 12}
    served = sorted(u.removeprefix("http://") for u in target.serving_endpoints(SERVICE, environment))
    assert sorted(groups[0]["targets"]) == served
