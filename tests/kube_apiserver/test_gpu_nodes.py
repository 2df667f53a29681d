"""GPU nodes in the stand-in: a node advertises ``nvidia.com/gpu`` in capacity and allocatable as the
NVIDIA device plugin does, and the scheduler places a pod with an ``nvidia.com/gpu`` limit only there
(https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/), read back with the real kubectl."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kube_apiserver.harness import StandIn

GPU_POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  containers:
  - name: infer
    image: "infer:1"
    resources: {{limits: {{nvidia.com/gpu: {gpus}}}}}
"""
ALLOCATABLE = r"jsonpath={.status.allocatable.nvidia\.com/gpu}"


@pytest.fixture(scope="module")
def gpu_standin(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """A stand-in of three nodes, the last one with a GPU (``standin`` first: it skips without kubectl)."""
    server = StandIn.start(tmp_path_factory.mktemp("kube-gpu"), gpu_nodes=1)
    try:
        yield server
    finally:
        server.stop()


def _scheduled(server: StandIn, name: str) -> tuple[str, str]:
    pod = server.get(f"/api/v1/namespaces/default/pods/{name}")
    condition = next((c for c in pod.get("status", {}).get("conditions") or [] if c["type"] == "PodScheduled"), {})
    return str(pod["spec"].get("nodeName", "")), str(condition.get("message", ""))


def test_gpu_node_advertises_allocatable_gpus(gpu_standin: StandIn) -> None:
    """Guards the GPU node option: only node-3 lists nvidia.com/gpu (kubectl reads it as users do)."""
    assert gpu_standin.kubectl("get", "node", "node-3", "-o", ALLOCATABLE).stdout == "1"
    assert gpu_standin.kubectl("get", "node", "node-1", "-o", ALLOCATABLE).stdout == ""
    described = gpu_standin.kubectl("describe", "node", "node-3").stdout
    assert "nvidia.com/gpu:" in described, described


def test_gpu_pod_lands_on_the_gpu_node(gpu_standin: StandIn) -> None:
    """Guards the fit filter for extended resources: before it, a GPU pod could land on any node."""
    gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=GPU_POD.format(name="infer-one", gpus=1))
    assert gpu_standin.wait_for(lambda: _scheduled(gpu_standin, "infer-one")[0]) == "node-3"


def test_too_many_gpus_stay_pending(gpu_standin: StandIn) -> None:
    """A pod asking for more GPUs than any node has is Unschedulable: Insufficient nvidia.com/gpu."""
    gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=GPU_POD.format(name="infer-two", gpus=2))
    assert gpu_standin.wait_for(lambda: "3 Insufficient nvidia.com/gpu" in _scheduled(gpu_standin, "infer-two")[1])
    assert _scheduled(gpu_standin, "infer-two")[0] == ""


def test_a_gpu_request_must_equal_its_limit(gpu_standin: StandIn) -> None:
    """Extended resources are not overcommitted: a request below the limit, or without one, is refused (422)."""
    pod = GPU_POD.format(name="infer-odd", gpus=2).replace(
        "resources: {limits: {nvidia.com/gpu: 2}}",
        "resources: {limits: {nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 1}}",
    )
    refused = gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=pod)
    assert refused.returncode != 0
    unequal = 'Invalid value: "1": must be equal to nvidia.com/gpu limit of 2'
    assert f"spec.containers[0].resources.requests[nvidia.com/gpu]: {unequal}" in refused.stderr, refused.stderr
    pod = GPU_POD.format(name="infer-odd", gpus=2).replace("resources: {limits:", "resources: {requests:")
    refused = gpu_standin.kubectl("apply", "--server-side", "-f", "-", stdin=pod)
    assert "spec.containers[0].resources.limits[nvidia.com/gpu]: Required value: Limit must be set" in refused.stderr, (
        refused.stderr
    )
