"""The write path every create, update, patch, apply and delete takes.

Order as the apiserver's handlers (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
create.go, update.go, patch.go, delete.go): decode, mutate (defaults, managedFields), admission
(NamespaceLifecycle, PodSecurity), validation (422), then storage; ``dryRun=All`` runs every step
but the last ("API Concepts", Dry-run: https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run).
``metadata.generation`` grows when anything outside metadata and status changes. Deletion
("Garbage Collection", cascading deletion): Background (the default; controllers/housekeeping.py
collects dependents) or Orphan (dependents keep running without their owner reference);
Foreground is treated as Background.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import admission, apply, pod_admission
from .errors import already_exists, conflict, not_found
from .resources import ResourceType
from .storage import Key, Store

Obj = dict[str, Any]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Write:
    """One write: the resource, where, the new object, its manager, subresource and dry-run."""

    rt: ResourceType
    key: Key
    obj: Obj
    manager: str
    subresource: str = ""
    dry_run: bool = False
    managed_by_apply: bool = False


@dataclass
class Outcome:
    """The object as stored (or as it would be, under dry-run) and the warnings for the client."""

    obj: Obj
    warnings: list[str] = field(default_factory=list)
    created: bool = False


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_CHARS) for _ in range(length))


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _server_metadata(new: Obj, old: Obj | None, key: Key, rt: ResourceType) -> None:
    meta = new.setdefault("metadata", {})
    meta["name"] = key.name
    if rt.namespaced:
        meta["namespace"] = key.namespace
    else:
        meta.pop("namespace", None)
    new["apiVersion"], new["kind"] = rt.api_version, rt.kind
    if old is None:
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = apply.now()
        meta.pop("resourceVersion", None)
        if rt.has_spec or rt.group == "apiextensions.k8s.io":
            meta["generation"] = 1
        return
    for kept in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
        if kept in old["metadata"]:
            meta[kept] = old["metadata"][kept]
        else:
            meta.pop(kept, None)
    if "generation" in meta and _spec_part(new) != _spec_part(old):
        meta["generation"] = int(meta["generation"]) + 1


def _subresource_view(write: Write, old: Obj) -> Obj:
    """A status write changes only status; a main-resource write keeps the stored status."""
    new = copy.deepcopy(old)
    if write.subresource == "status":
        new["status"] = copy.deepcopy(write.obj.get("status", {}))
        return new
    merged = copy.deepcopy(write.obj)
    if write.rt.has_status:
        if "status" in old:
            merged["status"] = copy.deepcopy(old["status"])
        else:
            merged.pop("status", None)
    return merged


class Writer:
    """Runs writes through mutation, admission and validation into the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def namespace(self, name: str) -> Obj | None:
        return self.store.get(Key("", "namespaces", "", name)) if name else None

    def create(self, write: Write) -> Outcome:
        new = copy.deepcopy(write.obj)
        admission.namespace_lifecycle(
            write.rt, write.key.namespace, write.key.name, self.namespace(write.key.namespace)
        )
        if self.store.get(write.key) is not None:
            raise already_exists(write.rt.group, write.rt.plural, write.key.name)
        _server_metadata(new, None, write.key, write.rt)
        outcome = self._admit_and_store(write, None, new)
        outcome.created = True
        return outcome

    def update(self, write: Write, expected_rv: str = "") -> Outcome:
        old = self.store.get(write.key)
        if old is None:
            raise not_found(write.rt.group, write.rt.plural, write.key.name)
        if expected_rv and expected_rv != old["metadata"].get("resourceVersion"):
            why = "the object has been modified; please apply your changes to the latest version and try again"
            raise conflict(write.rt.group, write.rt.plural, write.key.name, why)
        new = _subresource_view(write, old)
        _server_metadata(new, old, write.key, write.rt)
        return self._admit_and_store(write, old, new)

    def _admit_and_store(self, write: Write, old: Obj | None, new: Obj) -> Outcome:
        admission.apply_defaults(write.rt, new)
        if old is None and write.rt.kind == "Pod":
            pod_admission.admit_pod(self.store, write.key.namespace, new)
        admission.validate(write.rt, new, old)
        warnings = admission.pod_security(write.rt, new, self.namespace(write.key.namespace))
        if not write.managed_by_apply:
            apply.record_update(old, new, write.manager, write.subresource)
        if write.dry_run:
            if old is None:
                new["metadata"].pop("resourceVersion", None)
            return Outcome(new, warnings)
        if old is not None and new == old:
            return Outcome(old, warnings)
        return Outcome(self.store.put(write.key, new), warnings)

    def orphan(self, uid: str) -> None:
        """``propagationPolicy=Orphan``: dependents lose their owner reference instead of being collected."""
        with self.store.cond:
            dependents = [
                k
                for k, o in self.store.objects.items()
                if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
            ]
        for key in dependents:

            def drop(obj: Obj) -> bool:
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if refs:
                    obj["metadata"]["ownerReferences"] = refs
                else:
                    obj["metadata"].pop("ownerReferences", None)
                return True

            self.store.update(key, drop)

    def delete(self, rt: ResourceType, key: Key, dry_run: bool, grace: int | None = None) -> Obj:
        """Delete now, or mark for deletion when finalizers (or a namespace's spec.finalizers) hold it,
        or when a scheduled pod gets its grace period ("Termination of Pods",
        https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination)."""
        old = self.store.get(key)
        if old is None:
            raise not_found(rt.group, rt.plural, key.name)
        graceful = rt.kind == "Pod" and bool((old.get("spec") or {}).get("nodeName")) and grace != 0
        held = old["metadata"].get("finalizers") or (rt.kind == "Namespace") or graceful
        if dry_run:
            return old
        if held:

            def mark(obj: Obj) -> bool:
                obj["metadata"].setdefault("deletionTimestamp", apply.now())
                if rt.kind == "Namespace":
                    obj.setdefault("status", {})["phase"] = "Terminating"
                if graceful:
                    period = grace if grace is not None else obj["spec"].get("terminationGracePeriodSeconds", 30)
                    obj["metadata"].setdefault("deletionGracePeriodSeconds", period)
                return True

            return self.store.update(key, mark) or old
        return self.store.delete(key) or old
