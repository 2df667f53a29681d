"""``analyze.gpu_compose``: every Compose service that uses a GPU reserves it
(``deploy.resources.reservations.devices``), runs as a non-root user, drops every capability
(``cap_drop: [ALL]``, adding back only what it declares) and uses neither privileged mode nor the
host's PID or IPC namespace: the NVIDIA runtime hooks run with the container's privileges, so an
escape such as CVE-2025-23266 is worth most from a root or privileged container (docs/gpu.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmad.core.models import CheckResult
from bmad.phases.analyze.preparation import AnalyzeRun
from bmad.phases.gpu_scope import NOT_REQUESTED, compose_services, compose_source, gpu_requests_by_service
from bmad.ports.phase import CheckId, PhaseContext

CHECK = CheckId("analyze.gpu_compose", "Compose GPU services reserve their GPU and run hardened")

_ROOT_USERS = ("", "0", "root")


def run(ctx: PhaseContext, phase: AnalyzeRun) -> CheckResult:
    source = compose_source(ctx.config, ctx.environment_name)
    if source is None or not source.path.is_file():
        return CHECK.skipped(f"{NOT_REQUESTED} ({source.label + ' not found' if source else 'no compose file'})")
    compose = source.label
    services = compose_services(source.path, source.profiles)
    requests = gpu_requests_by_service(services)
    users = {name for name, spec in services.items() if name in requests or _sets_visible_devices(spec)}
    if not users:
        return CHECK.skipped(f"{NOT_REQUESTED} ({compose})")
    problems = {name: service_problems(services[name], requests.get(name, ())) for name in sorted(users)}
    failing = {name: found for name, found in problems.items() if found}
    observed = "; ".join(f"{name}: {', '.join(found) or 'ok'}" for name, found in problems.items())
    return (CHECK.failed if failing else CHECK.passed)(
        f"{len(users) - len(failing)}/{len(users)} GPU services hardened ({compose})",
        expected="a device reservation, a non-root user, cap_drop: [ALL], no privileged / pid: host / ipc: host",
        observed=observed,
        fix=""
        if not failing
        else "on GPU services: deploy.resources.reservations.devices with capabilities: [gpu], "
        "user: '1000', cap_drop: [ALL] (cap_add only what the service needs, e.g. NET_BIND_SERVICE), "
        "no privileged, pid: host or ipc: host",
        evidence={"compose": compose, "services": {name: list(found) for name, found in problems.items()}},
    )


def service_problems(spec: Mapping[str, Any], requests: tuple[str, ...]) -> tuple[str, ...]:
    """What one GPU service lacks; empty when it is hardened."""
    found = []
    if not any(how.startswith("device reservation") for how in requests):
        found.append("no device reservation")
    user = str(spec.get("user", "")).split(":")[0].strip()
    if user in _ROOT_USERS:
        found.append("runs as root" if user else "no user (runs as the image's user, often root)")
    if spec.get("privileged") is True:
        found.append("privileged")
    found += [f"{key}: host" for key in ("pid", "ipc") if spec.get(key) == "host"]
    if "ALL" not in [str(cap).upper() for cap in spec.get("cap_drop") or []]:
        found.append("cap_drop lacks ALL")
    return tuple(found)


def _sets_visible_devices(spec: Mapping[str, Any]) -> bool:
    env = spec.get("environment")
    if isinstance(env, Mapping):
        return "NVIDIA_VISIBLE_DEVICES" in env
    return isinstance(env, list) and any(str(item).startswith("NVIDIA_VISIBLE_DEVICES") for item in env)
