"""DEPLOY on the local target's Compose mode: examples/gpu-inference (3 services, default profile,
CPU only) through the real podman-compose on the real Podman API, as the DEPLOY phase runs it."""

from __future__ import annotations

import contextlib
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmad.adapters.compose_file import load_compose_file
from bmad.engine.wiring.deploy import make_plugin, make_target
from tests.helpers import free_port_block, http_get
from tests.phase_harness import PhaseRun, run_phase
from tests.phases.deploy.conftest import PushedImage, dump, make_ctx, measured, push_image

pytestmark = [pytest.mark.engine, pytest.mark.stack, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "gpu-inference"
SERVICE = "gpuinf"
COMPANION_IMAGE = "localhost/gpu-inference:dev"  # what the example's gpu-metrics and cache run


@pytest.fixture(scope="module")
def pushed_inference(engine: Any, stack: Any, base_image: str) -> PushedImage:
    """The example's image, built here (the companions' tag too) and pushed: the release pins it by digest."""
    engine.images.build(
        path=str(EXAMPLE), dockerfile="Containerfile", buildargs={"BASE": base_image}, tag=COMPANION_IMAGE, rm=True
    )
    return push_image(engine, stack.registry, COMPANION_IMAGE, "deploy-tests/gpu-inference", "t1")


def remove_service(engine: Any, prefix: str) -> None:
    """Every container of the service (any earlier run's too) and the networks of the test's projects."""
    from docker.errors import APIError

    found = engine.containers.list(all=True, filters={"label": f"bmad.service={SERVICE}"})
    # Dependents first: the cache and the exporter share the API container's network namespace.
    for container in sorted(found, key=lambda c: -int(c.labels.get("bmad.replica", "0"))):
        container.remove(force=True)
    for network in engine.networks.list():
        if network.name.startswith(prefix):
            with contextlib.suppress(APIError):
                network.remove()


@pytest.fixture
def projects(engine: Any) -> Iterator[str]:
    """A project prefix; the service's containers are removed before and after the test."""
    prefix = f"gpuinf-t{free_port_block(1)}"
    remove_service(engine, "gpuinf-t")
    yield prefix
    remove_service(engine, prefix)


# The post-deploy window on the update: Prometheus scrapes both slots' endpoints (job gpuinf).
VERIFICATION = """\
{enabled: true, window_seconds: 3, interval_seconds: 1, settle_seconds: 2, failures_to_fail: 2, scope_to_release: false,
 criteria: [
   {name: new_release_scraped, query: 'max(inference_build_info{job="gpuinf",release="r2"})', min: 1},
   {name: serving_endpoints, query: 'sum(up{job="gpuinf"})', baseline: serving_endpoints, max_increase: 0, min: 1}]}"""
BASELINE = {"serving_endpoints": {"query": "...", "value": 1.0, "min": 1.0, "avg": 1.0, "max": 1.0, "p95": 1.0}}


def config_yaml(
    environment: str,
    project: str,
    cache_port: int,
    exporter_port: int,
    stack: Any,
    env: str,
    verification: str = "{enabled: false}",
) -> str:
    return textwrap.dedent(
        f"""\
        version: 1
        service: {{name: {SERVICE}}}
        environments:
          {environment}:
            monitoring: {{prometheus_url: "{stack.prometheus_url}"}}
            target:
              kind: local
              local:
                docker_host: "{stack.docker_host}"
                stop_timeout_seconds: 2
                env: {env}
                compose:
                  file: {EXAMPLE / "compose.yml"}
                  service: inference
                  project: {project}
                  ports: {{CACHE_PORT: {cache_port}, EXPORTER_PORT: {exporter_port}}}
                  endpoint: CACHE_PORT
        deploy:
          health_path: /healthz
          rollout_timeout_seconds: 60
          rollback_timeout_seconds: 60
          probe_interval_seconds: 0.1
          smoke:
            health_timeout_seconds: 10
            expected_metrics: [inference_requests_total, inference_build_info]
          verification: VERIFICATION
        """
    ).replace("VERIFICATION", verification)


def deploy(
    tmp_path: Path,
    image: PushedImage,
    version: str,
    text: str,
    environment: str,
    baseline: dict[str, Any] | None = None,
) -> PhaseRun:
    folder = tmp_path / version
    folder.mkdir(exist_ok=True)
    ctx = make_ctx(
        folder,
        text,
        environment,
        version=version,
        previous=measured(baseline or {}),
        options={"image": image.repository, "digest": image.digest},
    )
    return run_phase(make_plugin(ctx), ctx)


def release_served(url: str) -> str | None:
    status, body = http_get(url + "/healthz")
    return json.loads(body)["release"] if status == 200 else None


def test_compose_release_deploys_updates_and_rolls_back_a_bad_cache(
    tmp_path: Path, stack: Any, engine: Any, pushed_inference: PushedImage, projects: str
) -> None:
    """Guards the Compose mode of the local target (absent before): three services deploy as one
    project per release, the update starts beside the old one with zero downtime, the old project is
    stopped only after the cut-over and kept; a bad cache (failing its healthcheck) is rolled back
    automatically to the previous project, which serves again, and diagnose names the cache. The bad
    release fails once the cache spends its healthcheck's budget (start_period + interval x retries),
    not at the rollout timeout (before: it waited the whole timeout, reason ProgressDeadlineExceeded)."""
    environment = "cmp"
    cache, exporter = free_port_block(2), free_port_block(2)

    def text(env: dict[str, str], verification: str = "{enabled: false}") -> str:
        return config_yaml(environment, projects, cache, exporter, stack, json.dumps(env), verification)

    first = deploy(tmp_path, pushed_inference, "a" * 40, text({"RELEASE": "r1"}), environment)
    assert first.metrics["rollout_successful"] is True, dump(first)
    assert first.metrics["smoke_tests_passed"] == 2, dump(first)
    applied = first.result("deploy.apply").evidence["applied"]
    assert applied["project"] == f"{projects}-g1", applied
    assert {c["service"] for c in applied["containers"]} == {"inference", "gpu-metrics", "cache"}
    inference = engine.containers.get(f"{projects}-g1_inference_1")
    assert inference.attrs["Config"]["Image"] == f"{pushed_inference.repository}@{pushed_inference.digest}"
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"

    stack.set_scrape_targets({SERVICE: [f"127.0.0.1:{cache}", f"127.0.0.1:{cache + 1}"]})
    try:
        second = deploy(
            tmp_path, pushed_inference, "b" * 40, text({"RELEASE": "r2"}, VERIFICATION), environment, BASELINE
        )
    finally:
        stack.set_scrape_targets({})
    assert second.status("deploy.verify") == "pass", dump(second)
    assert second.metrics["rollout_successful"] is True, dump(second)
    assert second.metrics["zero_downtime"] is True, dump(second)
    assert release_served(f"http://127.0.0.1:{cache + 1}") == "r2"  # slot 1, beside slot 0
    old = engine.containers.get(f"{projects}-g1_cache_1")
    assert old.status == "exited"  # stopped after the cut-over, kept for a rollback

    # `bmad rollback` without a version: the kept project of the first release serves again.
    target = make_target(second.ctx.config, environment, client=engine)
    back = target.rollback(SERVICE, environment, to=None, progress=second.progress)
    assert back.ready, back
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"
    assert [g["release"] for g in target.status(SERVICE, environment)["generations"]] == ["a" * 40]

    bad = deploy(tmp_path, pushed_inference, "c" * 40, text({"RELEASE": "r3", "CACHE_FAULT": "1"}), environment)
    rollout = bad.result("deploy.rollout")
    assert rollout.status.value == "fail", dump(bad)
    # Failed as soon as the cache spent its healthcheck's budget, long before the 60 s rollout timeout.
    services = {s.name: s for s in load_compose_file(EXAMPLE / "compose.yml").services}
    budget = services["cache"].health_budget.seconds
    assert rollout.evidence["rollout"]["reason"] == "Unhealthy", rollout.evidence["rollout"]
    assert rollout.evidence["rollout"]["seconds"] < budget + 10, rollout.evidence["rollout"]
    diagnosis = rollout.evidence["diagnosis"]
    assert any(d["symptom"] == "Service cache unhealthy" for d in diagnosis), diagnosis
    assert bad.status("deploy.rollback") == "pass", dump(bad)
    assert bad.metrics["rolled_back"] is True
    assert 0 <= bad.metrics["mttr_seconds"] < 60
    assert release_served(f"http://127.0.0.1:{cache}") == "r1"
    status = target.status(SERVICE, environment)
    assert [g["release"] for g in status["generations"]] == ["a" * 40]  # the bad project is gone
    assert target.serving_endpoints(SERVICE, environment) == [f"http://127.0.0.1:{cache}"]
    # `bmad diagnose` builds the Compose target from bmad.yaml: every service is healthy again.
    from tests.cli.invoke import invoke

    diagnosed = invoke(["diagnose", "-c", str(tmp_path / ("c" * 40) / "bmad.yaml"), "--env", environment, "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    assert json.loads(diagnosed.output)["findings"] == [], diagnosed.output
