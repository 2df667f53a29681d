"""The kinds the stand-in serves: group, version, plural, scope, short names, verbs, subresources.

Follows the discovery documents of a real v1.3x API server ("API Concepts": resource URIs,
https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris); short names and
categories as ``kubectl api-resources`` lists them on a real cluster.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource (a plural under a group version)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_spec: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """``deployments.apps`` (or ``pods`` in the core group), as error messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


_WORKLOAD = ("status", "scale")
_ALL = ("all",)
_CREATE_ONLY = ("create",)

BUILTIN: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, ("ns",), subresources=("status",)),
    ResourceType(
        "", "v1", "Pod", "pods", True, ("po",), subresources=("status", "log", "eviction", "proxy"), categories=_ALL
    ),
    ResourceType("", "v1", "Service", "services", True, ("svc",), subresources=("status", "proxy"), categories=_ALL),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, ("cm",), has_spec=False),
    ResourceType("", "v1", "Secret", "secrets", True, has_spec=False),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",), has_spec=False),
    ResourceType("", "v1", "Event", "events", True, ("ev",), has_spec=False),
    ResourceType("", "v1", "Node", "nodes", False, ("no",), subresources=("status",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), subresources=("status",)),
    ResourceType("", "v1", "Endpoints", "endpoints", True, ("ep",), has_spec=False),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), subresources=("status",)),
    ResourceType("", "v1", "LimitRange", "limitranges", True, ("limits",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, ("deploy",), subresources=_WORKLOAD, categories=_ALL),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), subresources=_WORKLOAD, categories=_ALL),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), subresources=_WORKLOAD, categories=_ALL),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), subresources=("status",), categories=_ALL),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", True, has_spec=False),
    ResourceType("batch", "v1", "Job", "jobs", True, subresources=("status",), categories=_ALL),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, ("cj",), subresources=("status",), categories=_ALL),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),  # coordination.py
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), subresources=("status",)),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ResourceType(
        "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), subresources=("status",)
    ),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("hpa",),
        subresources=("status",),
        categories=_ALL,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True, has_spec=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, has_spec=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, has_spec=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, has_spec=False),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        subresources=("status",),
    ),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=_CREATE_ONLY),
    ResourceType(
        "authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, verbs=_CREATE_ONLY
    ),
    ResourceType(
        "authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=_CREATE_ONLY
    ),
)


@dataclass
class Registry:
    """Served resources: the built-in ones plus those of Established CRDs (added at runtime)."""

    types: list[ResourceType] = field(default_factory=lambda: list(BUILTIN))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self.lock:
            return next((t for t in self.types if (t.group, t.version, t.plural) == (group, version, plural)), None)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        with self.lock:
            return next((t for t in self.types if (t.api_version, t.kind) == (api_version, kind)), None)

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> its served versions, in the order they were registered."""
        out: dict[str, list[str]] = {}
        with self.lock:
            for t in self.types:
                versions = out.setdefault(t.group, [])
                if t.version not in versions:
                    versions.append(t.version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        with self.lock:
            return [t for t in self.types if (t.group, t.version) == (group, version)]

    def add(self, new: list[ResourceType]) -> None:
        with self.lock:
            keys = {(t.group, t.version, t.plural) for t in new}
            self.types = [t for t in self.types if (t.group, t.version, t.plural) not in keys] + new

    def remove_group_plural(self, group: str, plural: str) -> None:
        with self.lock:
            self.types = [t for t in self.types if (t.group, t.plural) != (group, plural)]
