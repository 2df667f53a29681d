"""``KubernetesGpuPods`` on the stand-in with two GPU nodes of one GPU each: the release's pods with their containers'
limits, their node's allocatable ``nvidia.com/gpu``, and whether the identity may ``create pods/exec``
(issue 18, DEPLOY on Kubernetes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bmad.adapters.targets.kubernetes.gpu_pods import KubernetesGpuPods
from tests.adapters.targets.kubernetes.conftest import deployment, make_target
from tests.kube_apiserver.harness import StandIn

NS = "team-a"


@pytest.fixture(scope="module")
def gpu_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-gpu"), gpu_nodes=2)
    try:
        yield server
    finally:
        server.stop()


def gpu_deployment(name: str) -> dict[str, Any]:
    workload = deployment(name, replicas=1)
    workload["metadata"]["namespace"] = NS
    workload["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    return workload


def test_a_release_pods_name_the_gpu_node_and_its_allocatable(gpu_standin: StandIn) -> None:
    """Guards the port's facts: before issue 18 the Kubernetes target exposed no node or limit to the check."""
    gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(gpu_deployment("infer")))
    admin = KubernetesGpuPods(make_target(gpu_standin, context="admin", namespace=NS))
    (pod,) = gpu_standin.wait_for(lambda: [p for p in admin.release_pods("infer") if p.ready], timeout=30)
    assert (pod.phase, pod.unschedulable) == ("Running", "") and pod.node in ("node-2", "node-3")
    assert pod.node_allocatable["nvidia.com/gpu"] == "1"  # type: ignore[index]
    assert pod.container_limits == (("app", {"nvidia.com/gpu": "1"}),)
    assert admin.may_exec()


def test_b_an_identity_without_exec_or_node_rights_says_so(gpu_standin: StandIn) -> None:
    """``deployer`` may not create pods/exec nor read nodes: the facts say it instead of failing."""
    gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(gpu_deployment("limited")))
    deployer = KubernetesGpuPods(make_target(gpu_standin, context="deployer", namespace=NS))
    (pod,) = gpu_standin.wait_for(lambda: [p for p in deployer.release_pods("limited") if p.ready], timeout=30)
    assert isinstance(pod.node_allocatable, str) and pod.node_allocatable.startswith("node not readable"), pod
    assert not deployer.may_exec()


def test_c_a_pod_beyond_the_cluster_s_gpus_is_pending_with_the_scheduler_s_message(gpu_standin: StandIn) -> None:
    """Both GPUs are taken: the third GPU pod is not scheduled and the facts carry the reason."""
    gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(gpu_deployment("third")))
    admin = KubernetesGpuPods(make_target(gpu_standin, context="admin", namespace=NS))
    (pod,) = gpu_standin.wait_for(lambda: [p for p in admin.release_pods("third") if p.unschedulable], timeout=30)
    assert pod.node == "" and "3 Insufficient nvidia.com/gpu" in pod.unschedulable, pod
