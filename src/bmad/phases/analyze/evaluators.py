"""Evaluators: the code behind catalog entries (the entries themselves are data, see catalog.py).

An evaluator is registered under a name with the scope it runs on and receives ``params``
from the catalog entry. It returns ``None`` (pass), :class:`Fail` (message and field path),
:class:`NA` (does not apply, with the reason) or :class:`Skip` (could not find out).

Signatures by scope:

* container: ``fn(container, path, obj, ctx, params)`` - ``path`` is the container's field path
* pod / object: ``fn(obj, ctx, params)``
* bundle / config / evidence / attestation: ``fn(ctx, params)``; a bundle evaluator may
  instead return a list of ``(Location, Fail)`` (empty list = pass).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from bmad.core.models import PhaseName
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.manifests import WORKLOAD_KINDS, ManifestObject, dig
from bmad.phases.analyze.model import NA, Fail, Location, Scope, Skip, Verdict

Params = Mapping[str, Any]
Path_ = tuple[str | int, ...]
ContainerFn = Callable[[dict[str, Any], Path_, ManifestObject, EvalContext, Params], Verdict]
ObjectFn = Callable[[ManifestObject, EvalContext, Params], Verdict]
GlobalFn = Callable[[EvalContext, Params], Any]

EVALUATORS: dict[str, tuple[Scope, Callable[..., Any]]] = {}


def register(name: str, scope: Scope) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in EVALUATORS:
            raise ValueError(f"evaluator {name!r} registered twice")
        EVALUATORS[name] = (scope, fn)
        return fn

    return wrap


# -- helpers ---------------------------------------------------------------------------------
_SECRET_NAME = re.compile(
    r"(passw(or)?d|passwd|secret|token|api[_-]?key|private[_-]?key|credential|auth[_-]?key)", re.I
)
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|ghp_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|sk_live_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.)"
)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
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
SENSITIVE_HOST_PATHS = ("/", "/etc", "/proc", "/sys", "/root", "/var/lib/kubelet", "/var/lib/docker", "/boot", "/dev")
RUNTIME_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "podman.sock", "/var/run/docker", "/run/containerd")
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
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


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    value = container.get("securityContext")
    return value if isinstance(value, dict) else {}


def _pod_sc(obj: ManifestObject) -> dict[str, Any]:
    value = (obj.pod_spec or {}).get("securityContext")
    return value if isinstance(value, dict) else {}


def _effective(container: dict[str, Any], obj: ManifestObject, field_name: str) -> Any:
    """A securityContext field as the kubelet sees it: container level wins over pod level."""
    sc = _sc(container)
    if field_name in sc:
        return sc[field_name]
    return _pod_sc(obj).get(field_name)


def _resources(container: dict[str, Any], kind: str) -> dict[str, Any]:
    value = dig(container, ("resources", kind))
    return value if isinstance(value, dict) else {}


def _is_init(path: Path_) -> bool:
    return "initContainers" in path


def _is_job(obj: ManifestObject) -> bool:
    return obj.kind in ("Job", "CronJob")


def _is_long_running(obj: ManifestObject) -> bool:
    return obj.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod")


def _image_parts(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


def _registry(image: str) -> str:
    repo = _image_parts(image)[0]
    first = repo.split("/", 1)[0]
    if "/" in repo and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _pod_volumes(obj: ManifestObject) -> list[tuple[int, dict[str, Any]]]:
    volumes = (obj.pod_spec or {}).get("volumes")
    if not isinstance(volumes, list):
        return []
    return [(i, v) for i, v in enumerate(volumes) if isinstance(v, dict)]


def _vol_path(obj: ManifestObject, index: int) -> Path_:
    return (*(obj.pod_spec_path or ()), "volumes", index)


def _pod_path(obj: ManifestObject, *rest: str | int) -> Path_:
    return (*(obj.pod_spec_path or ()), *rest)


def _ports(container: dict[str, Any]) -> list[dict[str, Any]]:
    ports = container.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _probe(container: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = container.get(name)
    return value if isinstance(value, dict) else None


def _serving(container: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext) -> bool:
    """A container that serves traffic: long-running, not init, with ports or behind a Service."""
    if _is_init(path) or not _is_long_running(obj):
        return False
    return bool(_ports(container)) or bool(ctx.bundle.services_selecting(obj))


# ================================================================================ container
@register("sc_not_true", Scope.CONTAINER)
def sc_not_true(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    if _effective(c, obj, field_name) is True:
        return Fail(f"securityContext.{field_name} is true", (*path, "securityContext", field_name))
    return None


@register("sc_must_be", Scope.CONTAINER)
def sc_must_be(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    expected = p["value"]
    value = _effective(c, obj, field_name) if p.get("pod_level", True) else _sc(c).get(field_name)
    if value != expected:
        seen = "not set" if value is None else f"{value!r}"
        return Fail(f"securityContext.{field_name} is {seen}; expected {expected!r}", (*path, "securityContext"))
    return None


@register("run_as_non_root", Scope.CONTAINER)
def run_as_non_root(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    user = _effective(c, obj, "runAsUser")
    if _effective(c, obj, "runAsNonRoot") is True and user != 0:
        return None
    if isinstance(user, int) and user > 0:
        return None
    return Fail("may run as root: set runAsNonRoot: true or runAsUser > 0", (*path, "securityContext"))


@register("uid_floor", Scope.CONTAINER)
def uid_floor(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    floor = ctx.settings.uid_floor
    for field_name in ("runAsUser", "runAsGroup"):
        value = _effective(c, obj, field_name)
        if value is None:
            return Fail(f"{field_name} is not set (analyze.uid_floor = {floor})", (*path, "securityContext"))
        if not isinstance(value, int) or value < floor:
            return Fail(f"{field_name} is {value}; below analyze.uid_floor {floor}", (*path, "securityContext"))
    return None


@register("caps_drop_all", Scope.CONTAINER)
def caps_drop_all(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    drop = dig(c, ("securityContext", "capabilities", "drop")) or []
    if isinstance(drop, list) and any(str(d).upper() == "ALL" for d in drop):
        return None
    return Fail("capabilities.drop does not include ALL", (*path, "securityContext"))


@register("caps_not_added", Scope.CONTAINER)
def caps_not_added(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
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
def seccomp(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    profile = _effective(c, obj, "seccompProfile")
    kind = profile.get("type") if isinstance(profile, dict) else None
    if kind in ("RuntimeDefault", "Localhost"):
        return None
    annotation = obj.pod_annotations.get("seccomp.security.alpha.kubernetes.io/pod")
    if annotation in ("runtime/default", "docker/default") and kind is None:
        return None
    return Fail(f"seccompProfile is {kind or 'not set'}; expected RuntimeDefault or Localhost", path)


@register("apparmor", Scope.CONTAINER)
def apparmor(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
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
def selinux_custom(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    options = _effective(c, obj, "seLinuxOptions")
    if isinstance(options, dict) and (options.get("user") or options.get("role")):
        return Fail("seLinuxOptions sets a custom user or role", (*path, "securityContext"))
    return None


@register("proc_mount_default", Scope.CONTAINER)
def proc_mount_default(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    value = _sc(c).get("procMount")
    if value not in (None, "Default"):
        return Fail(f"procMount is {value}", (*path, "securityContext", "procMount"))
    return None


@register("windows_host_process", Scope.CONTAINER)
def windows_host_process(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    for source in (_sc(c), _pod_sc(obj)):
        if dig(source, ("windowsOptions", "hostProcess")) is True:
            return Fail("windowsOptions.hostProcess is true", (*path, "securityContext"))
    return None


@register("container_sc_present", Scope.CONTAINER)
def container_sc_present(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _sc(c):
        return Fail("container has no securityContext", path)
    return None


@register("no_host_port", Scope.CONTAINER)
def no_host_port(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    for index, port in enumerate(_ports(c)):
        if port.get("hostPort"):
            return Fail(
                f"port {port.get('containerPort')} is bound to hostPort {port['hostPort']}", (*path, "ports", index)
            )
    return None


@register("privileged_port_non_root", Scope.CONTAINER)
def privileged_port_non_root(
    c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    for index, port in enumerate(_ports(c)):
        number = port.get("containerPort")
        if isinstance(number, int) and number < 1024:
            return Fail(f"containerPort {number} is privileged (< 1024)", (*path, "ports", index))
    return None


@register("no_secret_literal_env", Scope.CONTAINER)
def no_secret_literal_env(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    env = c.get("env")
    if not isinstance(env, list):
        return None
    for index, item in enumerate(env):
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        name = str(item.get("name", ""))
        if isinstance(value, str) and value and (_SECRET_NAME.search(name) or _SECRET_VALUE.search(value)):
            # The value is never repeated in the message.
            return Fail(f"env {name} holds a literal secret-looking value", (*path, "env", index))
    return None


@register("secrets_as_files", Scope.CONTAINER)
def secrets_as_files(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
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
def image_tag(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    image = c.get("image")
    if not isinstance(image, str) or not image:
        return Fail("container has no image", path)
    _, tag, digest = _image_parts(image)
    if digest:
        return None
    if tag is None:
        return Fail(f"image {image} has no tag (means :latest)", (*path, "image"))
    if tag in ("latest", "master", "main", "dev", "edge"):
        return Fail(f"image {image} uses the moving tag :{tag}", (*path, "image"))
    return None


@register("image_digest", Scope.CONTAINER)
def image_digest(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.settings.require_digest_pinning:
        return NA("digest pinning not required (analyze.require_digest_pinning: false; DEPLOY pins the release image)")
    image = str(c.get("image") or "")
    if "@sha256:" not in image:
        return Fail(f"image {image} is not pinned by digest", (*path, "image"))
    return None


@register("pull_policy", Scope.CONTAINER)
def pull_policy(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    wanted = ctx.settings.pull_policy
    if wanted == "any":
        return NA("no pull policy required (analyze.pull_policy: any)")
    value = c.get("imagePullPolicy")
    if value != wanted:
        return Fail(f"imagePullPolicy is {value or 'not set'}; analyze.pull_policy wants {wanted}", path)
    return None


@register("allowed_registry", Scope.CONTAINER)
def allowed_registry(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    allowed = ctx.settings.allowed_registries
    if not allowed:
        return NA("no registry allow-list configured (analyze.allowed_registries)")
    image = str(c.get("image") or "")
    registry = _registry(image)
    repo = _image_parts(image)[0]
    if any(registry == a or repo.startswith(a.rstrip("/") + "/") for a in allowed):
        return None
    return Fail(f"image {image} is from {registry}, not in analyze.allowed_registries", (*path, "image"))


@register("resource_set", Scope.CONTAINER)
def resource_set(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    kind, resource = p["kind"], p["resource"]
    setting = p.get("setting")
    if setting and not getattr(ctx.settings, setting):
        return NA(f"not required (analyze.{setting}: false)")
    if p.get("init_only") and not _is_init(path):
        return NA("applies to init containers only")
    if resource not in _resources(c, kind):
        return Fail(f"resources.{kind}.{resource} is not set", (*path, "resources"))
    return None


@register("memory_request_equals_limit", Scope.CONTAINER)
def memory_request_equals_limit(
    c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    request = parse_quantity(_resources(c, "requests").get("memory"))
    limit = parse_quantity(_resources(c, "limits").get("memory"))
    if request is None or limit is None:
        return Fail("memory request and limit must both be set", (*path, "resources"))
    if request != limit:
        return Fail(
            "memory request differs from the limit (risk of OOM kill under node pressure)", (*path, "resources")
        )
    return None


@register("resource_ceiling", Scope.CONTAINER)
def resource_ceiling(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    limits = {"cpu": ctx.settings.max_cpu, "memory": ctx.settings.max_memory}
    if not any(limits.values()):
        return NA("no ceiling configured (analyze.max_cpu / analyze.max_memory)")
    for resource, ceiling in limits.items():
        top = parse_quantity(ceiling)
        if top is None:
            continue
        for kind in ("requests", "limits"):
            value = parse_quantity(_resources(c, kind).get(resource))
            if value is not None and value > top:
                return Fail(f"{kind}.{resource} is above the ceiling {ceiling}", (*path, "resources", kind))
    return None


@register("probe_present", Scope.CONTAINER)
def probe_present(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if _is_init(path):
        return NA("init containers run to completion; no probes")
    if _is_job(obj):
        return NA("jobs run to completion; no probes")
    if p.get("serving") and not _serving(c, path, obj, ctx):
        return NA("container serves no port and is behind no Service")
    if _probe(c, p["probe"]) is None:
        return Fail(f"no {p['probe']}", path)
    return None


@register("probes_differ", Scope.CONTAINER)
def probes_differ(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    ready, live = _probe(c, "readinessProbe"), _probe(c, "livenessProbe")
    if ready is None or live is None:
        return NA("needs both a readiness and a liveness probe")
    if ready == live:
        return Fail("readiness and liveness probes are identical: a slow pod gets killed instead of drained", path)
    return None


@register("startup_probe_for_slow_start", Scope.CONTAINER)
def startup_probe_for_slow_start(
    c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    live = _probe(c, "livenessProbe")
    if live is None:
        return NA("no liveness probe")
    delay = live.get("initialDelaySeconds", 0)
    if isinstance(delay, int) and delay > p.get("max_delay", 60) and _probe(c, "startupProbe") is None:
        return Fail(f"liveness initialDelaySeconds is {delay}; use a startupProbe", (*path, "livenessProbe"))
    return None


@register("probe_bounds", Scope.CONTAINER)
def probe_bounds(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
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
def probe_port_declared(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    names = {pt.get("name") for pt in _ports(c) if pt.get("name")}
    numbers = {pt.get("containerPort") for pt in _ports(c)}
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
def duplicate_env(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
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
def pre_stop(c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _serving(c, path, obj, ctx) or obj.kind not in ("Deployment", "StatefulSet"):
        return NA("only serving containers of Deployments/StatefulSets drain connections")
    if not dig(c, ("lifecycle", "preStop")):
        return Fail("no preStop hook: in-flight requests are cut when the pod stops", path)
    return None


@register("termination_message_policy", Scope.CONTAINER)
def termination_message_policy(
    c: dict[str, Any], path: Path_, obj: ManifestObject, ctx: EvalContext, p: Params
) -> Verdict:
    if c.get("terminationMessagePolicy") != "FallbackToLogsOnError":
        return Fail("terminationMessagePolicy is not FallbackToLogsOnError", path)
    return None


@register("metrics_port", Scope.POD)
def metrics_port(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _is_long_running(obj):
        return NA("jobs are not scraped")
    annotations = obj.pod_annotations
    if str(annotations.get("prometheus.io/scrape", "")).lower() == "true":
        return None
    for c, _ in obj.containers(init=False):
        for port in _ports(c):
            if str(port.get("name", "")).startswith(("metrics", "http-metrics", "prom")):
                return None
    if obj.kind in ("Deployment", "StatefulSet", "DaemonSet") and any(
        s for s in ctx.bundle.of_kind("ServiceMonitor", "PodMonitor")
    ):
        return None
    return Fail(
        "no metrics endpoint declared (a port named 'metrics' or prometheus.io/scrape annotations)", _pod_path(obj)
    )


@register("tracing", Scope.POD)
def tracing(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _is_long_running(obj):
        return NA("jobs")
    for c, _ in obj.containers(init=False):
        env = c.get("env")
        for item in env if isinstance(env, list) else []:
            if isinstance(item, dict) and str(item.get("name", "")).startswith(
                ("OTEL_EXPORTER_OTLP", "JAEGER_", "ZIPKIN_")
            ):
                return None
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    return Fail(f"no tracing exporter configured (OTEL_EXPORTER_OTLP_* env) and {message}", _pod_path(obj))


# ====================================================================================== pod
@register("pod_field_not_true", Scope.POD)
def pod_field_not_true(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    value = (obj.pod_spec or {}).get(p["field"])
    if p.get("absent") and value not in (None, False, [], {}):
        return Fail(f"{p['field']} is set", _pod_path(obj, p["field"]))
    if value is True:
        return Fail(f"{p['field']} is true", _pod_path(obj, p["field"]))
    return None


@register("pod_field_set", Scope.POD)
def pod_field_set(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if p.get("long_running") and not _is_long_running(obj):
        return NA("applies to long-running workloads")
    if (obj.pod_spec or {}).get(p["field"]) in (None, "", [], {}):
        return Fail(f"{p['field']} is not set", _pod_path(obj))
    return None


@register("host_path", Scope.POD)
def host_path(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    mode = p["mode"]
    for index, volume in _pod_volumes(obj):
        host = dig(volume, ("hostPath", "path"))
        if not isinstance(host, str):
            continue
        where = _vol_path(obj, index)
        if mode == "any" and host not in ctx.settings.allowed_host_paths:
            return Fail(f"volume {volume.get('name')} mounts hostPath {host}", where)
        if mode == "socket" and any(s in host for s in RUNTIME_SOCKETS):
            return Fail(f"volume {volume.get('name')} mounts the container runtime socket {host}", where)
        if mode == "sensitive":
            clean = host.rstrip("/") or "/"
            if any(clean == s or (s != "/" and clean.startswith(s + "/")) for s in SENSITIVE_HOST_PATHS):
                return Fail(f"volume {volume.get('name')} mounts the sensitive host path {host}", where)
    return None


@register("unsafe_sysctls", Scope.POD)
def unsafe_sysctls(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    sysctls = _pod_sc(obj).get("sysctls")
    if isinstance(sysctls, list):
        for item in sysctls:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in SAFE_SYSCTLS:
                return Fail(f"sysctl {name} is not in the safe set", _pod_path(obj, "securityContext"))
    return None


@register("root_group", Scope.POD)
def root_group(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    sc = _pod_sc(obj)
    for field_name in ("runAsGroup", "fsGroup"):
        if sc.get(field_name) == 0:
            return Fail(f"{field_name} is 0 (root group)", _pod_path(obj, "securityContext"))
    groups = sc.get("supplementalGroups")
    if isinstance(groups, list) and 0 in groups:
        return Fail("supplementalGroups contains 0 (root)", _pod_path(obj, "securityContext"))
    for c, path in obj.containers():
        if _sc(c).get("runAsGroup") == 0:
            return Fail("container runAsGroup is 0 (root group)", (*path, "securityContext"))
    return None


@register("pod_sc_present", Scope.POD)
def pod_sc_present(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _pod_sc(obj):
        return Fail("pod has no securityContext", _pod_path(obj))
    return None


@register("automount_token", Scope.POD)
def automount_token(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.pod_spec or {}
    value = spec.get("automountServiceAccountToken")
    if value is False:
        return None
    if value is None:
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        sa = ctx.bundle.find("ServiceAccount", str(account), obj.namespace) if account else None
        if sa is not None and sa.data.get("automountServiceAccountToken") is False:
            return None
    return Fail("the service account token is mounted; set automountServiceAccountToken: false", _pod_path(obj))


@register("dedicated_service_account", Scope.POD)
def dedicated_service_account(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.pod_spec or {}
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if not account or account == "default":
        return Fail("runs as the namespace's default ServiceAccount", _pod_path(obj))
    return None


@register("restart_policy_job", Scope.POD)
def restart_policy_job(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not _is_job(obj):
        return NA("applies to Jobs and CronJobs")
    policy = (obj.pod_spec or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        return Fail(f"restartPolicy is {policy or 'not set'}; Jobs need OnFailure or Never", _pod_path(obj))
    return None


@register("port_names", Scope.POD)
def port_names(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    seen: set[str] = set()
    for c, path in obj.containers():
        for index, port in enumerate(_ports(c)):
            name = port.get("name")
            if name is None:
                continue
            name = str(name)
            if len(name) > 15:
                return Fail(f"port name {name!r} is longer than 15 characters", (*path, "ports", index))
            if name in seen:
                return Fail(f"port name {name!r} is used twice", (*path, "ports", index))
            seen.add(name)
    return None


def _referenced(obj: ManifestObject, what: str) -> list[tuple[str, Path_, bool]]:
    """(name, path, optional) of ConfigMaps/Secrets/PVCs a pod template references."""
    found: list[tuple[str, Path_, bool]] = []
    key_ref = "configMapKeyRef" if what == "configmap" else "secretKeyRef"
    env_ref = "configMapRef" if what == "configmap" else "secretRef"
    for c, path in obj.containers():
        for index, item in enumerate(c.get("env") or []):
            ref = dig(item, ("valueFrom", key_ref)) if isinstance(item, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                found.append((str(ref["name"]), (*path, "env", index), bool(ref.get("optional"))))
        for index, item in enumerate(c.get("envFrom") or []):
            ref = item.get(env_ref) if isinstance(item, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                found.append((str(ref["name"]), (*path, "envFrom", index), bool(ref.get("optional"))))
    for index, volume in _pod_volumes(obj):
        where = _vol_path(obj, index)
        if what == "configmap" and isinstance(volume.get("configMap"), dict):
            ref = volume["configMap"]
            found.append((str(ref.get("name")), where, bool(ref.get("optional"))))
        if what == "secret" and isinstance(volume.get("secret"), dict):
            ref = volume["secret"]
            found.append((str(ref.get("secretName")), where, bool(ref.get("optional"))))
        if what == "pvc" and isinstance(volume.get("persistentVolumeClaim"), dict):
            found.append((str(volume["persistentVolumeClaim"].get("claimName")), where, False))
        for source_index, source in enumerate(dig(volume, ("projected", "sources")) or []):
            key = "configMap" if what == "configmap" else "secret"
            ref = source.get(key) if isinstance(source, dict) else None
            if isinstance(ref, dict) and what in ("configmap", "secret"):
                found.append(
                    (str(ref.get("name")), (*where, "projected", "sources", source_index), bool(ref.get("optional")))
                )
    if what == "secret":
        for index, item in enumerate((obj.pod_spec or {}).get("imagePullSecrets") or []):
            if isinstance(item, dict) and item.get("name"):
                found.append((str(item["name"]), _pod_path(obj, "imagePullSecrets", index), False))
    return found


@register("refs_exist", Scope.POD)
def refs_exist(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    what = p["what"]
    kind = {"configmap": "ConfigMap", "pvc": "PersistentVolumeClaim", "serviceaccount": "ServiceAccount"}[what]
    external = {
        "configmap": ctx.settings.external_configmaps,
        "serviceaccount": ctx.settings.external_service_accounts,
        "pvc": [],
    }[what]
    if what == "serviceaccount":
        spec = obj.pod_spec or {}
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        refs = [(str(account), _pod_path(obj, "serviceAccountName"), False)] if account and account != "default" else []
    else:
        refs = _referenced(obj, what)
    if what == "pvc" and obj.kind == "StatefulSet":
        templates = {dig(t, ("metadata", "name")) for t in obj.spec().get("volumeClaimTemplates") or []}
        refs = [r for r in refs if r[0] not in templates]
    if not refs:
        return NA(f"references no {kind}")
    for name, path, optional in refs:
        if optional or name in external:
            continue
        if ctx.bundle.find(kind, name, obj.namespace) is None:
            return Fail(f"{kind} {name} is referenced but not in the bundle (or listed as external)", path)
    return None


@register("pvc_referenced", Scope.POD)
def pvc_referenced(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    verdict: Verdict = refs_exist(obj, ctx, {"what": "pvc"})
    return verdict


@register("selector_matches_template", Scope.OBJECT)
def selector_matches_template(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    from bmad.phases.analyze.manifests import selector_matches

    selector = obj.spec().get("selector")
    if not isinstance(selector, dict):
        return Fail("spec.selector is missing", ("spec",))
    if not selector_matches(selector, obj.pod_labels):
        return Fail("spec.selector does not match the pod template labels", ("spec", "selector"))
    return None


@register("service_targets_pods", Scope.OBJECT)
def service_targets_pods(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    selector = spec.get("selector")
    if spec.get("type") == "ExternalName":
        return NA("ExternalName service")
    if not selector:
        return NA("no selector: endpoints are managed outside the bundle")
    if not ctx.bundle.pods_selected(selector, obj.namespace):
        return Fail(
            f"selector {selector} matches no pod template in namespace {obj.namespace or '(none)'}",
            ("spec", "selector"),
        )
    return None


@register("service_target_port", Scope.OBJECT)
def service_target_port(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    selector = obj.spec().get("selector")
    if not selector:
        return NA("no selector")
    pods = ctx.bundle.pods_selected(selector, obj.namespace)
    if not pods:
        return NA("selects no pods (reported by the selector check)")
    names: set[str] = set()
    numbers: set[int] = set()
    for workload in pods:
        for c, _ in workload.containers(init=False):
            for port in _ports(c):
                if port.get("name"):
                    names.add(str(port["name"]))
                if isinstance(port.get("containerPort"), int):
                    numbers.add(port["containerPort"])
    for index, port in enumerate(obj.spec().get("ports") or []):
        if not isinstance(port, dict):
            continue
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str) and not target.isdigit() and target not in names:
            return Fail(f"targetPort {target!r} is not a port name of the selected pods", ("spec", "ports", index))
        if isinstance(target, int) and numbers and target not in numbers:
            return Fail(f"targetPort {target} is not a containerPort of the selected pods", ("spec", "ports", index))
    return None


def _ingress_backends(obj: ManifestObject) -> list[tuple[dict[str, Any], Path_]]:
    spec = obj.spec()
    found: list[tuple[dict[str, Any], Path_]] = []
    default = spec.get("defaultBackend")
    if isinstance(default, dict):
        found.append((default, ("spec", "defaultBackend")))
    for r_index, rule in enumerate(spec.get("rules") or []):
        paths = dig(rule, ("http", "paths")) or []
        for p_index, item in enumerate(paths):
            if isinstance(item, dict) and isinstance(item.get("backend"), dict):
                found.append((item["backend"], ("spec", "rules", r_index, "http", "paths", p_index, "backend")))
    return found


@register("ingress_backend", Scope.OBJECT)
def ingress_backend(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    backends = _ingress_backends(obj)
    if not backends:
        return Fail("ingress has no backends", ("spec",))
    for backend, path in backends:
        service = backend.get("service")
        if not isinstance(service, dict):
            continue  # resource backends are out of scope
        svc = ctx.bundle.find("Service", str(service.get("name")), obj.namespace)
        if svc is None:
            return Fail(f"backend Service {service.get('name')} is not in the bundle", path)
        if p.get("port"):
            port = service.get("port") or {}
            ports = [pt for pt in svc.spec().get("ports") or [] if isinstance(pt, dict)]
            number, name = port.get("number"), port.get("name")
            if number is not None and number not in {pt.get("port") for pt in ports}:
                return Fail(f"Service {svc.name} has no port {number}", path)
            if name is not None and name not in {pt.get("name") for pt in ports}:
                return Fail(f"Service {svc.name} has no port named {name}", path)
    return None


@register("hpa_target", Scope.OBJECT)
def hpa_target(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    ref = obj.spec().get("scaleTargetRef")
    if not isinstance(ref, dict):
        return Fail("spec.scaleTargetRef is missing", ("spec",))
    if ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace) is None:
        return Fail(
            f"scale target {ref.get('kind')}/{ref.get('name')} is not in the bundle", ("spec", "scaleTargetRef")
        )
    return None


@register("selects_pods", Scope.OBJECT)
def selects_pods(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    field_name = p["field"]
    selector = obj.spec().get(field_name)
    if selector is None:
        return Fail(f"spec.{field_name} is missing", ("spec",))
    if not ctx.bundle.pods_selected(selector, obj.namespace):
        return Fail(f"spec.{field_name} matches no pod template in the bundle", ("spec", field_name))
    return None


@register("statefulset_service", Scope.OBJECT)
def statefulset_service(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    name = obj.spec().get("serviceName")
    if not name:
        return Fail("spec.serviceName is not set", ("spec",))
    svc = ctx.bundle.find("Service", str(name), obj.namespace)
    if svc is None:
        return Fail(f"Service {name} is not in the bundle", ("spec", "serviceName"))
    if svc.spec().get("clusterIP") != "None":
        return Fail(f"Service {name} is not headless (clusterIP: None)", ("spec", "serviceName"))
    return None


@register("has_namespace", Scope.OBJECT)
def has_namespace(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.kind in CLUSTER_SCOPED:
        return NA("cluster-scoped kind")
    ns = obj.namespace
    if not ns:
        return Fail("no namespace (metadata.namespace or analyze.default_namespace)", ("metadata",))
    if ns == "default":
        return Fail("namespace is 'default'", ("metadata", "namespace"))
    return None


CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "Node",
        "RuntimeClass",
        "CSIDriver",
    }
)


@register("not_in_namespace", Scope.OBJECT)
def not_in_namespace(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.namespace in p["namespaces"]:
        return Fail(f"placed in {obj.namespace}", ("metadata", "namespace"))
    return None


@register("label_syntax", Scope.OBJECT)
def label_syntax(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    for key, value in obj.labels.items():
        key = str(key)
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix))) or not _LABEL_NAME.match(name):
            return Fail(f"label key {key!r} is not valid", ("metadata", "labels"))
        if value is not None and (not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value)):
            return Fail(f"label {key} has an invalid value {value!r}", ("metadata", "labels", key))
    return None


@register("recommended_labels", Scope.OBJECT)
def recommended_labels(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    missing = [label for label in p["labels"] if label not in obj.labels]
    if missing:
        return Fail("missing labels " + ", ".join(missing), ("metadata",))
    return None


@register("pod_selectable_label", Scope.POD)
def pod_selectable_label(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    labels = obj.pod_labels
    if "app" in labels or "app.kubernetes.io/name" in labels:
        return None
    return Fail("pod template has neither 'app' nor 'app.kubernetes.io/name' label", _pod_path(obj)[:-1])


@register("service_type", Scope.OBJECT)
def service_type(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    kind = obj.spec().get("type", "ClusterIP")
    if kind == "NodePort":
        return Fail("Service type is NodePort: opens a port on every node", ("spec", "type"))
    return None


@register("service_has_ports", Scope.OBJECT)
def service_has_ports(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.spec().get("type") == "ExternalName":
        return NA("ExternalName service")
    if not obj.spec().get("ports"):
        return Fail("Service declares no ports", ("spec",))
    return None


@register("ingress_tls", Scope.OBJECT)
def ingress_tls(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    tls = obj.spec().get("tls")
    if not tls:
        return Fail("no TLS section", ("spec",))
    hosts = {str(r.get("host")) for r in obj.spec().get("rules") or [] if isinstance(r, dict) and r.get("host")}
    covered = {str(h) for item in tls if isinstance(item, dict) for h in item.get("hosts") or []}
    uncovered = sorted(hosts - covered)
    if uncovered:
        return Fail("hosts without TLS: " + ", ".join(uncovered), ("spec", "tls"))
    return None


@register("ingress_cert_renewal", Scope.OBJECT)
def ingress_cert_renewal(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    annotations = obj.annotations
    if any(str(k).startswith("cert-manager.io/") for k in annotations):
        return None
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    return Fail(f"no cert-manager annotation for automatic renewal, and {message}", ("metadata",))


@register("no_annotation_prefix", Scope.OBJECT)
def no_annotation_prefix(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    for key in obj.annotations:
        if any(str(key).endswith(suffix) for suffix in p["suffixes"]):
            return Fail(f"annotation {key} allows configuration injection", ("metadata", "annotations", key))
    return None


@register("configmap_no_secrets", Scope.OBJECT)
def configmap_no_secrets(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    data = obj.data.get("data")
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        if _SECRET_NAME.search(str(key)) and isinstance(value, str) and value.strip():
            return Fail(f"key {key} looks like a secret", ("data", key))
        if isinstance(value, str) and _SECRET_VALUE.search(value):
            return Fail(f"key {key} contains credential-like content", ("data", key))
    return None


@register("no_plain_secret", Scope.OBJECT)
def no_plain_secret(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.data.get("data") or obj.data.get("stringData"):
        return Fail("Secret values are committed with the manifests; create them in the target instead", ("data",))
    return None


def _rules(obj: ManifestObject) -> list[tuple[int, dict[str, Any]]]:
    rules = obj.data.get("rules")
    return [(i, r) for i, r in enumerate(rules) if isinstance(r, dict)] if isinstance(rules, list) else []


def _as_set(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else set()


@register("rbac_rule", Scope.OBJECT)
def rbac_rule(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    mode = p["mode"]
    for index, rule in _rules(obj):
        verbs, resources, groups = (
            _as_set(rule.get("verbs")),
            _as_set(rule.get("resources")),
            _as_set(rule.get("apiGroups")),
        )
        where = ("rules", index)
        if mode == "wildcard" and ("*" in verbs or "*" in resources or "*" in groups):
            return Fail("rule uses a wildcard", where)
        if mode == "exec" and resources & {"pods/exec", "pods/attach"} and verbs & {"create", "get", "*"}:
            return Fail("grants pods/exec or pods/attach", where)
        if (
            mode == "secrets"
            and ("secrets" in resources or "*" in resources)
            and verbs & {"get", "list", "watch", "*"}
            and not rule.get("resourceNames")
        ):
            return Fail("grants reading every Secret", where)
        if mode == "impersonate" and "impersonate" in verbs:
            return Fail("grants impersonate", where)
        if mode == "escalate" and verbs & {"bind", "escalate"}:
            return Fail("grants bind/escalate on roles", where)
        if mode == "webhooks" and (
            (
                resources & {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}
                and verbs - {"get", "list", "watch"}
            )
            or "certificatesigningrequests/approval" in resources
        ):
            return Fail("grants changing admission webhooks or approving CSRs", where)
    return None


@register("rbac_binding", Scope.OBJECT)
def rbac_binding(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    mode = p["mode"]
    if mode == "cluster_admin":
        if dig(obj.data, ("roleRef", "name")) == "cluster-admin":
            return Fail("binds cluster-admin", ("roleRef",))
        return None
    for index, subject in enumerate(obj.data.get("subjects") or []):
        if isinstance(subject, dict) and subject.get("name") in (
            "system:anonymous",
            "system:unauthenticated",
            "system:authenticated",
            "system:masters",
        ):
            return Fail(f"binds {subject.get('name')}", ("subjects", index))
    return None


@register("prometheus_rule", Scope.OBJECT)
def prometheus_rule(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    mode = p["mode"]
    alerts = 0
    for g_index, group in enumerate(obj.spec().get("groups") or []):
        for r_index, rule in enumerate((group or {}).get("rules") or []):
            if not isinstance(rule, dict) or "alert" not in rule:
                continue
            alerts += 1
            where = ("spec", "groups", g_index, "rules", r_index)
            raw_labels, raw_annotations = rule.get("labels"), rule.get("annotations")
            labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
            annotations: dict[str, Any] = raw_annotations if isinstance(raw_annotations, dict) else {}
            if mode == "severity" and labels.get("severity") not in ("critical", "warning", "info", "page", "ticket"):
                return Fail(f"alert {rule['alert']} has no valid severity label", where)
            if mode == "summary" and not (annotations.get("summary") and annotations.get("description")):
                return Fail(f"alert {rule['alert']} lacks summary/description annotations", where)
            if (
                mode == "runbook"
                and labels.get("severity") in ("critical", "page")
                and not annotations.get("runbook_url")
            ):
                return Fail(f"critical alert {rule['alert']} has no runbook_url", where)
            if mode == "for" and not rule.get("for"):
                return Fail(f"alert {rule['alert']} has no 'for' duration", where)
    if not alerts:
        return NA("no alerting rules in this PrometheusRule")
    return None


@register("service_scraped", Scope.OBJECT)
def service_scraped(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if str(obj.annotations.get("prometheus.io/scrape", "")).lower() == "true":
        return None
    from bmad.phases.analyze.manifests import selector_matches

    for monitor in ctx.bundle.of_kind("ServiceMonitor"):
        if selector_matches(monitor.spec().get("selector"), obj.labels):
            return None
    pods = ctx.bundle.pods_selected(obj.spec().get("selector"), obj.namespace) if obj.spec().get("selector") else []
    for workload in pods:
        if str(workload.pod_annotations.get("prometheus.io/scrape", "")).lower() == "true":
            return None
    return Fail("no ServiceMonitor selects this Service and no prometheus.io/scrape annotation", ("metadata",))


# ================================================================== workload relations
def _replicated(obj: ManifestObject, ctx: EvalContext) -> int:
    hpas = ctx.bundle.hpas_targeting(obj)
    if hpas:
        value = hpas[0].spec().get("minReplicas", 1)
        return value if isinstance(value, int) else 1
    return obj.replicas if obj.replicas is not None else 1


@register("has_hpa", Scope.OBJECT)
def has_hpa(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.bundle.hpas_targeting(obj):
        return Fail(f"no HorizontalPodAutoscaler targets {obj.kind}/{obj.name}", ("spec",))
    return None


def _hpa_verdict(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    mode = p["mode"]
    low = spec.get("minReplicas", 1)
    high = spec.get("maxReplicas")
    if mode == "min" and (not isinstance(low, int) or low < ctx.settings.min_replicas):
        return Fail(f"minReplicas is {low}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec",))
    if mode == "max" and (not isinstance(high, int) or not isinstance(low, int) or high <= low):
        return Fail(f"maxReplicas ({high}) is not above minReplicas ({low}): it cannot scale", ("spec",))
    if mode == "no_replicas":
        ref = spec.get("scaleTargetRef") or {}
        target = ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace)
        if target is None:
            return NA("the scale target is not in the bundle")
        if target.replicas is not None:
            return Fail(
                f"{target.ref} sets replicas; every apply resets what the HPA chose", ("spec", "scaleTargetRef")
            )
    if mode == "requests":
        ref = spec.get("scaleTargetRef") or {}
        target = ctx.bundle.find(str(ref.get("kind")), str(ref.get("name")), obj.namespace)
        if target is None:
            return NA("the scale target is not in the bundle")
        resources = {
            dig(m, ("resource", "name"))
            for m in spec.get("metrics") or []
            if isinstance(m, dict) and m.get("type") == "Resource"
        }
        if not resources and spec.get("targetCPUUtilizationPercentage") is not None:
            resources = {"cpu"}
        if not resources:
            return NA("scales on no resource metric")
        for c, _path in target.containers(init=False):
            for resource in resources:
                if resource not in _resources(c, "requests"):
                    return Fail(
                        f"{target.ref} container {c.get('name')} has no {resource} request for the HPA to use",
                        ("spec", "metrics"),
                    )
    return None


@register("hpa", Scope.OBJECT)
def hpa(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    return _hpa_verdict(obj, ctx, p)


@register("min_replicas", Scope.OBJECT)
def min_replicas(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if ctx.bundle.hpas_targeting(obj):
        count = _replicated(obj, ctx)
        if count < ctx.settings.min_replicas:
            return Fail(f"HPA minReplicas is {count}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec",))
        return None
    count = obj.replicas if obj.replicas is not None else 1
    if count < ctx.settings.min_replicas:
        return Fail(f"replicas is {count}; analyze.min_replicas is {ctx.settings.min_replicas}", ("spec", "replicas"))
    return None


@register("has_pdb", Scope.OBJECT)
def has_pdb(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if _replicated(obj, ctx) < 2:
        return NA("runs a single replica")
    if not ctx.bundle.pdbs_covering(obj):
        return Fail("no PodDisruptionBudget covers its pods", ("spec",))
    return None


@register("pdb", Scope.OBJECT)
def pdb(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.spec()
    mode = p["mode"]
    if mode == "policy":
        if "minAvailable" not in spec and "maxUnavailable" not in spec:
            return Fail("sets neither minAvailable nor maxUnavailable", ("spec",))
        return None
    workloads = ctx.bundle.pods_selected(spec.get("selector"), obj.namespace)
    if not workloads:
        return NA("selects no workload of the bundle")
    replicas = _replicated(workloads[0], ctx)
    min_available = spec.get("minAvailable")
    if mode == "allows_disruption":
        if spec.get("maxUnavailable") in (0, "0", "0%"):
            return Fail("maxUnavailable is 0: nodes can never be drained", ("spec", "maxUnavailable"))
        if min_available in ("100%",) or (isinstance(min_available, int) and min_available >= replicas):
            return Fail(f"minAvailable {min_available} with {replicas} replicas blocks every eviction", ("spec",))
        return None
    if mode == "below_hpa_min":
        if not ctx.bundle.hpas_targeting(workloads[0]):
            return NA("no HPA targets the selected workload")
        if not isinstance(min_available, int):
            return NA("minAvailable is not an absolute number")
        if min_available >= replicas:
            return Fail(f"minAvailable {min_available} is not below HPA minReplicas {replicas}", ("spec",))
        return None
    raise ValueError(mode)


@register("network_policy_covers", Scope.OBJECT)
def network_policy_covers(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if obj.pod_spec is None:
        return NA("no pod template")
    if not ctx.bundle.network_policies_covering(obj, p["type"]):
        return Fail(f"no NetworkPolicy selects its pods for {p['type']}", ("metadata",))
    return None


@register("rolling_update", Scope.OBJECT)
def rolling_update(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    strategy = obj.spec().get("strategy") or {}
    kind = strategy.get("type", "RollingUpdate") if isinstance(strategy, dict) else "RollingUpdate"
    if kind != "RollingUpdate":
        if not ctx.bundle.services_selecting(obj):
            return NA("not behind a Service")
        return Fail(f"strategy is {kind}: all pods stop before new ones start", ("spec", "strategy"))
    return None


@register("zero_downtime", Scope.OBJECT)
def zero_downtime(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    strategy = obj.spec().get("strategy") or {}
    rolling = strategy.get("rollingUpdate") if isinstance(strategy, dict) else None
    value = (rolling or {}).get("maxUnavailable", "25%") if isinstance(rolling, dict) or rolling is None else "25%"
    replicas = _replicated(obj, ctx)
    if isinstance(value, str) and value.endswith("%"):
        percent = float(value[:-1] or 0)
        unavailable = int(replicas * percent / 100)
    else:
        unavailable = int(value) if isinstance(value, int) else 0
    if unavailable >= replicas:
        return Fail(f"maxUnavailable {value} can take every replica down during a rollout", ("spec", "strategy"))
    if isinstance(value, str) and value.endswith("%") and float(value[:-1] or 0) > 25:
        return Fail(f"maxUnavailable {value} is above 25%", ("spec", "strategy"))
    return None


@register("spec_field", Scope.OBJECT)
def spec_field(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    path = tuple(p["path"])
    value = dig(obj.data, path)
    if "max" in p:
        if value is None:
            return Fail(f"{'.'.join(map(str, path))} is not set (default is larger than {p['max']})", path[:-1])
        if isinstance(value, int) and value > p["max"]:
            return Fail(f"{'.'.join(map(str, path))} is {value}; at most {p['max']}", path)
        return None
    if "equals" in p:
        if value != p["equals"]:
            return Fail(f"{'.'.join(map(str, path))} is {value!r}; expected {p['equals']!r}", path)
        return None
    if "not_equals" in p:
        if value == p["not_equals"]:
            return Fail(f"{'.'.join(map(str, path))} is {value!r}", path)
        return None
    if value in (None, "", [], {}):
        return Fail(f"{'.'.join(map(str, path))} is not set", path[:-1])
    return None


@register("spread", Scope.OBJECT)
def spread(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if _replicated(obj, ctx) < 2:
        return NA("runs a single replica")
    spec = obj.pod_spec or {}
    if p["mode"] == "topology":
        if spec.get("topologySpreadConstraints"):
            return None
        return Fail("no topologySpreadConstraints: replicas may share one node or zone", _pod_path(obj))
    terms = dig(spec, ("affinity", "podAntiAffinity")) or {}
    for key in ("requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"):
        for term in terms.get(key) or []:
            term = term.get("podAffinityTerm", term) if isinstance(term, dict) else {}
            if term.get("topologyKey") == "kubernetes.io/hostname":
                return None
    return Fail("no pod anti-affinity on kubernetes.io/hostname", _pod_path(obj))


@register("volume_claim_templates", Scope.OBJECT)
def volume_claim_templates(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    templates = obj.spec().get("volumeClaimTemplates")
    if not templates:
        return NA("no volumeClaimTemplates")
    for index, template in enumerate(templates):
        spec = template.get("spec") if isinstance(template, dict) else None
        if not isinstance(spec, dict) or not dig(spec, ("resources", "requests", "storage")):
            return Fail("volumeClaimTemplate without a storage request", ("spec", "volumeClaimTemplates", index))
        if not spec.get("storageClassName"):
            return Fail("volumeClaimTemplate without storageClassName", ("spec", "volumeClaimTemplates", index))
    return None


@register("pvc_spec", Scope.OBJECT)
def pvc_spec(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not dig(obj.data, ("spec", "resources", "requests", "storage")):
        return Fail("no storage request", ("spec",))
    if not obj.spec().get("storageClassName"):
        return Fail("no storageClassName", ("spec",))
    return None


@register("backup_for_state", Scope.BUNDLE)
def backup_for_state(ctx: EvalContext, p: Params) -> Verdict:
    stateful = ctx.bundle.of_kind("StatefulSet", "PersistentVolumeClaim")
    if not stateful:
        return NA("the bundle holds no persistent data (no StatefulSet or PVC)")
    for job in ctx.bundle.of_kind("CronJob"):
        text = f"{job.name} {job.labels}".lower()
        if "backup" in text or "snapshot" in text:
            return None
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    return Fail(f"persistent data without a backup CronJob, and {message}")


# ===================================================================================== bundle
@register("parse_ok", Scope.BUNDLE)
def parse_ok(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    codes = set(p["codes"])
    return [(Location(file=f.file, line=f.line), Fail(f.message)) for f in ctx.bundle.findings if f.code in codes]


@register("schema_valid", Scope.BUNDLE)
def schema_valid(ctx: EvalContext, p: Params) -> Any:
    if ctx.schema_results is None:
        return Skip("schema validation did not run")
    wanted = p["status"]
    failures = []
    for index, outcome in ctx.schema_results.items():
        if outcome.status != wanted:
            continue
        obj = ctx.bundle.objects[index]
        if wanted == "invalid":
            for error in outcome.errors[:5]:
                where = ".".join(map(str, error.path)) or "(object)"
                failures.append((_loc(obj, error.path), Fail(f"{where}: {error.message}", error.path)))
        else:
            failures.append((_loc(obj, ()), Fail(outcome.reason or outcome.status)))
    if wanted == "skipped" and not ctx.settings.reject_missing_schemas and failures:
        return NA(f"{len(failures)} custom resource(s) without a schema (analyze.reject_missing_schemas: false)")
    return failures


def _loc(obj: ManifestObject, path: Path_) -> Location:
    return Location(obj.namespace, obj.kind, obj.name, None, obj.file, obj.line_of(path))


@register("api_versions", Scope.OBJECT)
def api_versions(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    from bmad.phases.analyze.validation import api_status

    status = api_status(obj.api_version, obj.kind, ctx.settings.kubernetes_version)
    if status is None:
        return None
    state, replacement, version = status
    if p["mode"] == "removed" and state == "removed":
        return Fail(
            f"{obj.api_version} {obj.kind} was removed in Kubernetes {version}; use {replacement}", ("apiVersion",)
        )
    if p["mode"] == "deprecated" and state == "deprecated":
        return Fail(
            f"{obj.api_version} {obj.kind} is deprecated (removed in {version}); use {replacement}", ("apiVersion",)
        )
    return None


@register("has_workload", Scope.BUNDLE)
def has_workload(ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.bundle.workloads:
        return Fail(f"no workload (Deployment, StatefulSet, ...) found in {ctx.bundle.source or 'the manifests'}")
    return None


@register("duplicate_objects", Scope.BUNDLE)
def duplicate_objects(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    seen: dict[tuple[str, str, str], ManifestObject] = {}
    failures = []
    for obj in ctx.bundle.objects:
        if not obj.kind or not obj.name:
            continue
        if obj.key in seen:
            first = seen[obj.key]
            failures.append((_loc(obj, ()), Fail(f"{obj.ref} is defined twice (first in {first.file}:{first.line})")))
        else:
            seen[obj.key] = obj
    return failures


@register("ingress_hosts_unique", Scope.BUNDLE)
def ingress_hosts_unique(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    seen: dict[tuple[str, str], str] = {}
    failures = []
    for ing in ctx.bundle.of_kind("Ingress"):
        for index, rule in enumerate(ing.spec().get("rules") or []):
            if not isinstance(rule, dict):
                continue
            for path_item in dig(rule, ("http", "paths")) or []:
                key = (str(rule.get("host", "*")), str((path_item or {}).get("path", "/")))
                if key in seen and seen[key] != ing.name:
                    failures.append(
                        (
                            _loc(ing, ("spec", "rules", index)),
                            Fail(f"host {key[0]} path {key[1]} also routed by {seen[key]}"),
                        )
                    )
                seen.setdefault(key, ing.name)
    return failures


@register("namespace_object", Scope.BUNDLE)
def namespace_object(ctx: EvalContext, p: Params) -> Any:
    namespaces = {w.namespace for w in ctx.bundle.workloads if w.namespace}
    if not namespaces:
        return NA("no namespaced workloads")
    failures = []
    for ns in sorted(namespaces):
        if not any((o.namespace == ns) for o in ctx.bundle.of_kind(p["kind"])):
            failures.append(
                (Location(namespace=ns, kind="Namespace", name=ns), Fail(f"namespace {ns} has no {p['kind']}"))
            )
    return failures


@register("images_match_release", Scope.BUNDLE)
def images_match_release(ctx: EvalContext, p: Params) -> Any:
    found, image = ctx.evidence.lookup(PhaseName.BUILD, "image")
    if not found or not isinstance(image, str):
        found, image = ctx.evidence.lookup(PhaseName.BUILD, "image_ref")
    if not found or not isinstance(image, str):
        return Skip("BUILD recorded no image reference for this release")
    repo = _image_parts(image)[0].rsplit("/", 1)[-1]
    for workload in ctx.bundle.workloads:
        for c, _ in workload.containers(init=False):
            if _image_parts(str(c.get("image", "")))[0].rsplit("/", 1)[-1] == repo:
                return None
    return Fail(f"no container runs the release image {repo} built by BUILD")


@register("health_path_probe", Scope.BUNDLE)
def health_path_probe(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    wanted = ctx.config.deploy.health_path
    paths = set()
    for workload in ctx.bundle.workloads:
        for c, _ in workload.containers(init=False):
            for name in ("readinessProbe", "livenessProbe", "startupProbe"):
                value = dig(c, (name, "httpGet", "path"))
                if value:
                    paths.add(str(value))
    if not paths:
        return NA("no HTTP probes in the bundle")
    if wanted not in paths:
        return Fail(
            f"deploy.health_path {wanted} is not probed by any container (probes use {', '.join(sorted(paths))})"
        )
    return None


@register("dry_run_ok", Scope.BUNDLE)
def dry_run_ok(ctx: EvalContext, p: Params) -> Any:
    if ctx.dry_run_error is not None:
        return Skip(f"server dry-run could not run: {ctx.dry_run_error}")
    if ctx.dry_run is None:
        return NA(ctx.dry_run_note)
    return [(loc, Fail(message)) for loc, message in ctx.dry_run]


@register("crs_have_schema", Scope.BUNDLE)
def crs_have_schema(ctx: EvalContext, p: Params) -> Any:
    return schema_valid(ctx, {"status": "skipped"})


# ===================================================================================== config
@register("config_field", Scope.CONFIG)
def config_field(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    value: Any = ctx.config
    for part in p["path"]:
        value = getattr(value, part, None)
    if value in (None, "", [], {}):
        return Fail(f"{'.'.join(p['path'])} is not set in bmad.yaml")
    return None


@register("env_monitoring_field", Scope.CONFIG)
def env_monitoring_field(ctx: EvalContext, p: Params) -> Verdict:
    env = ctx.environment
    if env is None:
        return Skip("no environment selected")
    if getattr(env.monitoring, p["field"], None) in (None, ""):
        return Fail(f"environments.{ctx.environment_name}.monitoring.{p['field']} is not set")
    return None


@register("required_secrets_declared", Scope.CONFIG)
def required_secrets_declared(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    referenced = any(_referenced(w, "secret") for w in ctx.bundle.workloads)
    if not referenced:
        return NA("the bundle references no Secret")
    if not ctx.settings.required_secrets:
        return Fail("the bundle reads Secrets but analyze.required_secrets names no required keys")
    return None


@register("rollout_timeout", Scope.CONFIG)
def rollout_timeout(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    value = ctx.config.deploy.rollout_timeout_seconds
    if value > p["max"]:
        return Fail(
            f"deploy.rollout_timeout_seconds is {value}; a failed rollout is noticed after more than {p['max']}s"
        )
    return None


# =================================================================================== evidence
def _compare(value: Any, op: str, target: Any) -> bool:
    if op == "true":
        return value is True
    if op == "present":
        return value not in (None, "", [], {})
    try:
        number = float(str(value).rstrip("%"))
        goal = float(target)
    except (TypeError, ValueError):
        return False
    return {"eq": number == goal, "le": number <= goal, "ge": number >= goal, "gt": number > goal}[op]


def _target_value(ctx: EvalContext, p: Params) -> Any:
    setting = p.get("setting")
    if setting == "build.size_budget_mb":
        if ctx.config is None:
            return 500.0
        budget = getattr(ctx.config.build, "effective_size_budget_mb", None)
        return budget if budget is not None else ctx.config.build.size_budget_mb
    if setting:
        return getattr(ctx.settings, setting)
    return p.get("value")


def _first_deployment_na(ctx: EvalContext, p: Params) -> Verdict:
    if p.get("first_deployment_na") and ctx.first_deployment:
        return NA(
            f"first deployment to {ctx.environment_name or 'this environment'}: nothing of the service runs yet "
            "to measure; required from the next release on"
        )
    return None


@register("evidence", Scope.EVIDENCE)
def evidence(ctx: EvalContext, p: Params) -> Verdict:
    phase = PhaseName(p["phase"])
    attest = p.get("attestation")
    found, value = False, None
    for key in p["keys"]:
        found, value = ctx.evidence.lookup(phase, key)
        if found:
            break
    if not found:
        # Figures whose mere presence proves the item (e.g. MEASURE's e2e_metric_seconds: the
        # pushed test metric was seen by a query after that many seconds).
        for key in p.get("present_keys", ()):
            if ctx.evidence.lookup(phase, key)[0]:
                return None
        # Or the verdict of the check that measured it (e.g. measure.scrape_job for MO-006).
        check = ctx.evidence.check(phase, p["check"]) if p.get("check") else None
        if check is not None and check.status.value in ("pass", "warn", "fail"):
            if check.status.value == "pass":
                return None
            if (na := _first_deployment_na(ctx, p)) is not None:
                return na
            ok, message = ctx.attestations.check(attest, ctx.today) if attest else (False, "")
            if ok:
                return None
            return Fail(f"{phase.label}'s {check.id} did not pass ({check.status.value}): {check.summary}")
    if found:
        target = _target_value(ctx, p)
        if _compare(value, p["op"], target):
            return None
        if (na := _first_deployment_na(ctx, p)) is not None:
            return na
        wanted = {"true": "true", "present": "present"}.get(p["op"], f"{p['op']} {target}")
        return Fail(f"{phase.label} recorded {p['keys'][0]} = {value!r}; expected {wanted}")
    if (na := _first_deployment_na(ctx, p)) is not None:
        return na
    if attest:
        ok, message = ctx.attestations.check(attest, ctx.today)
        if ok:
            return None
        if not ctx.evidence.has(phase):
            return Skip(f"no {phase.label} record for this release, and {message}")
        return Fail(f"{phase.label} recorded no {p['keys'][0]}, and {message}")
    if not ctx.evidence.has(phase):
        return Skip(f"no {phase.label} record for this release")
    return Skip(f"{phase.label} recorded no {' / '.join(p['keys'])}")


def _level_passed(row: dict[str, Any]) -> dict[str, Any]:
    """A MEASURE level row: passed unless it says otherwise or broke the SLO (``slo_breach``)."""
    if "passed" in row:
        return row
    return {**row, "passed": not row.get("slo_breach") and bool(row.get("succeeded", row.get("requests", 0)))}


@register("load_test", Scope.EVIDENCE)
def load_test(ctx: EvalContext, p: Params) -> Verdict:
    found, value = ctx.evidence.lookup(PhaseName.MEASURE, "load_test")
    if found and isinstance(value, list):  # MEASURE's artifact: one row per concurrency level
        rows = [_level_passed(row) for row in value if isinstance(row, dict)]
        broken = [row for row in rows if not row["passed"]]
        if broken:
            where = broken[0].get("concurrency", broken[0].get("level", "?"))
            return Fail(
                f"the load test broke the SLO at concurrency {where}: {broken[0].get('slo_breach') or 'failed'}"
            )
        value = {"levels": rows}
    if found and isinstance(value, dict):
        levels = value.get("levels")
        target = value.get("target_rps")
        if isinstance(levels, list) and levels:
            passed = [lv for lv in levels if isinstance(lv, dict) and lv.get("passed")]
            best = max((float(lv.get("rps", 0)) for lv in passed), default=0.0)
            if target is not None and best < float(target):
                return Fail(f"load test passed up to {best:g} rps; target capacity is {target} rps")
            if not passed:
                return Fail("no load-test level passed")
            return None
        if value.get("passed") is True:
            return None
        return Fail("the load test did not pass")
    if (na := _first_deployment_na(ctx, p)) is not None:
        return na
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    if not ctx.evidence.has(PhaseName.MEASURE):
        return Skip(f"no MEASURE record for this release, and {message}")
    return Fail(f"MEASURE recorded no load test, and {message}")


# ================================================================================ attestation
@register("attested", Scope.ATTESTATION)
def attested(ctx: EvalContext, p: Params) -> Verdict:
    ok, message = ctx.attestations.check(p["item"], ctx.today)
    return None if ok else Fail(message)


WORKLOADS = WORKLOAD_KINDS
