"""examples/saas (the guide's case study 3): a kustomize base with dev/staging/production overlays,
rendered by the real ``kubectl kustomize`` and taken through ``bmad run`` to the Kubernetes API
stand-in (tests/kube_apiserver).

The run is set up as tests/phases/deploy/kube_service.py sets up its services: BUILD and MEASURE are
bench/noop's no-op phases, the image digest is given as BUILD would have pushed it, and the readiness
catalog (ANALYZE's own subject, tested in tests/phases/analyze) is left to its server dry-run item.
The copy's bmad.yaml is the example's, pointed at the stand-in through ordinary settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmad.adapters.renderers import KustomizeRenderer
from tests.helpers import EXAMPLES
from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import DRY_RUN_ITEM, Outcome, bmad_env, catalog_ids_but, digest, git
from tests.phases.deploy.test_autoscaling_e2e import MetricsFeed

SAAS_DIR = EXAMPLES / "saas"
REQUESTS_LINE = re.compile(r"^http_requests_total\{[^}]*\} ([0-9.eE+-]+)$", re.MULTILINE)
IMAGE = "registry.example.com/platform/hello"
NS = "team-a"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def rendered(environment: str) -> dict[str, dict[str, Any]]:
    bundle = KustomizeRenderer(SAAS_DIR / "k8s" / "overlays" / environment, base_dir=SAAS_DIR).render()
    return {yaml.safe_load(d.text)["kind"]: yaml.safe_load(d.text) for d in bundle.documents}


def test_each_overlay_sets_its_replicas_resources_and_scaling() -> None:
    """dev 1 small replica, staging 2, production 3 with larger requests and an HPA 3 -> 10 at 70 % CPU."""
    replicas = {env: rendered(env)["Deployment"]["spec"]["replicas"] for env in ("dev", "staging", "production")}
    assert replicas == {"dev": 1, "staging": 2, "production": 3}
    production = rendered("production")
    requests = production["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert requests["cpu"] == "200m"
    hpa = production["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert "HorizontalPodAutoscaler" not in rendered("dev") and "HorizontalPodAutoscaler" not in rendered("staging")


def example_copy(repo: Path, standin: StandIn) -> Path:
    """examples/saas in ``repo``, production pointed at the stand-in (namespace team-a, context ci); committed."""
    shutil.copytree(SAAS_DIR, repo)
    path = repo / "bmad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    production = config["environments"]["production"]
    # HIGH risk requires MEASURE's monitoring baseline, which the no-op MEASURE cannot capture
    # (tests/phases/analyze test the risk gate): the run is taken as a medium-risk environment.
    production.update(risk="medium", production=False)
    production["target"]["kubernetes"].update(kubeconfig=str(standin.kubeconfig), context="ci", namespace=NS)
    config["analyze"]["disabled_checks"] = catalog_ids_but(DRY_RUN_ITEM)
    timeouts = {"rollout_timeout_seconds": 60, "rollback_timeout_seconds": 30, "probe_interval_seconds": 0.1}
    config["deploy"].update(timeouts, verification={"enabled": False})
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the saas example")
    return repo


def logging_kubectl(bin_dir: Path) -> Path:
    """``bin_dir/kubectl``: appends its arguments as one line to ``bin_dir/calls``, then runs the real kubectl."""
    real = KustomizeRenderer(SAAS_DIR, base_dir=SAAS_DIR).kubectl
    bin_dir.mkdir()
    wrapper = bin_dir / "kubectl"
    script = f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{bin_dir}/calls'\nexec '{real}' \"$@\"\n"
    wrapper.write_text(script, encoding="utf-8")
    wrapper.chmod(0o755)
    return bin_dir / "calls"


def test_bmad_run_takes_the_production_overlay_to_the_cluster(tmp_path: Path, standin: StandIn) -> None:
    """The rendered production overlay is what ANALYZE checks and DEPLOY applies: the HPA, the overlay's
    resources, the digest pinned, no kustomize origin annotation on the live objects. The overlay is
    rendered once for the whole run (a kubectl on PATH logs each call): before the render was kept for
    the process, each phase rendered it two to four times."""
    repo = example_copy(tmp_path / "saas", standin)
    calls = logging_kubectl(tmp_path / "bin")
    command = [sys.executable, "-m", "bmad", "run", "-c", "bmad.yaml", "-e", "production", "--json"]
    for value in (f"image={IMAGE}", f"digest={digest('5')}", "no_reports=true"):
        command += ["--set", value]
    env = bmad_env()
    env["PATH"] = os.pathsep.join([str(tmp_path / "bin"), env.get("PATH", "")])
    proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    outcome = Outcome(proc.returncode, yaml.safe_load(proc.stdout) if proc.stdout.strip() else {}, proc.stderr)
    assert outcome.code == 0, outcome.explain()
    renders = [line for line in calls.read_text(encoding="utf-8").splitlines() if line.startswith("kustomize ")]
    assert len(renders) == 1, renders
    assert outcome.check("analyze.manifests")["status"] == "pass", outcome.explain()
    hpa = standin.request("GET", f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/saas").body
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    live = standin.request("GET", f"/apis/apps/v1/namespaces/{NS}/deployments/saas").body
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{IMAGE}@{digest('5')}"
    assert container["resources"]["requests"]["cpu"] == "200m"
    assert "config.kubernetes.io/origin" not in (live["metadata"].get("annotations") or {})


def test_the_production_hpa_scales_3_to_10_under_load_with_the_autoscaling_check(
    tmp_path: Path, standin: StandIn, hello_service: Callable[..., str]
) -> None:
    """Issue 17 item 4 on the example: ``deploy.autoscaling`` enabled for production, bmad's load on the real
    example service as the release's URL. The test drives the HPA's metric from the load the service sees:
    busy (3000 % of one pod's request) while it answers more than 100 requests/s, idle (30 %) otherwise;
    the example's pods request 200m, more than one Python process can use 10 times over on this machine."""
    repo = example_copy(tmp_path / "saas", standin)
    path = repo / "bmad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    autoscaling = {"enabled": True, "max_wait_seconds": 40, "poll_interval_seconds": 0.2, "load": {"connections": 4}}
    url = hello_service()
    config["environments"]["production"]["target"]["kubernetes"].update(url=url, autoscaling=autoscaling)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    git(repo, "commit", "-qam", "autoscaling validated in production")
    command = [sys.executable, "-m", "bmad", "run", "-c", "bmad.yaml", "-e", "production", "--json"]
    for value in (f"image={IMAGE}", f"digest={digest('6')}", "no_reports=true"):
        command += ["--set", value]
    busy = MetricsFeed(standin, url, "saas", requests_answered, lambda rps: 3000.0 if rps > 100 else 30.0)
    with busy:
        proc = subprocess.run(command, cwd=repo, env=bmad_env(), capture_output=True, text=True, timeout=300)
    outcome = Outcome(proc.returncode, yaml.safe_load(proc.stdout) if proc.stdout.strip() else {}, proc.stderr)
    check = outcome.check("deploy.autoscaling")
    assert outcome.code == 0 and check["status"] == "pass", outcome.explain()
    figures = check["evidence"]["hpas"][0]
    assert (figures["hpa"], figures["start_replicas"], figures["highest_replicas"]) == ("saas", 3, 10)
    assert figures["metric_target"] == 70


def requests_answered(metrics: str) -> float:
    """The service's ``http_requests_total``, summed over its labels."""
    return sum(float(v) for v in REQUESTS_LINE.findall(metrics))
