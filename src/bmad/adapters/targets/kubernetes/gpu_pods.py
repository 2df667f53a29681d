"""What ``deploy.gpu_available`` reads on the Kubernetes target: the pods of the release's workload,
each container's ``resources.limits``, and the ``status.allocatable`` of the node each pod runs on
(where the NVIDIA device plugin advertises ``nvidia.com/gpu``), plus whether the identity may
``create pods/exec`` (a ``SelfSubjectAccessReview``, as the access pre-flight asks)."""

from __future__ import annotations

from typing import Any

from bmad.ports.gpu import PodFacts

from .access import Right, missing_rights
from .bundle import WORKLOAD_KINDS, selector_string
from .client import KubeApi, KubeApiError
from .viewers import pod_ready


def release_pods(api: KubeApi, namespace: str, workload: dict[str, Any] | None) -> tuple[PodFacts, ...]:
    """The workload's pods with their containers' limits and their node's allocatable resources."""
    if workload is None:
        return ()
    selector = selector_string((workload.get("spec") or {}).get("selector") or {})
    pods = api.list_objects("v1", "Pod", namespace, selector=selector or None)
    nodes: dict[str, dict[str, str] | str] = {}
    return tuple(_facts(api, pod, nodes) for pod in pods)


def _facts(api: KubeApi, pod: dict[str, Any], nodes: dict[str, dict[str, str] | str]) -> PodFacts:
    spec = pod.get("spec") or {}
    node = str(spec.get("nodeName") or "")
    if node and node not in nodes:
        nodes[node] = _allocatable(api, node)
    return PodFacts(
        name=str(pod["metadata"]["name"]),
        phase=str((pod.get("status") or {}).get("phase") or ""),
        ready=pod_ready(pod),
        node=node,
        node_allocatable=nodes.get(node, {}),
        container_limits=tuple(
            (
                str(c.get("name", "")),
                {str(k): str(v) for k, v in ((c.get("resources") or {}).get("limits") or {}).items()},
            )
            for c in spec.get("containers") or []
        ),
        unschedulable=_unschedulable(pod),
    )


def _limits(container: dict[str, Any]) -> dict[str, str]:
    limits = (container.get("resources") or {}).get("limits") or {}
    return {str(k): str(v) for k, v in limits.items()}


def _allocatable(api: KubeApi, node: str) -> dict[str, str] | str:
    try:
        found = api.get("v1", "Node", node, None)
    except KubeApiError as exc:
        return f"node not readable ({exc.message})"
    if found is None:
        return f"node {node} not found"
    return {str(k): str(v) for k, v in ((found.get("status") or {}).get("allocatable") or {}).items()}


def _unschedulable(pod: dict[str, Any]) -> str:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "")
    return ""


def may_exec(api: KubeApi, namespace: str) -> bool:
    """Whether the identity may ``create pods/exec`` in ``namespace``."""
    return not missing_rights(api, [Right("create", "", "pods/exec", namespace)])


class KubernetesGpuPods:
    """The :class:`bmad.ports.gpu.PodGpuView` of a Kubernetes target (the target's cluster and namespace)."""

    def __init__(self, target: Any) -> None:
        self.target = target  # a KubernetesTarget

    def release_pods(self, service: str) -> tuple[PodFacts, ...]:
        api, namespace = self.target.api, self.target.namespace
        name = self.target.deployment_name(service)
        workload = next(
            (w for w in (api.get("apps/v1", kind, name, namespace) for kind in WORKLOAD_KINDS) if w is not None), None
        )
        return release_pods(api, namespace, workload)

    def may_exec(self) -> bool:
        return may_exec(self.target.api, self.target.namespace)
