"""The ReplicaSet controller ("ReplicaSet", https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/):
keeps ``spec.replicas`` pods from the template (owned through ``ownerReferences``), deletes the
least useful extras first (unscheduled, then not ready, then newest), and reports replicas,
readyReplicas, availableReplicas (ready for ``minReadySeconds``) and observedGeneration.
"""

from __future__ import annotations

import copy
from typing import Any

from .base import Controller, owned_by, owner_ref

Obj = dict[str, Any]


def pod_from_template(owner: Obj, template: Obj, name: str = "", node: str = "") -> Obj:
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.pop("name", None)
    meta["namespace"] = owner["metadata"].get("namespace", "")
    meta["ownerReferences"] = [owner_ref(owner)]
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = owner["metadata"]["name"] + "-"
    spec = copy.deepcopy(template.get("spec") or {})
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _deletion_rank(pod: Obj) -> tuple[int, int, str]:
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    return (scheduled, 1 if is_ready(pod) else 0, "~" + pod["metadata"].get("creationTimestamp", ""))


class ReplicaSetController(Controller):
    def reconcile(self) -> None:
        pods = self.list("", "pods")
        for rs in self.list("apps", "replicasets"):
            mine = [p for p in pods if owned_by(p, rs) and not p["metadata"].get("deletionTimestamp")]
            wanted = int((rs.get("spec") or {}).get("replicas", 1))
            for _ in range(wanted - len(mine)):
                created = self.create("", "pods", pod_from_template(rs, rs["spec"].get("template") or {}))
                if created is None:
                    break
                self.event(
                    rs,
                    "Normal",
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    "replicaset-controller",
                )
                mine.append(created)
            if len(mine) > wanted:
                for pod in sorted(mine, key=_deletion_rank)[: len(mine) - wanted]:
                    self.delete(pod)
                    self.event(
                        rs,
                        "Normal",
                        "SuccessfulDelete",
                        f"Deleted pod: {pod['metadata']['name']}",
                        "replicaset-controller",
                    )
                    mine.remove(pod)
            self._status(rs, mine)

    def _status(self, rs: Obj, pods: list[Obj]) -> None:
        min_ready = float((rs.get("spec") or {}).get("minReadySeconds", 0))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": sum(1 for p in pods if is_ready(p)),
            "availableReplicas": sum(1 for p in pods if is_ready(p) and self.runtime.available(p, min_ready)),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        self.set_status(rs, status)
