"""Evaluators run once per Compose service that uses a GPU (the guide's case study 2; docs/gpu.md).

Signature: ``fn(service, ctx, params)`` with a
:class:`~bmad.phases.gpu_compose_services.ComposeGpuService`. The NVIDIA runtime hooks run with the
container's privileges, so an escape such as CVE-2025-23266 is worth most from a root, privileged
or host-namespace container.
"""

from __future__ import annotations

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.readiness_data import Fail, Scope, Verdict
from bmad.phases.gpu_compose_services import ComposeGpuService

_ROOT_USERS = ("", "0", "root")
_RESERVING = ("device reservation", "CDI device")


@register("compose_gpu_reserved", Scope.COMPOSE)
def compose_gpu_reserved(service: ComposeGpuService, ctx: EvalContext, p: Params) -> Verdict:
    if any(how.startswith(_RESERVING) for how in service.requests):
        return None
    how = ", ".join(service.requests) or "sets NVIDIA_VISIBLE_DEVICES"
    return Fail(f"{service.name}: uses a GPU ({how}) without a device reservation or CDI device")


@register("compose_non_root_user", Scope.COMPOSE)
def compose_non_root_user(service: ComposeGpuService, ctx: EvalContext, p: Params) -> Verdict:
    user = str(service.spec.get("user", "")).split(":")[0].strip()
    if user not in _ROOT_USERS:
        return None
    if user:
        return Fail(f"{service.name}: runs as root (user: {service.spec.get('user')})")
    return Fail(f"{service.name}: no user (runs as the image's user, often root)")


@register("compose_capabilities_dropped", Scope.COMPOSE)
def compose_capabilities_dropped(service: ComposeGpuService, ctx: EvalContext, p: Params) -> Verdict:
    dropped = [str(cap).upper() for cap in service.spec.get("cap_drop") or []]
    if "ALL" in dropped:
        return None
    return Fail(f"{service.name}: cap_drop lacks ALL (capabilities beyond its cap_add stay)")


@register("compose_not_privileged", Scope.COMPOSE)
def compose_not_privileged(service: ComposeGpuService, ctx: EvalContext, p: Params) -> Verdict:
    if service.spec.get("privileged") is True:
        return Fail(f"{service.name}: privileged: true")
    return None


@register("compose_no_host_namespaces", Scope.COMPOSE)
def compose_no_host_namespaces(service: ComposeGpuService, ctx: EvalContext, p: Params) -> Verdict:
    shared = [f"{key}: host" for key in ("pid", "ipc") if service.spec.get(key) == "host"]
    if shared:
        return Fail(f"{service.name}: {', '.join(shared)}")
    return None
