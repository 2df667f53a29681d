"""Applying a prepared bundle: namespace pre-checks, conflict pre-flight, CRDs before their resources.

* A Namespace is applied only when the bundle has one (or ``create_namespace``); otherwise it is
  read, and a missing one stops the release with a clear message, so an identity limited to its
  namespace needs no cluster-scoped right.
* Server-side apply with ``force=false`` unless ``force_conflicts``: before anything is applied,
  every live object another field manager also writes is dry-run applied, so a 409 stops the
  release with each conflicting field and its manager, and nothing applied.
* CRDs are applied first and waited for ``Established``; their kinds are looked up afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bmad.core.errors import AdapterError
from bmad.core.spans import SpanKind, sleeper
from bmad.ports.progress import Progress

from .bundle import ObjectRef
from .client import FIELD_MANAGER, SYSTEM, Conflict, Forbidden, KubeApi

_CRD_PAUSE = sleeper(SpanKind.KUBERNETES, "waiting for a CRD to be established")

HANDOVER_MANAGER = "bmad-replicas-handover"
CRD_TIMEOUT = 60.0
# Tracking labels/annotations and field managers of GitOps controllers (Argo CD, Flux).
GITOPS_MARKS = {
    "argocd.argoproj.io/tracking-id": "Argo CD",
    "argocd.argoproj.io/instance": "Argo CD",
    "kustomize.toolkit.fluxcd.io/name": "Flux",
    "helm.toolkit.fluxcd.io/name": "Flux",
}
GITOPS_MANAGERS = {
    "argocd-controller": "Argo CD",
    "argocd-application-controller": "Argo CD",
    "kustomize-controller": "Flux",
    "helm-controller": "Flux",
}


def owns(entry: dict[str, Any], *path: str) -> bool:
    """Whether a managedFields entry's field set holds ``path`` (e.g. ``spec``, ``replicas``)."""
    node = entry.get("fieldsV1") or {}
    for part in path:
        node = node.get(f"f:{part}") if isinstance(node, dict) else None
        if node is None:
            return False
    return True


def gitops_controller(live: dict[str, Any]) -> str | None:
    """Which GitOps controller manages a live object (its tracking marks or field managers), if any."""
    meta = live.get("metadata") or {}
    marks = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    for key, name in GITOPS_MARKS.items():
        if key in marks:
            return f"{name}: {key}"
    for entry in meta.get("managedFields") or []:
        manager = str(entry.get("manager") or "")
        if manager in GITOPS_MANAGERS:
            return f"{GITOPS_MANAGERS[manager]}: field manager {manager}"
    return None


def other_managers(live: dict[str, Any]) -> list[str]:
    return [
        str(m.get("manager"))
        for m in (live.get("metadata") or {}).get("managedFields") or []
        if m.get("manager") not in (FIELD_MANAGER, HANDOVER_MANAGER) and m.get("subresource") != "status"
    ]


