"""Namespaces, garbage collection and CustomResourceDefinitions.

* Namespace deletion ("Namespaces", https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/):
  the namespace goes ``Terminating``, its content is deleted, then the namespace itself.
* Garbage collection (https://kubernetes.io/docs/concepts/architecture/garbage-collection/):
  background cascading deletion of dependents whose owner (by uid) is gone.
* CRDs ("Extend the Kubernetes API with CustomResourceDefinitions",
  https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/):
  a created CRD gets ``NamesAccepted`` and then ``Established``; from then its served versions are
  in discovery and its resources are served; deleting the CRD removes them and its objects.
"""

from __future__ import annotations

from typing import Any

from ..apply import now
from ..resources import ResourceType
from ..storage import Key
from .base import Controller

Obj = dict[str, Any]
ESTABLISH_DELAY = 0.5  # simulated seconds from creation to Established


class NamespaceController(Controller):
    def reconcile(self) -> None:
        for ns in self.list("", "namespaces"):
            if (ns.get("status") or {}).get("phase") != "Terminating":
                continue
            name = ns["metadata"]["name"]
            remaining = [k for k, o in list(self.api.store.objects.items()) if k.namespace == name]
            for key in remaining:
                self._delete_or_mark(key)
            if not any(k.namespace == name for k in list(self.api.store.objects)):
                self.api.store.delete(Key("", "namespaces", "", name))

    def _delete_or_mark(self, key: Key) -> None:
        """Delete an object, or (finalizers) mark it deleted and leave it to whoever owns the finalizer."""
        obj = self.api.store.get(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        if not obj["metadata"].get("finalizers"):
            self.api.store.delete(key)
            return

        def mark(changed: Obj) -> bool:
            changed["metadata"]["deletionTimestamp"] = now()
            return True

        self.api.store.update(key, mark)


class GarbageCollector(Controller):
    """Dependents of deleted owners go (background cascading deletion); objects marked deleted go once
    their last finalizer is removed ("Finalizers", https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/)."""

    def reconcile(self) -> None:
        with self.api.store.cond:
            uids = {o["metadata"].get("uid") for o in self.api.store.objects.values()}
            doomed = [
                k
                for k, o in self.api.store.objects.items()
                if ((refs := o["metadata"].get("ownerReferences")) and all(r.get("uid") not in uids for r in refs))
                or (
                    o["metadata"].get("deletionTimestamp")
                    and not o["metadata"].get("finalizers")
                    and k.plural != "namespaces"
                )
            ]
        for key in doomed:
            self.api.store.delete(key)


def _condition(kind: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True", "lastTransitionTime": now(), "reason": reason, "message": message}


class CrdController(Controller):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: dict[str, float] = {}
        self.served: set[tuple[str, str]] = set()

    def reconcile(self) -> None:
        crds = self.list("apiextensions.k8s.io", "customresourcedefinitions")
        present = set()
        for crd in crds:
            spec = crd.get("spec") or {}
            group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
            present.add((group, plural))
            uid = crd["metadata"]["uid"]
            first = self.seen.setdefault(uid, self.runtime.clock.now())
            if self.runtime.clock.now() - first >= ESTABLISH_DELAY and (group, plural) not in self.served:
                self._establish(crd)
                self.served.add((group, plural))
        for group, plural in self.served - present:
            self.api.registry.remove_group_plural(group, plural)
            for key in [k for k in list(self.api.store.objects) if (k.group, k.plural) == (group, plural)]:
                self.api.store.delete(key)
            self.served.discard((group, plural))

    def _establish(self, crd: Obj) -> None:
        spec = crd["spec"]
        names = spec.get("names") or {}
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        types = [
            ResourceType(
                spec["group"],
                v["name"],
                names.get("kind", ""),
                names.get("plural", ""),
                namespaced,
                tuple(names.get("shortNames") or ()),
                subresources=("status",) if "status" in (v.get("subresources") or {}) else (),
                categories=tuple(names.get("categories") or ()),
            )
            for v in spec.get("versions") or []
            if v.get("served", True)
        ]
        self.api.registry.add(types)
        accepted = {**names, "singular": names.get("singular") or names.get("kind", "").lower()}
        status = {
            "acceptedNames": accepted,
            "conditions": [
                _condition("NamesAccepted", "NoConflicts", "no conflicts found for the names"),
                _condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        }
        self.set_status(crd, status)
