"""``deploy.gpu_available`` on the Kubernetes target, end to end on the API stand-in: ``bmad run`` of a
Deployment whose container has an ``nvidia.com/gpu`` limit (issue 18 item 2, DEPLOY). Before it the
check said "not applicable" on every Kubernetes target."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import KubeService, digest
from tests.phases.deploy.test_kubernetes_e2e import NS, deployment, live, rolled_back

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """Three nodes, node-3 advertising one nvidia.com/gpu."""
    server = StandIn.start(tmp_path_factory.mktemp("kube-gpu"), gpu_nodes=1)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cpu_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-cpu"))
    try:
        yield server
    finally:
        server.stop()


def gpu_service(tmp_path: Path, standin: StandIn, name: str, *, context: str) -> KubeService:
    """A service whose bmad.yaml says a GPU is requested (so DEPLOY lists deploy.gpu_available)."""
    svc = KubeService.create(tmp_path, standin, name, context=context, settings={"namespace": NS})
    path = svc.repo / "bmad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["gpu"] = {"requested": True}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return svc


def gpu_deployment(name: str, *, gpus: int = 1) -> dict[str, Any]:
    workload = deployment(name, replicas=1)
    workload["spec"]["progressDeadlineSeconds"] = 300  # 3 s of real time
    workload["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = gpus
    return workload


def test_a_gpu_deployment_lands_on_the_gpu_node_and_the_check_names_it(tmp_path: Path, gpu_cluster: StandIn) -> None:
    """Guards issue 18 on Kubernetes: the pod runs on node-3 whose allocatable lists the GPU; exec is not run,
    so the check warns and says why (before: skipped as "not applicable" on the Kubernetes target)."""
    svc = gpu_service(tmp_path, gpu_cluster, "infer", context="admin")
    svc.release([gpu_deployment("infer")], "a GPU release")
    outcome = svc.run(digest("1"))
    check = outcome.check("deploy.gpu_available")
    assert outcome.code == 0 and check["status"] == "warn", outcome.explain()
    pods = live(gpu_cluster, f"/api/v1/namespaces/{NS}/pods")["items"]
    assert {p["spec"]["nodeName"] for p in pods} == {"node-3"}
    (shown,) = check["evidence"]["pods"].values()
    assert shown == "Running and Ready on node-3 (1 allocatable nvidia.com/gpu); GPU containers: app", check
    assert "pods/exec allowed" in check["evidence"]["exec"], check


def test_without_a_gpu_node_the_pod_stays_pending_and_the_release_rolls_back(
    tmp_path: Path, cpu_cluster: StandIn
) -> None:
    """Guards issue 18 on Kubernetes: no node advertises nvidia.com/gpu, the new pod is Unschedulable
    (Insufficient nvidia.com/gpu) and the release is rolled back to the one before."""
    svc = gpu_service(tmp_path, cpu_cluster, "nogpu", context="ci")
    svc.release([deployment("nogpu", replicas=1)], "a CPU release")
    first = svc.run(digest("1"))
    assert first.code == 0, first.explain()
    assert first.check("deploy.gpu_available")["status"] == "skip", first.explain()
    svc.release([gpu_deployment("nogpu")], "the same service asking for a GPU")
    second = svc.run(digest("2"))
    assert second.code != 0 and rolled_back(second), second.explain()
    template = live(cpu_cluster, f"/apis/apps/v1/namespaces/{NS}/deployments/nogpu")["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in template["containers"][0]["resources"]["limits"], "rolled back to the CPU release"
    diagnosis = json.dumps(second.document)  # diagnose names the scheduler's reason for the Pending pod
    assert "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu." in diagnosis, second.explain()