class BundleApplier:
    def __init__(
        self,
        api: KubeApi,
        namespace: str,
        *,
        force: bool,
        progress: Progress,
        sleep: Callable[[float], None] = _CRD_PAUSE,
        gitops_allowed_kinds: tuple[str, ...] = (),
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.force = force
        self.gitops_allowed_kinds = gitops_allowed_kinds
        self.progress = progress
        self._sleep = sleep

    def check_namespace(self, bundle: list[dict[str, Any]]) -> str:
        """A note on the namespace; raises when it does not exist and the bundle does not create it."""
        if any(o.get("kind") == "Namespace" and o["metadata"].get("name") == self.namespace for o in bundle):
            return f"namespace {self.namespace} applied with the bundle"
        try:
            live = self.api.get("v1", "Namespace", self.namespace, None)
        except Forbidden:
            return (
                f"namespace {self.namespace} could not be read (no 'get namespaces' right): "
                "assuming it exists; objects fail with 404 if it does not"
            )
        if live is None:
            raise AdapterError(
                SYSTEM,
                "checking the namespace",
                f"namespace {self.namespace} does not exist",
                hint=(
                    f"create it (kubectl create namespace {self.namespace}), add a Namespace to the bundle, "
                    "or set target.kubernetes.create_namespace: true (needs cluster-scoped rights)"
                ),
            )
        return f"namespace {self.namespace} exists"

    def hand_replicas_to_hpa(self, workload: dict[str, Any], live: dict[str, Any] | None) -> None:
        """Before ``spec.replicas`` leaves bmad's applied config, another manager co-owns it, so the
        server keeps the HPA's count instead of resetting it (Server-Side Apply, "Transferring ownership")."""
        if live is None:
            return
        fields = (live.get("metadata") or {}).get("managedFields") or []
        if not any(m.get("manager") == FIELD_MANAGER and owns(m, "spec", "replicas") for m in fields):
            return
        meta = workload["metadata"]
        patch = {
            "apiVersion": workload["apiVersion"],
            "kind": workload["kind"],
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
            "spec": {"replicas": (live.get("spec") or {}).get("replicas")},
        }
        path = self.api.object_path(
            str(workload["apiVersion"]), str(workload["kind"]), meta["name"], meta.get("namespace")
        )
        self.api.request(
            "PATCH",
            path,
            query=[("fieldManager", HANDOVER_MANAGER), ("force", "true")],
            body=patch,
            content_type="application/apply-patch+yaml",
        )

    def conflicts(self, bundle: list[dict[str, Any]]) -> list[str]:
        """``Kind/name: field (conflict with "manager" ...)`` for every field another manager owns.

        Raises first when an object of the bundle is managed by a GitOps controller (unless its kind
        is allowed): bmad and Argo CD or Flux would undo each other's changes.
        """
        found: list[str] = []
        gitops: list[str] = []
        existing = self._live_objects(bundle)
        for obj in bundle:
            ref = ObjectRef.of(obj)
            live = existing.get((ref.api_version, ref.kind, ref.namespace, ref.name))
            if live is None:
                continue
            controller = gitops_controller(live)
            if controller and ref.kind not in self.gitops_allowed_kinds:
                gitops.append(f"{ref.label} ({controller})")
            if self.force or not other_managers(live):
                continue
            try:
                self.api.apply(obj, force=False, dry_run=True)
            except Conflict as exc:
                found.extend(f"{ref.label}: {line}" for line in exc.conflicts() or [exc.detail])
        if gitops:
            raise AdapterError(
                SYSTEM,
                "applying the bundle",
                "objects managed by a GitOps controller (nothing applied): " + "; ".join(gitops),
                hint="let the GitOps tool deploy them, or allow their kinds with "
                "target.kubernetes.gitops_allowed_kinds (bmad and the controller would undo each other)",
            )
        return found

    def _live_objects(self, bundle: list[dict[str, Any]]) -> dict[tuple[str, str, str | None, str], dict[str, Any]]:
        """The live versions of the bundle's objects: one list per namespaced kind, a get for the rest."""
        found: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}
        groups: dict[tuple[str, str, str | None], list[ObjectRef]] = {}
        for obj in bundle:
            ref = ObjectRef.of(obj)
            groups.setdefault((ref.api_version, ref.kind, ref.namespace), []).append(ref)
        for (api_version, kind, namespace), refs in groups.items():
            listed = None
            if namespace and len(refs) > 1:
                listed = self._quietly(self.api.list_objects, api_version, kind, namespace)
            items: list[dict[str, Any]] = list(listed or [])
            if listed is None:  # one object, a cluster-scoped kind, or no right to list: get each
                for ref in refs:
                    live = self._quietly(self.api.get, api_version, kind, ref.name, namespace)
                    items.extend([live] if live else [])
            found.update({(api_version, kind, namespace, str(o["metadata"]["name"])): o for o in items})
        return found

    @staticmethod
    def _quietly(call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)``, None on a permanent error (a kind not served yet: its CRD comes with the bundle)."""
        try:
            return call(*args)
        except AdapterError as exc:
            if exc.temporary:
                raise
            return None

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.api.apply(obj, force=self.force)
        except Conflict as exc:
            ref = ObjectRef.of(obj)
            raise conflict_error([f"{ref.label}: {line}" for line in exc.conflicts() or [exc.detail]]) from None

    def wait_established(self, crd: dict[str, Any]) -> None:
        """Wait until the API server serves the CRD's kind (condition Established=True)."""
        name = str(crd["metadata"]["name"])
        deadline = time.monotonic() + CRD_TIMEOUT
        while True:
            live = self.api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name, None) or {}
            conditions = (live.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                self.progress.log(f"customresourcedefinition/{name} established")
                return
            if time.monotonic() >= deadline:
                raise AdapterError(
                    SYSTEM,
                    f"waiting for customresourcedefinition/{name}",
                    f"not Established after {CRD_TIMEOUT:.0f}s",
                    hint=f"kubectl describe crd {name}",
                )
            self._sleep(0.2)


def conflict_error(lines: list[str]) -> AdapterError:
    """409 Conflict: each line names an object, a field and the manager that owns it."""
    return AdapterError(
        SYSTEM,
        "applying the bundle",
        "fields owned by another field manager (nothing applied): " + "; ".join(lines),
        status=409,
        hint=(
            "another tool (Argo CD, Flux, an HPA, a teammate's kubectl) manages these fields: remove them from "
            "the bundle, or take them over with target.kubernetes.force_conflicts: true (--force-conflicts)"
        ),
    )
