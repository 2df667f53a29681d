"""Defaulting, validation and the admission plugins a write passes before it is stored.

* Defaults: the built-in types' defaulters (pkg/apis/*/v1/defaults.go), the subset that
  ``kubectl`` output and bmad's checks read (strategy, replicas, protocol, imagePullPolicy, ...).
* Validation: pkg/apis/*/validation, answered 422 Invalid with ``details.causes``
  (field, ``FieldValueRequired`` / ``FieldValueInvalid`` / ``FieldValueDuplicate``).
* NamespaceLifecycle (plugin/pkg/admission/namespace/lifecycle): a create in a missing namespace
  is ``404 namespaces "x" not found``; in a terminating one it is forbidden.
* PodSecurity (see podsecurity.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import podsecurity
from .coordination import validate_lease
from .errors import ApiError, Cause, forbidden, invalid
from .resources import ResourceType

Obj = dict[str, Any]
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
    r"is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")
_NOT_OVERCOMMITTABLE = ("nvidia.com/gpu",)


def _go_value(value: Any) -> str:
    """A value as Go's %v/%q prints it in field errors (strings quoted)."""
    return json.dumps(value) if isinstance(value, str) else str(value)


def required(path: str) -> Cause:
    return Cause("FieldValueRequired", "Required value", path)


def bad_value(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_go_value(value)}: {detail}", path)


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        image = str(container.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_workload(kind: str, spec: Obj) -> None:
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        spec.setdefault("replicas", 1)
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        spec.setdefault("revisionHistoryLimit", 10)
    if kind == "Deployment":
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", "25%")
            rolling.setdefault("maxUnavailable", "25%")
    if kind == "StatefulSet":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    if kind == "DaemonSet":
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("maxUnavailable", 1)
            strategy["rollingUpdate"].setdefault("maxSurge", 0)
    template = spec.get("template")
    if isinstance(template, dict):
        default_pod_spec(template.setdefault("spec", {}))


def _default_job(meta: Obj, spec: Obj) -> None:
    """batch/v1 Job defaults (pkg/apis/batch/v1/defaults.go) and the selector the Job strategy
    generates unless ``manualSelector`` (pkg/registry/batch/job/strategy.go generateSelector): the
    template is labelled with the Job's uid and name, and the selector matches the uid."""
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if spec.get("manualSelector") or spec.get("selector") or not meta.get("uid"):
        return
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    for prefix in ("batch.kubernetes.io/", ""):
        labels[f"{prefix}controller-uid"] = meta["uid"]
        labels[f"{prefix}job-name"] = meta["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": meta["uid"]}}


def _default_service(spec: Obj, name: str) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        digest = sum(name.encode()) % 250 + 1
        spec.setdefault("clusterIP", f"10.96.{len(name) % 250}.{digest}")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def apply_defaults(rt: ResourceType, obj: Obj) -> None:
    """Fill the defaults a real server fills on every write."""
    spec = obj.get("spec")
    if rt.kind == "Namespace":
        obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif rt.kind == "Pod" and isinstance(spec, dict):
        default_pod_spec(spec)
    elif rt.kind in (*_WORKLOADS, "Job") and isinstance(spec, dict):
        _default_workload(rt.kind, spec)
        if rt.kind == "Job":
            _default_job(obj["metadata"], spec)
    elif rt.kind == "Service" and isinstance(spec, dict):
        _default_service(spec, obj["metadata"]["name"])


def _validate_containers(spec: Obj, path: str) -> list[Cause]:
    containers = spec.get("containers")
    if not containers:
        return [required(f"{path}.containers")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for n, container in enumerate(containers):
        where = f"{path}.containers[{n}]"
        name = container.get("name")
        if not name:
            causes.append(required(f"{where}.name"))
        elif name in seen:
            causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go_value(name)}", f"{where}.name"))
        seen.add(str(name))
        if not container.get("image"):
            causes.append(required(f"{where}.image"))
        causes += _not_overcommitted(container.get("resources") or {}, f"{where}.resources")
        for p, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort")
            if not isinstance(number, int) or not 0 < number < 65536:
                causes.append(
                    bad_value(f"{where}.ports[{p}].containerPort", number, "must be between 1 and 65535, inclusive")
                )
    return causes


