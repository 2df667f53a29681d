"""``deploy.gpu_available`` on the Kubernetes target: every pod of the release whose containers have
an ``nvidia.com/gpu`` limit is Running and Ready on a node whose ``status.allocatable`` lists
``nvidia.com/gpu`` > 0 (what the NVIDIA device plugin advertises). bmad does not run ``nvidia-smi -L``
through the exec subresource yet: the result is a warning resting on the node evidence, and the
evidence says whether the identity may ``create pods/exec``."""

from __future__ import annotations

from bmad.core.models import CheckResult
from bmad.phases.deploy.ports import now
from bmad.phases.gpu_scope import GPU_RESOURCE, NOT_REQUESTED, kubernetes_gpu_limit
from bmad.ports.gpu import PodFacts, PodGpuView
from bmad.ports.phase import CheckId

EXPECTED = "every GPU pod of the release is Running and Ready on a node with allocatable nvidia.com/gpu"


def judge(check: CheckId, view: PodGpuView, service: str) -> CheckResult:
    pods = [pod for pod in view.release_pods(service) if _gpu_containers(pod)]
    if not pods:
        return check.skipped(f"{NOT_REQUESTED} (no container of {service} has an {GPU_RESOURCE} limit)")
    seen = {pod.name: _problem(pod) for pod in pods}
    exec_note = (
        "pods/exec allowed, but nvidia-smi -L through exec is not run yet: judged on the node's allocatable"
        if view.may_exec()
        else "pods/exec not allowed: judged on the node's allocatable alone"
    )
    shown = {pod.name: _shown(pod, seen[pod.name]) for pod in pods}
    evidence = {"pods": shown, "exec": exec_note}
    observed = "; ".join(f"{name}: {text}" for name, text in shown.items())
    bad = [name for name, problem in seen.items() if problem]
    if bad:
        evidence["detected_at"] = now().isoformat()
        return check.failed(
            f"{len(bad)}/{len(pods)} GPU pods are not running on a GPU node",
            expected=EXPECTED,
            observed=observed,
            fix=f"give the cluster nodes that advertise {GPU_RESOURCE} (the NVIDIA device plugin) or lower the "
            f"pods' {GPU_RESOURCE} limits",
            evidence=evidence,
        )
    return check.warned(
        f"{len(pods)}/{len(pods)} GPU pods run on a node with allocatable {GPU_RESOURCE} ({exec_note})",
        expected=EXPECTED,
        observed=observed,
        evidence=evidence,
    )


def _gpu_containers(pod: PodFacts) -> list[str]:
    return [name for name, limits in pod.container_limits if kubernetes_gpu_limit(limits)]


def _problem(pod: PodFacts) -> str:
    if not pod.node:
        return f"Pending, not scheduled: {pod.unschedulable or 'no node chosen'}"
    if pod.phase != "Running" or not pod.ready:
        return f"{pod.phase or 'Unknown'}, {'ready' if pod.ready else 'not ready'} on {pod.node}"
    if not isinstance(pod.node_allocatable, str) and kubernetes_gpu_limit(pod.node_allocatable) <= 0:
        return f"node {pod.node} has no allocatable {GPU_RESOURCE}"
    return ""  # a node the identity may not read: the scheduler placed the pod where its GPUs fit


def _shown(pod: PodFacts, problem: str) -> str:
    if problem:
        return problem
    if isinstance(pod.node_allocatable, str):
        node = f"{pod.node}: {pod.node_allocatable}"
    else:
        node = f"{pod.node} ({kubernetes_gpu_limit(pod.node_allocatable)} allocatable {GPU_RESOURCE})"
    return f"Running and Ready on {node}; GPU containers: {', '.join(_gpu_containers(pod))}"
