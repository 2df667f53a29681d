"""The access pre-flight: one ``SelfSubjectAccessReview`` per right DEPLOY will use.

Rights follow what the target does with a bundle: get and patch every object (create too: server-side
apply creates), list/get workloads and pods while waiting, the inventory ConfigMap, delete when
pruning, ``pods/log`` and ``events`` for diagnose, and get/create/update on the Lease that locks the
target (:mod:`.lease`). A missing right is worded as the question ``kubectl auth can-i`` asks
(``patch deployments -n team-a``).
"""

from __future__ import annotations

from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError

from .bundle import WORKLOAD_KINDS, ObjectRef
from .client import KubeApi
from .hooks import hook_stage

REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@datatype(frozen=True)
class Right:
    """One permission DEPLOY needs, asked of the API server as a ``SelfSubjectAccessReview``."""

    verb: str
    group: str
    resource: str  # plural, "pods/log" for a subresource
    namespace: str | None

    @property
    def question(self) -> str:
        """As ``kubectl auth can-i`` takes it: ``patch deployments.apps -n team-a``."""
        plural, slash, subresource = self.resource.partition("/")
        resource = f"{plural}.{self.group}" if self.group else plural
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{self.verb} {resource}{slash}{subresource}{where}"


def required_rights(api: KubeApi, bundle: list[dict[str, Any]], namespace: str, *, prune: bool) -> list[Right]:
    """Every right a deploy of ``bundle`` (and its rollback and diagnose) needs, without duplicates."""
    rights: list[Right] = []
    verbs = ("get", "patch", "create") + (("delete",) if prune else ())
    for obj in bundle:
        ref = ObjectRef.of(obj)
        try:
            _prefix, plural, namespaced = api.resource(ref.api_version, ref.kind)
        except AdapterError:
            continue  # a custom resource whose CRD the bundle brings: reviewed once it is served
        group = ref.api_version.rpartition("/")[0]
        rights.extend(Right(v, group, plural, ref.namespace if namespaced else None) for v in verbs)
        if hook_stage(obj) is not None:  # a hook Job is deleted before it runs again
            rights.append(Right("delete", group, plural, ref.namespace))
        if ref.kind in WORKLOAD_KINDS:
            rights.append(Right("list", group, plural, namespace))
    rights += [Right(v, "", "configmaps", namespace) for v in ("get", "create", "update")]  # the inventory
    rights += [Right(v, "coordination.k8s.io", "leases", namespace) for v in ("get", "create", "update")]  # the lock
    rights += [
        Right("list", "", "pods", namespace),
        Right("get", "", "pods/log", namespace),
        Right("list", "", "events", namespace),
        Right("list", "apps", "replicasets", namespace),
    ]
    return list(dict.fromkeys(rights))


def missing_rights(api: KubeApi, rights: list[Right]) -> list[Right]:
    """The rights the API server answers ``allowed: false`` for."""
    missing = []
    for right in rights:
        resource, _, subresource = right.resource.partition("/")
        attributes: dict[str, Any] = {"verb": right.verb, "group": right.group, "resource": resource}
        if subresource:
            attributes["subresource"] = subresource
        if right.namespace:
            attributes["namespace"] = right.namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = api.request("POST", REVIEW_PATH, body=review) or {}
        if not (answer.get("status") or {}).get("allowed"):
            missing.append(right)
    return missing
