"""Evaluators run once per container (and init container) of each pod template.

Signature: ``fn(container, path, obj, ctx, params)``; ``path`` is the container's field path.
"""

from __future__ import annotations

import re
from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import (
    SECRET_NAME,
    container_sc,
    image_parts,
    is_job,
    is_long_running,
    looks_like_secret_value,
    pod_sc,
    ports_of,
    resources_of,
)
from bmad.phases.analyze.evaluators.registry import FieldPath, Params, register
from bmad.phases.analyze.manifests import ManifestObject, dig
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Verdict

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1024.0,
    "Mi": 1024.0**2,
    "Gi": 1024.0**3,
    "Ti": 1024.0**4,
    "Pi": 1024.0**5,
    "Ei": 1024.0**6,
}


DANGEROUS_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "BPF", "PERFMON"})


INSECURE_CAPS = frozenset(
    {"NET_ADMIN", "NET_RAW", "SYS_CHROOT", "MKNOD", "SETPCAP", "DAC_OVERRIDE", "SETUID", "SETGID", "AUDIT_WRITE"}
)


def parse_quantity(value: Any) -> float | None:
    """A Kubernetes quantity ("500m", "1.5", "256Mi") as a number; None when not parseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match or match.group(2) not in _SUFFIX:
        return None
    try:
        return float(match.group(1)) * _SUFFIX[match.group(2)]
    except ValueError:
        return None


def _effective(container: dict[str, Any], obj: ManifestObject, field_name: str) -> Any:
    """A securityContext field as the kubelet sees it: container level wins over pod level."""
    sc = container_sc(container)
    if field_name in sc:
        return sc[field_name]
    return pod_sc(obj).get(field_name)


def _is_init(path: FieldPath) -> bool:
    return "initContainers" in path


def _registry(image: str) -> str:
    repo = image_parts(image)[0]
    first = repo.split("/", 1)[0]
    if "/" in repo and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _probe(container: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = container.get(name)
    return value if isinstance(value, dict) else None


def _serving(container: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext) -> bool:
    """A container that serves traffic: long-running, not init, with ports or behind a Service."""
    if _is_init(path) or not is_long_running(obj):
        return False
    return bool(ports_of(container)) or bool(ctx.bundle.services_selecting(obj))


@register("sc_not_true", Scope.CONTAINER)
def sc_not_true(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    if _effective(c, obj, field_name) is True:
        return Fail(f"securityContext.{field_name} is true", (*path, "securityContext", field_name))
    return None


@register("sc_must_be", Scope.CONTAINER)
def sc_must_be(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    expected = p["value"]
    value = _effective(c, obj, field_name) if p.get("pod_level", True) else container_sc(c).get(field_name)
    if value != expected:
        seen = "not set" if value is None else f"{value!r}"
        return Fail(f"securityContext.{field_name} is {seen}; expected {expected!r}", (*path, "securityContext"))
    return None


@register("run_as_non_root", Scope.CONTAINER)
def run_as_non_root(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    user = _effective(c, obj, "runAsUser")
    if _effective(c, obj, "runAsNonRoot") is True and user != 0:
        return None
    if isinstance(user, int) and user > 0:
        return None
    return Fail("may run as root: set runAsNonRoot: true or runAsUser > 0", (*path, "securityContext"))


@register("uid_floor", Scope.CONTAINER)
def uid_floor(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    floor = ctx.settings.uid_floor
    for field_name in ("runAsUser", "runAsGroup"):
        value = _effective(c, obj, field_name)
        if value is None:
            return Fail(f"{field_name} is not set (analyze.uid_floor = {floor})", (*path, "securityContext"))
        if not isinstance(value, int) or value < floor:
            return Fail(f"{field_name} is {value}; below analyze.uid_floor {floor}", (*path, "securityContext"))
    return None


@register("caps_drop_all", Scope.CONTAINER)
def caps_drop_all(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    drop = dig(c, ("securityContext", "capabilities", "drop")) or []
    if isinstance(drop, list) and any(str(d).upper() == "ALL" for d in drop):
        return None
    return Fail("capabilities.drop does not include ALL", (*path, "securityContext"))


@register("caps_not_added", Scope.CONTAINER)
def caps_not_added(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    add = dig(c, ("securityContext", "capabilities", "add")) or []
    if not isinstance(add, list):
        return None
    names = {str(a).upper().removeprefix("CAP_") for a in add}
    if p.get("only"):
        bad = sorted(names - set(p["only"]))
    else:
        bad = sorted(names & (DANGEROUS_CAPS if p.get("set") == "dangerous" else INSECURE_CAPS))
    if bad:
        return Fail(f"adds capabilities {', '.join(bad)}", (*path, "securityContext", "capabilities", "add"))
    return None


@register("seccomp", Scope.CONTAINER)
def seccomp(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    profile = _effective(c, obj, "seccompProfile")
    kind = profile.get("type") if isinstance(profile, dict) else None
    if kind in ("RuntimeDefault", "Localhost"):
        return None
    annotation = obj.pod_annotations.get("seccomp.security.alpha.kubernetes.io/pod")
    if annotation in ("runtime/default", "docker/default") and kind is None:
        return None
    return Fail(f"seccompProfile is {kind or 'not set'}; expected RuntimeDefault or Localhost", path)


@register("apparmor", Scope.CONTAINER)
def apparmor(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_value = _effective(c, obj, "appArmorProfile")
    if isinstance(field_value, dict):
        if field_value.get("type") == "Unconfined":
            return Fail("appArmorProfile is Unconfined", (*path, "securityContext"))
        return None
    annotation = obj.pod_annotations.get(f"container.apparmor.security.beta.kubernetes.io/{c.get('name')}")
    if annotation is None:
        return Fail("no AppArmor profile (securityContext.appArmorProfile or annotation)", path)
    if annotation == "unconfined":
        return Fail("AppArmor annotation is unconfined", path)
    return None


@register("selinux_custom", Scope.CONTAINER)
def selinux_custom(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    options = _effective(c, obj, "seLinuxOptions")
    if isinstance(options, dict) and (options.get("user") or options.get("role")):
        return Fail("seLinuxOptions sets a custom user or role", (*path, "securityContext"))
    return None


@register("proc_mount_default", Scope.CONTAINER)
def proc_mount_default(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    value = container_sc(c).get("procMount")
    if value not in (None, "Default"):
        return Fail(f"procMount is {value}", (*path, "securityContext", "procMount"))
    return None


@register("windows_host_process", Scope.CONTAINER)
def windows_host_process(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    for source in (container_sc(c), pod_sc(obj)):
        if dig(source, ("windowsOptions", "hostProcess")) is True:
            return Fail("windowsOptions.hostProcess is true", (*path, "securityContext"))
    return None


@register("container_sc_present", Scope.CONTAINER)
def container_sc_present(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    if not container_sc(c):
        return Fail("container has no securityContext", path)
    return None


@register("no_host_port", Scope.CONTAINER)
def no_host_port(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    for index, port in enumerate(ports_of(c)):
        if port.get("hostPort"):
            return Fail(
                f"port {port.get('containerPort')} is bound to hostPort {port['hostPort']}", (*path, "ports", index)
            )
    return None


@register("privileged_port_non_root", Scope.CONTAINER)
def privileged_port_non_root(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    for index, port in enumerate(ports_of(c)):
        number = port.get("containerPort")
        if isinstance(number, int) and number < 1024:
            return Fail(f"containerPort {number} is privileged (< 1024)", (*path, "ports", index))
    return None


@register("no_secret_literal_env", Scope.CONTAINER)
def no_secret_literal_env(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    env = c.get("env")
    if not isinstance(env, list):
        return None
    for index, item in enumerate(env):
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        name = str(item.get("name", ""))
        if isinstance(value, str) and value and (SECRET_NAME.search(name) or looks_like_secret_value(value)):
            # The value is never repeated in the message.
            return Fail(f"env {name} holds a literal secret-looking value", (*path, "env", index))
    return None


@register("secrets_as_files", Scope.CONTAINER)
def secrets_as_files(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    env = c.get("env")
    if isinstance(env, list):
        for index, item in enumerate(env):
            if isinstance(item, dict) and dig(item, ("valueFrom", "secretKeyRef")):
                return Fail(f"env {item.get('name')} reads a Secret; mount it as a file", (*path, "env", index))
    env_from = c.get("envFrom")
    if isinstance(env_from, list):
        for index, item in enumerate(env_from):
            if isinstance(item, dict) and item.get("secretRef"):
                return Fail("envFrom imports a whole Secret as environment", (*path, "envFrom", index))
    return None


@register("image_tag", Scope.CONTAINER)
def image_tag(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    image = c.get("image")
    if not isinstance(image, str) or not image:
        return Fail("container has no image", path)
    _, tag, digest = image_parts(image)
    if digest:
        return None
    if tag is None:
        return Fail(f"image {image} has no tag (means :latest)", (*path, "image"))
    if tag in ("latest", "master", "main", "dev", "edge"):
        return Fail(f"image {image} uses the moving tag :{tag}", (*path, "image"))
    return None


@register("image_digest", Scope.CONTAINER)
def image_digest(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.settings.require_digest_pinning:
        return NA("digest pinning not required (analyze.require_digest_pinning: false; DEPLOY pins the release image)")
    image = str(c.get("image") or "")
    if "@sha256:" not in image:
        return Fail(f"image {image} is not pinned by digest", (*path, "image"))
    return None


@register("pull_policy", Scope.CONTAINER)
def pull_policy(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    wanted = ctx.settings.pull_policy
    if wanted == "any":
        return NA("no pull policy required (analyze.pull_policy: any)")
    value = c.get("imagePullPolicy")
    if value != wanted:
        return Fail(f"imagePullPolicy is {value or 'not set'}; analyze.pull_policy wants {wanted}", path)
    return None


@register("allowed_registry", Scope.CONTAINER)
def allowed_registry(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    allowed = ctx.settings.allowed_registries
    if not allowed:
        return NA("no registry allow-list configured (analyze.allowed_registries)")
    image = str(c.get("image") or "")
    registry = _registry(image)
    repo = image_parts(image)[0]
    if any(registry == a or repo.startswith(a.rstrip("/") + "/") for a in allowed):
        return None
    return Fail(f"image {image} is from {registry}, not in analyze.allowed_registries", (*path, "image"))


@register("resource_set", Scope.CONTAINER)
def resource_set(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    kind, resource = p["kind"], p["resource"]
    setting = p.get("setting")
    if setting and not getattr(ctx.settings, setting):
        return NA(f"not required (analyze.{setting}: false)")
    if p.get("init_only") and not _is_init(path):
        return NA("applies to init containers only")
    if resource not in resources_of(c, kind):
        return Fail(f"resources.{kind}.{resource} is not set", (*path, "resources"))
    return None


@register("memory_request_equals_limit", Scope.CONTAINER)
def memory_request_equals_limit(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    request = parse_quantity(resources_of(c, "requests").get("memory"))
    limit = parse_quantity(resources_of(c, "limits").get("memory"))
    if request is None or limit is None:
        return Fail("memory request and limit must both be set", (*path, "resources"))
    if request != limit:
        return Fail(
            "memory request differs from the limit (risk of OOM kill under node pressure)", (*path, "resources")
        )
    return None


@register("resource_ceiling", Scope.CONTAINER)
def resource_ceiling(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    limits = {"cpu": ctx.settings.max_cpu, "memory": ctx.settings.max_memory}
    if not any(limits.values()):
        return NA("no ceiling configured (analyze.max_cpu / analyze.max_memory)")
    for resource, ceiling in limits.items():
        top = parse_quantity(ceiling)
        if top is None:
            continue
        for kind in ("requests", "limits"):
            value = parse_quantity(resources_of(c, kind).get(resource))
            if value is not None and value > top:
                return Fail(f"{kind}.{resource} is above the ceiling {ceiling}", (*path, "resources", kind))
    return None


@register("probe_present", Scope.CONTAINER)
def probe_present(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if _is_init(path):
        return NA("init containers run to completion; no probes")
    if is_job(obj):
        return NA("jobs run to completion; no probes")
    if p.get("serving") and not _serving(c, path, obj, ctx):
        return NA("container serves no port and is behind no Service")
    if _probe(c, p["probe"]) is None:
        return Fail(f"no {p['probe']}", path)
    return None


@register("probes_differ", Scope.CONTAINER)
def probes_differ(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    ready, live = _probe(c, "readinessProbe"), _probe(c, "livenessProbe")
    if ready is None or live is None:
        return NA("needs both a readiness and a liveness probe")
    if ready == live:
        return Fail("readiness and liveness probes are identical: a slow pod gets killed instead of drained", path)
    return None


@register("startup_probe_for_slow_start", Scope.CONTAINER)
def startup_probe_for_slow_start(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    live = _probe(c, "livenessProbe")
    if live is None:
        return NA("no liveness probe")
    delay = live.get("initialDelaySeconds", 0)
    if isinstance(delay, int) and delay > p.get("max_delay", 60) and _probe(c, "startupProbe") is None:
        return Fail(f"liveness initialDelaySeconds is {delay}; use a startupProbe", (*path, "livenessProbe"))
    return None


@register("probe_bounds", Scope.CONTAINER)
def probe_bounds(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    probes = [(n, _probe(c, n)) for n in ("readinessProbe", "livenessProbe", "startupProbe")]
    present = [(n, pr) for n, pr in probes if pr is not None]
    if not present:
        return NA("no probes")
    for name, probe in present:
        timeout = probe.get("timeoutSeconds", 1)
        period = probe.get("periodSeconds", 10)
        failures = probe.get("failureThreshold", 3)
        if isinstance(timeout, int) and isinstance(period, int) and timeout > period:
            return Fail(f"{name}.timeoutSeconds ({timeout}) exceeds periodSeconds ({period})", (*path, name))
        if isinstance(period, int) and period > 60:
            return Fail(f"{name}.periodSeconds is {period}s: failures are noticed too late", (*path, name))
        if name == "livenessProbe" and isinstance(failures, int) and failures < 2:
            return Fail("livenessProbe.failureThreshold of 1 restarts on a single blip", (*path, name))
    return None


@register("probe_port_declared", Scope.CONTAINER)
def probe_port_declared(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    names = {pt.get("name") for pt in ports_of(c) if pt.get("name")}
    numbers = {pt.get("containerPort") for pt in ports_of(c)}
    checked = False
    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = _probe(c, probe_name)
        if probe is None:
            continue
        for handler in ("httpGet", "tcpSocket", "grpc"):
            port = dig(probe, (handler, "port"))
            if port is None:
                continue
            checked = True
            if isinstance(port, str) and not port.isdigit() and port not in names:
                return Fail(f"{probe_name} uses port name {port!r}, not declared", (*path, probe_name))
            if isinstance(port, int) and numbers and port not in numbers:
                return Fail(f"{probe_name} uses port {port}, not a declared containerPort", (*path, probe_name))
    return None if checked else NA("no probe with a port")


@register("duplicate_env", Scope.CONTAINER)
def duplicate_env(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    env = c.get("env")
    if not isinstance(env, list):
        return None
    seen: set[str] = set()
    for index, item in enumerate(env):
        name = item.get("name") if isinstance(item, dict) else None
        if name in seen:
            return Fail(f"env {name} is set twice; only the last one counts", (*path, "env", index))
        if isinstance(name, str):
            seen.add(name)
    return None


@register("pre_stop", Scope.CONTAINER)
def pre_stop(c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _serving(c, path, obj, ctx) or obj.kind not in ("Deployment", "StatefulSet"):
        return NA("only serving containers of Deployments/StatefulSets drain connections")
    if not dig(c, ("lifecycle", "preStop")):
        return Fail("no preStop hook: in-flight requests are cut when the pod stops", path)
    return None


@register("termination_message_policy", Scope.CONTAINER)
def termination_message_policy(
    c: dict[str, Any], path: FieldPath, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    if c.get("terminationMessagePolicy") != "FallbackToLogsOnError":
        return Fail("terminationMessagePolicy is not FallbackToLogsOnError", path)
    return None
