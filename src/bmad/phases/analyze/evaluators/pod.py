"""Evaluators run once per pod template (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).

Signature: ``fn(obj, ctx, params)``.
"""

from __future__ import annotations

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import (
    container_sc,
    is_job,
    is_long_running,
    pod_path,
    pod_sc,
    pod_volumes,
    ports_of,
    references_of,
    volume_path,
)
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.manifests import ManifestObject, dig
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Verdict

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


@register("metrics_port", Scope.POD)
def metrics_port(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not is_long_running(obj):
        return NA("jobs are not scraped")
    annotations = obj.pod_annotations
    if str(annotations.get("prometheus.io/scrape", "")).lower() == "true":
        return None
    for c, _ in obj.containers(init=False):
        for port in ports_of(c):
            if str(port.get("name", "")).startswith(("metrics", "http-metrics", "prom")):
                return None
    if obj.kind in ("Deployment", "StatefulSet", "DaemonSet") and any(
        s for s in ctx.bundle.of_kind("ServiceMonitor", "PodMonitor")
    ):
        return None
    return Fail(
        "no metrics endpoint declared (a port named 'metrics' or prometheus.io/scrape annotations)", pod_path(obj)
    )


@register("tracing", Scope.POD)
def tracing(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not is_long_running(obj):
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
    return Fail(f"no tracing exporter configured (OTEL_EXPORTER_OTLP_* env) and {message}", pod_path(obj))


@register("pod_field_not_true", Scope.POD)
def pod_field_not_true(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    value = (obj.pod_spec or {}).get(p["field"])
    if p.get("absent") and value not in (None, False, [], {}):
        return Fail(f"{p['field']} is set", pod_path(obj, p["field"]))
    if value is True:
        return Fail(f"{p['field']} is true", pod_path(obj, p["field"]))
    return None


@register("pod_field_set", Scope.POD)
def pod_field_set(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if p.get("long_running") and not is_long_running(obj):
        return NA("applies to long-running workloads")
    if (obj.pod_spec or {}).get(p["field"]) in (None, "", [], {}):
        return Fail(f"{p['field']} is not set", pod_path(obj))
    return None


@register("host_path", Scope.POD)
def host_path(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    mode = p["mode"]
    for index, volume in pod_volumes(obj):
        host = dig(volume, ("hostPath", "path"))
        if not isinstance(host, str):
            continue
        where = volume_path(obj, index)
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
    sysctls = pod_sc(obj).get("sysctls")
    if isinstance(sysctls, list):
        for item in sysctls:
            name = item.get("name") if isinstance(item, dict) else None
            if name not in SAFE_SYSCTLS:
                return Fail(f"sysctl {name} is not in the safe set", pod_path(obj, "securityContext"))
    return None


@register("root_group", Scope.POD)
def root_group(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    sc = pod_sc(obj)
    for field_name in ("runAsGroup", "fsGroup"):
        if sc.get(field_name) == 0:
            return Fail(f"{field_name} is 0 (root group)", pod_path(obj, "securityContext"))
    groups = sc.get("supplementalGroups")
    if isinstance(groups, list) and 0 in groups:
        return Fail("supplementalGroups contains 0 (root)", pod_path(obj, "securityContext"))
    for c, path in obj.containers():
        if container_sc(c).get("runAsGroup") == 0:
            return Fail("container runAsGroup is 0 (root group)", (*path, "securityContext"))
    return None


@register("pod_sc_present", Scope.POD)
def pod_sc_present(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not pod_sc(obj):
        return Fail("pod has no securityContext", pod_path(obj))
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
    return Fail("the service account token is mounted; set automountServiceAccountToken: false", pod_path(obj))


@register("dedicated_service_account", Scope.POD)
def dedicated_service_account(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    spec = obj.pod_spec or {}
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if not account or account == "default":
        return Fail("runs as the namespace's default ServiceAccount", pod_path(obj))
    return None


@register("restart_policy_job", Scope.POD)
def restart_policy_job(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    if not is_job(obj):
        return NA("applies to Jobs and CronJobs")
    policy = (obj.pod_spec or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        return Fail(f"restartPolicy is {policy or 'not set'}; Jobs need OnFailure or Never", pod_path(obj))
    return None


@register("port_names", Scope.POD)
def port_names(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    seen: set[str] = set()
    for c, path in obj.containers():
        for index, port in enumerate(ports_of(c)):
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
        refs = [(str(account), pod_path(obj, "serviceAccountName"), False)] if account and account != "default" else []
    else:
        refs = references_of(obj, what)
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


@register("pod_selectable_label", Scope.POD)
def pod_selectable_label(obj: ManifestObject, ctx: EvalContext, p: Params) -> Verdict:
    labels = obj.pod_labels
    if "app" in labels or "app.kubernetes.io/name" in labels:
        return None
    return Fail("pod template has neither 'app' nor 'app.kubernetes.io/name' label", pod_path(obj)[:-1])