def _not_overcommitted(resources: Obj, path: str) -> list[Cause]:
    """Extended resources (``nvidia.com/gpu``) may not be overcommitted: a request needs a limit equal
    to it (ValidateResourceRequirements; https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/)."""
    causes: list[Cause] = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for resource, amount in requests.items():
        if resource not in _NOT_OVERCOMMITTABLE:
            continue
        if resource not in limits:
            detail = "Required value: Limit must be set for non overcommitable resources"
            causes.append(Cause("FieldValueRequired", detail, f"{path}.limits[{resource}]"))
        elif str(limits[resource]) != str(amount):
            detail = f"must be equal to {resource} limit of {limits[resource]}"
            causes.append(bad_value(f"{path}.requests[{resource}]", str(amount), detail))
    return causes


def _validate_workload(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    replicas = spec.get("replicas", 0)
    if isinstance(replicas, int) and replicas < 0:
        causes.append(bad_value("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    if not selector:
        causes.append(required("spec.selector"))
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = (selector or {}).get("matchLabels") or {}
    if selector and any(labels.get(k) != v for k, v in wanted.items()):
        causes.append(bad_value("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    return causes + _validate_containers((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")


def validate(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    """Raise 422 Invalid with one cause per problem."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    causes: list[Cause] = []
    if not name:
        causes.append(Cause("FieldValueRequired", "Required value: name or generateName is required", "metadata.name"))
    elif not _DNS1123_SUBDOMAIN.match(name) and rt.group != "rbac.authorization.k8s.io":
        causes.append(bad_value("metadata.name", name, _SUBDOMAIN_MESSAGE))
    spec = obj.get("spec") or {}
    if rt.kind in _WORKLOADS:
        causes += _validate_workload(spec)
        if (
            old is not None
            and rt.kind != "ReplicaSet"
            and (old.get("spec") or {}).get("selector") != spec.get("selector")
        ):
            causes.append(bad_value("spec.selector", spec.get("selector"), "field is immutable"))
    elif rt.kind == "Pod":
        causes += _validate_containers(spec, "spec")
    elif rt.kind == "Lease":
        causes += validate_lease(spec)
    elif rt.kind == "Service" and spec.get("type") != "ExternalName" and not spec.get("ports"):
        causes.append(required("spec.ports"))
    if causes:
        raise invalid(rt.group, rt.kind, name, causes)


def namespace_lifecycle(rt: ResourceType, namespace: str, name: str, ns_obj: Obj | None) -> None:
    """NamespaceLifecycle on create: missing namespace -> 404; terminating -> 403."""
    if not rt.namespaced or rt.group == "authorization.k8s.io":
        return
    if ns_obj is None:
        raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found', namespace, "", "namespaces")
    if (ns_obj.get("status") or {}).get("phase") == "Terminating":
        why = f"unable to create new content in namespace {namespace} because it is being terminated"
        raise forbidden(rt.group, rt.plural, name, why)


def pod_security(rt: ResourceType, obj: Obj, ns_obj: Obj | None) -> list[str]:
    """Enforce for pods; warnings for workloads and for the ``warn`` level."""
    spec = podsecurity.pod_spec_of(rt.kind, obj)
    if spec is None:
        return []
    warnings: list[str] = []
    enforce = podsecurity.level(ns_obj, "enforce")
    found = podsecurity.violations(enforce, spec)
    if found and rt.kind == "Pod":
        raise forbidden(rt.group, rt.plural, obj["metadata"].get("name", ""), podsecurity.describe(enforce, found))
    if found:
        warnings.append(podsecurity.describe(enforce, found, would=True))
    warn = podsecurity.level(ns_obj, "warn")
    found = podsecurity.violations(warn, spec)
    if found and warn != enforce:
        warnings.append(podsecurity.describe(warn, found, would=True))
    return warnings
