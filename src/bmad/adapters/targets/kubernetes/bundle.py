"""The bundle: apply order (CRDs first), namespaces, the pinned image, HPA-owned replicas.

Pure functions over manifest dicts: nothing here talks to the cluster.
"""

from __future__ import annotations

import copy
from typing import Any

from bmad.core.datatypes import datatype

RELEASE_ANNOTATION = "bmad.dev/release"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# Never pruned nor deleted on rollback: deleting them deletes everything they hold.
NEVER_DELETED = ("Namespace", "CustomResourceDefinition")

# The guide's DEPLOY order; kinds not listed follow, in the bundle's order.
APPLY_ORDER = (
    "Namespace",
    "CustomResourceDefinition",  # their custom resources can only be applied once they are Established
    "PriorityClass",  # cluster-scoped, referenced by pods: before anything that creates pods
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Service",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
)


@datatype(frozen=True)
class ObjectRef:
    """One object of a bundle, as the inventory records it."""

    api_version: str
    kind: str
    name: str
    namespace: str | None

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(str(obj.get("apiVersion")), str(obj.get("kind")), str(meta.get("name")), meta.get("namespace"))

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name, "namespace": self.namespace}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(str(data["apiVersion"]), str(data["kind"]), str(data["name"]), data.get("namespace"))


def sort_bundle(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The guide's apply order; a stable sort keeps the bundle's order within a kind and for the rest."""

    def rank(obj: dict[str, Any]) -> int:
        kind = str(obj.get("kind", ""))
        return APPLY_ORDER.index(kind) if kind in APPLY_ORDER else len(APPLY_ORDER)

    return sorted(objects, key=rank)


def secret_references(pod_spec: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(secret name, key or None) every non-optional reference of a pod spec."""
    refs: list[tuple[str, str | None]] = []
    containers = list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or [])
    for container in containers:
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                refs.append((str(ref["name"]), str(ref["key"])))
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref and not ref.get("optional"):
                refs.append((str(ref["name"]), None))
    for volume in pod_spec.get("volumes") or []:
        secret = volume.get("secret")
        if secret and not secret.get("optional"):
            for item in secret.get("items") or [{}]:
                refs.append((str(secret["secretName"]), item.get("key")))
    for pull in pod_spec.get("imagePullSecrets") or []:
        refs.append((str(pull["name"]), None))
    return list(dict.fromkeys(refs))


def selector_string(selector: dict[str, Any]) -> str:
    labels = selector.get("matchLabels") or {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def crd_scopes(objects: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(apiVersion, kind) -> namespaced, for the custom resources the bundle's CRDs define."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        kind = str((spec.get("names") or {}).get("kind") or "")
        for version in spec.get("versions") or []:
            scopes[(f"{spec.get('group')}/{version.get('name')}", kind)] = spec.get("scope") == "Namespaced"
    return scopes


def bundle_namespace(objects: list[dict[str, Any]]) -> str | None:
    """The namespace the manifests name: a Namespace object's name, else the first metadata.namespace."""
    for obj in objects:
        if obj.get("kind") == "Namespace":
            return str((obj.get("metadata") or {}).get("name"))
    for obj in objects:
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace:
            return str(namespace)
    return None


def hpa_targets(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(kind, name) of every workload an HPA of the bundle scales."""
    found = set()
    for obj in objects:
        if obj.get("kind") == "HorizontalPodAutoscaler":
            ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
            found.add((str(ref.get("kind")), str(ref.get("name"))))
    return found


def drop_hpa_replicas(objects: list[dict[str, Any]]) -> list[str]:
    """Remove ``spec.replicas`` from workloads an HPA scales (the HPA owns it); returns their labels."""
    scaled = hpa_targets(objects)
    dropped = []
    for obj in objects:
        name = str((obj.get("metadata") or {}).get("name"))
        if (str(obj.get("kind")), name) in scaled and "replicas" in (obj.get("spec") or {}):
            obj["spec"].pop("replicas")
            dropped.append(f"{obj['kind']}/{name}")
    return dropped


def pin_workload(target: dict[str, Any], *, container: str | None, image: str, release: str) -> None:
    """The chosen container's image pinned by digest; the release annotated on the pod template."""
    pod = target.setdefault("spec", {}).setdefault("template", {})
    containers = pod.setdefault("spec", {}).get("containers") or []
    chosen = next((c for c in containers if c.get("name") == container), containers[0])
    chosen["image"] = image
    pod.setdefault("metadata", {}).setdefault("annotations", {})[RELEASE_ANNOTATION] = release
    target.setdefault("metadata", {}).setdefault("labels", {}).setdefault("app.kubernetes.io/managed-by", "bmad")


def storable(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bundle as an inventory may keep it: Secrets left out (their values are never stored)."""
    return [copy.deepcopy(o) for o in objects if o.get("kind") != "Secret"]


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    return clean


def release_of(workload: dict[str, Any]) -> str | None:
    annotations = workload.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    value = annotations.get(RELEASE_ANNOTATION)
    return str(value) if value else None


def images_of(workload: dict[str, Any]) -> list[str]:
    containers = workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return [str(c.get("image")) for c in containers]
