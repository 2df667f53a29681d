"""Object-scope evaluators about one object's own fields (namespace, labels, RBAC rules, Ingress TLS,
rollout settings, ...): run once per object whose kind is in the entry's ``applies_to``.

Signature: ``fn(obj, ctx, params)``.
"""

from __future__ import annotations

import re
from typing import Any

from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import SECRET_NAME, looks_like_secret_value, pod_path, replica_count
from bmad.phases.analyze.evaluators.registry import Params, register
from bmad.phases.analyze.manifests import ManifestObject, dig
from bmad.phases.analyze.readiness_data import NA, Fail, Scope, Verdict

_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")


_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


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
        if SECRET_NAME.search(str(key)) and isinstance(value, str) and value.strip():
            return Fail(f"key {key} looks like a secret", ("data", key))
        if isinstance(value, str) and looks_like_secret_value(value):
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
    replicas = replica_count(obj, ctx)
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
    if replica_count(obj, ctx) < 2:
        return NA("runs a single replica")
    spec = obj.pod_spec or {}
    if p["mode"] == "topology":
        if spec.get("topologySpreadConstraints"):
            return None
        return Fail("no topologySpreadConstraints: replicas may share one node or zone", pod_path(obj))
    terms = dig(spec, ("affinity", "podAntiAffinity")) or {}
    for key in ("requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"):
        for term in terms.get(key) or []:
            term = term.get("podAffinityTerm", term) if isinstance(term, dict) else {}
            if term.get("topologyKey") == "kubernetes.io/hostname":
                return None
    return Fail("no pod anti-affinity on kubernetes.io/hostname", pod_path(obj))


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
