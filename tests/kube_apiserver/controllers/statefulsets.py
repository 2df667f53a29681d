"""The StatefulSet controller ("StatefulSets", https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/).

Pods ``<name>-0..N-1``; with ``OrderedReady`` the next ordinal is created only when every lower one
is Running and Ready; a RollingUpdate replaces pods from the highest ordinal down, one at a time,
only ordinals ``>= partition``; revisions are ControllerRevisions named ``<name>-<hash>`` and
reported as ``currentRevision`` / ``updateRevision`` (current becomes update once all pods are
updated); status counts replicas, readyReplicas, currentReplicas, updatedReplicas, availableReplicas.
"""

from __future__ import annotations

import copy
from typing import Any

from .base import Controller, owned_by, owner_ref, template_hash
from .replicasets import is_ready, pod_from_template

Obj = dict[str, Any]
REVISION_LABEL = "controller-revision-hash"


def _revision_of(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


class StatefulSetController(Controller):
    def reconcile(self) -> None:
        pods = self.list("", "pods")
        for sts in self.list("apps", "statefulsets"):
            mine = {p["metadata"]["name"]: p for p in pods if owned_by(p, sts)}
            update_revision = f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}"
            self._record_revision(sts, update_revision)
            self._step(sts, mine, update_revision)
            alive = [p for p in mine.values() if not p["metadata"].get("deletionTimestamp")]
            self._status(sts, alive, update_revision)

    def _record_revision(self, sts: Obj, revision: str) -> None:
        namespace = sts["metadata"]["namespace"]
        existing = [r for r in self.list("apps", "controllerrevisions", namespace) if owned_by(r, sts)]
        if any(r["metadata"]["name"] == revision for r in existing):
            return
        number = max((int(r.get("revision", 0)) for r in existing), default=0) + 1
        self.create(
            "apps",
            "controllerrevisions",
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": revision,
                    "namespace": namespace,
                    "ownerReferences": [owner_ref(sts)],
                    "labels": {REVISION_LABEL: revision.rsplit("-", 1)[-1]},
                },
                "data": {"spec": {"template": copy.deepcopy(sts["spec"]["template"])}},
                "revision": number,
            },
        )

    def _step(self, sts: Obj, mine: dict[str, Obj], update_revision: str) -> None:
        """One move: create the lowest missing ordinal, or replace the highest outdated one."""
        name, wanted = sts["metadata"]["name"], int(sts["spec"].get("replicas", 1))
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        current = (sts.get("status") or {}).get("currentRevision") or update_revision
        for ordinal in range(wanted):
            pod = mine.get(f"{name}-{ordinal}")
            if pod is not None and pod["metadata"].get("deletionTimestamp"):
                return  # the same name comes back only once the old pod is gone
            if pod is None:
                revision = update_revision if ordinal >= self._partition(sts) else current
                self._create(sts, ordinal, revision)
                if ordered:
                    return
            elif ordered and not is_ready(pod):
                return
        for ordinal in range(len(mine) - 1, wanted - 1, -1):
            extra = mine.get(f"{name}-{ordinal}")
            if extra is not None:
                self.delete(extra)
                return
        if all(is_ready(p) for p in mine.values()):
            for ordinal in range(wanted - 1, self._partition(sts) - 1, -1):
                pod = mine.get(f"{name}-{ordinal}")
                if pod is not None and _revision_of(pod) != update_revision.rsplit("-", 1)[-1]:
                    self.delete(pod)
                    return

    @staticmethod
    def _partition(sts: Obj) -> int:
        return int(((sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0))

    def _create(self, sts: Obj, ordinal: int, revision: str) -> None:
        template = copy.deepcopy(sts["spec"]["template"])
        if revision != f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}":
            stored = self.api.store.objects.get(self._revision_key(sts, revision))
            template = copy.deepcopy((stored or {}).get("data", {}).get("spec", {}).get("template", template))
        name = f"{sts['metadata']['name']}-{ordinal}"
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update(
            {
                REVISION_LABEL: revision.rsplit("-", 1)[-1],
                "statefulset.kubernetes.io/pod-name": name,
                "apps.kubernetes.io/pod-index": str(ordinal),
            }
        )
        pod = pod_from_template(sts, template, name)
        pod["spec"]["hostname"] = name
        if self.create("", "pods", pod) is not None:
            self.event(
                sts,
                "Normal",
                "SuccessfulCreate",
                f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful",
                "statefulset-controller",
            )

    @staticmethod
    def _revision_key(sts: Obj, revision: str) -> Any:
        from ..storage import Key

        return Key("apps", "controllerrevisions", sts["metadata"]["namespace"], revision)

    def _status(self, sts: Obj, pods: list[Obj], update_revision: str) -> None:
        short = update_revision.rsplit("-", 1)[-1]
        old = sts.get("status") or {}
        updated = sum(1 for p in pods if _revision_of(p) == short)
        current_revision = old.get("currentRevision") or update_revision
        wanted = int(sts["spec"].get("replicas", 1))
        if updated == wanted and len(pods) == wanted:
            current_revision = update_revision
        current_short = current_revision.rsplit("-", 1)[-1]
        min_ready = float(sts["spec"].get("minReadySeconds", 0))
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "currentReplicas": sum(1 for p in pods if _revision_of(p) == current_short),
            "updatedReplicas": updated,
            "availableReplicas": sum(1 for p in pods if is_ready(p) and self.runtime.available(p, min_ready)),
            "currentRevision": current_revision,
            "updateRevision": update_revision,
            "collisionCount": 0,
        }
        self.set_status(sts, status)
