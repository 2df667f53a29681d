"""Evaluators for GPU containers (the guide's case study 2; docs/gpu.md).

A container is a GPU container when it has an ``nvidia.com/gpu`` limit or request, or sets
``NVIDIA_VISIBLE_DEVICES``; for any other container these checks do not apply.
"""

from __future__ import annotations

from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import container_sc, pod_sc, resources_of
from bmad.phases.analyze.evaluators.registry import FieldPath, Params, register
from bmad.phases.analyze.manifests import ManifestObject
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Verdict
from bmad.phases.gpu_scope import GPU_RESOURCE

NOT_REQUESTED = NA("not applicable: no GPU requested")


def _visible_devices_env(container: dict[str, Any]) -> bool:
    env = container.get("env")
    return isinstance(env, list) and any(isinstance(e, dict) and e.get("name") == "NVIDIA_VISIBLE_DEVICES" for e in env)


def is_gpu_container(container: dict[str, Any]) -> bool:
    return (
        GPU_RESOURCE in resources_of(container, "limits")
        or GPU_RESOURCE in resources_of(container, "requests")
        or _visible_devices_env(container)
    )


@register("gpu_limit_set", Scope.CONTAINER)
def gpu_limit_set(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not is_gpu_container(c):
        return NOT_REQUESTED
    if GPU_RESOURCE not in resources_of(c, "limits"):
        how = "requests" if GPU_RESOURCE in resources_of(c, "requests") else "sets NVIDIA_VISIBLE_DEVICES"
        return Fail(f"uses a GPU ({how}) without a resources.limits.{GPU_RESOURCE}", (*path, "resources"))
    return None


def _hardening_problems(c: dict[str, Any], obj: ManifestObject) -> list[str]:
    sc, pod = container_sc(c), pod_sc(obj)
    spec = obj.pod_spec or {}
    user = sc.get("runAsUser", pod.get("runAsUser"))
    non_root = sc.get("runAsNonRoot", pod.get("runAsNonRoot")) is True and user != 0
    problems = [] if non_root or (isinstance(user, int) and user > 0) else ["may run as root"]
    if sc.get("privileged") is True:
        problems.append("privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("privilege escalation not disabled")
    capabilities = sc.get("capabilities")
    dropped = capabilities.get("drop") if isinstance(capabilities, dict) else None
    if "ALL" not in (dropped or []):
        problems.append("capabilities not dropped (drop: [ALL])")
    problems += [f"{field} is true" for field in ("hostPID", "hostIPC") if spec.get(field) is True]
    return problems


@register("gpu_container_hardened", Scope.CONTAINER)
def gpu_container_hardened(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    """Non-root, not privileged, capabilities dropped, no host PID/IPC: a GPU runtime hook runs with
    the container's privileges, so an escape (CVE-2025-23266) is worth more from a privileged one."""
    if not is_gpu_container(c):
        return NOT_REQUESTED
    problems = _hardening_problems(c, obj)
    if problems:
        return Fail(f"GPU container: {', '.join(problems)}", (*path, "securityContext"))
    return None
