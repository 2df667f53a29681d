"""Bearer tokens, RBAC-like rules per identity, access reviews and the 403 wording of a real server.

Rules follow the RBAC model ("Using RBAC Authorization",
https://kubernetes.io/docs/reference/access-authn-authz/rbac/): verbs x apiGroups x resources,
granted cluster-wide or in named namespaces. The denial text is the apiserver's forbiddenMessage
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go):
``User "u" cannot VERB resource "RES[/SUB]" in API group "G" in the namespace "NS"`` or
``... at the cluster scope``, wrapped by errors.NewForbidden.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, forbidden

ANY = "*"
_READ = ("get", "list", "watch")
_REVIEWS = ("selfsubjectaccessreviews", "selfsubjectrulesreviews")


@dataclass(frozen=True)
class Rule:
    """Verbs on resources of API groups; ``namespaces`` empty means cluster-wide (all namespaces too)."""

    verbs: tuple[str, ...]
    groups: tuple[str, ...]
    resources: tuple[str, ...]
    namespaces: tuple[str, ...] = ()

    def allows(self, attrs: Attributes) -> bool:
        if self.namespaces and attrs.namespace not in self.namespaces:
            return False
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (
            _match(self.verbs, attrs.verb)
            and _match(self.groups, attrs.group)
            and (_match(self.resources, resource) or (not attrs.subresource and _match(self.resources, ANY)))
        )

    def body(self) -> dict[str, Any]:
        return {"verbs": list(self.verbs), "apiGroups": list(self.groups), "resources": list(self.resources)}


def _match(allowed: tuple[str, ...], value: str) -> bool:
    return ANY in allowed or value in allowed


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do (the authorizer.Attributes of the apiserver)."""

    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""


@dataclass(frozen=True)
class Identity:
    """A user (or service account) with its token, groups and rules."""

    context: str
    user: str
    groups: tuple[str, ...]
    token: str
    rules: tuple[Rule, ...]

    def allows(self, attrs: Attributes) -> bool:
        return any(rule.allows(attrs) for rule in self.rules)

    def rules_in(self, namespace: str) -> list[Rule]:
        return [r for r in self.rules if not r.namespaces or namespace in r.namespaces]


# system:basic-user lets every authenticated user review its own access (RBAC default roles).
_BASIC_USER = Rule(("create",), ("authorization.k8s.io", "authentication.k8s.io"), (*_REVIEWS, "selfsubjectreviews"))


# What a deployer may touch in its namespace, Secrets left out. RBAC only adds permissions (there is no
# "all but" rule), so a Role that withholds Secrets lists the resources it grants, as this one does.
_DEPLOYER_RESOURCES = (
    "pods", "pods/log", "pods/status", "services", "endpoints", "configmaps", "events", "serviceaccounts",
    "persistentvolumeclaims", "namespaces", "deployments", "deployments/scale", "deployments/status",
    "replicasets", "replicasets/scale", "statefulsets", "daemonsets", "controllerrevisions", "jobs", "cronjobs",
    "horizontalpodautoscalers", "poddisruptionbudgets", "networkpolicies", "ingresses", "leases",
)  # fmt: skip


def default_identities(ci_namespace: str = "team-a") -> list[Identity]:
    """admin (everything), ci (everything in one namespace), readonly (read all but secrets, as `view`),
    deployer (every verb on the workload resources of ci's namespace, but no access to Secrets)."""
    readable = ("*",)
    return [
        Identity(
            "admin",
            "kubernetes-admin",
            ("system:masters", "system:authenticated"),
            secrets.token_hex(16),
            (Rule((ANY,), (ANY,), (ANY,)),),
        ),
        Identity(
            "ci",
            f"system:serviceaccount:{ci_namespace}:ci",
            ("system:serviceaccounts", f"system:serviceaccounts:{ci_namespace}", "system:authenticated"),
            secrets.token_hex(16),
            (Rule((ANY,), (ANY,), (ANY,), (ci_namespace,)), _BASIC_USER),
        ),
        Identity(
            "readonly",
            "system:serviceaccount:default:readonly",
            ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
            secrets.token_hex(16),
            (Rule(_READ, (ANY,), readable), _BASIC_USER),
        ),
        Identity(
            "deployer",
            f"system:serviceaccount:{ci_namespace}:deployer",
            ("system:serviceaccounts", f"system:serviceaccounts:{ci_namespace}", "system:authenticated"),
            secrets.token_hex(16),
            (Rule((ANY,), (ANY,), _DEPLOYER_RESOURCES, (ci_namespace,)), _BASIC_USER),
        ),
    ]


def forbidden_message(user: str, attrs: Attributes) -> str:
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    head = f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}"'
    if attrs.namespace:
        return f'{head} in the namespace "{attrs.namespace}"'
    return f"{head} at the cluster scope"


def authorize(identity: Identity, attrs: Attributes) -> None:
    """Raise 403 Forbidden unless ``identity`` may do ``attrs``."""
    if identity.allows(attrs):
        return
    raise forbidden(attrs.group, attrs.resource, attrs.name, forbidden_message(identity.user, attrs))


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def access_review(identity: Identity, spec: dict[str, Any]) -> dict[str, Any]:
    """status of a SelfSubjectAccessReview (authorization.k8s.io/v1) for ``spec``."""
    if "nonResourceAttributes" in spec:
        return {"allowed": True}
    ra = spec.get("resourceAttributes") or {}
    attrs = Attributes(
        verb=ra.get("verb", ""),
        group=ra.get("group", ""),
        resource=ra.get("resource", ""),
        namespace=ra.get("namespace", ""),
        name=ra.get("name", ""),
        subresource=ra.get("subresource", ""),
    )
    return {"allowed": identity.allows(attrs)}


def rules_review(identity: Identity, spec: dict[str, Any]) -> dict[str, Any]:
    """status of a SelfSubjectRulesReview: the rules that apply in ``spec.namespace``."""
    namespace = spec.get("namespace", "")
    return {
        "resourceRules": [r.body() for r in identity.rules_in(namespace)],
        "nonResourceRules": [
            {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/openapi/*", "/version"]}
        ],
        "incomplete": False,
    }


def self_review(identity: Identity, _spec: dict[str, Any]) -> dict[str, Any]:
    """status of a SelfSubjectReview (authentication.k8s.io/v1): who the token is."""
    return {"userInfo": {"username": identity.user, "groups": list(identity.groups)}}
