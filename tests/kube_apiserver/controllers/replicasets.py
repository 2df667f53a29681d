"""The ReplicaSet controller ("ReplicaSet", https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/):
keeps ``spec.replicas`` pods from the template (owned through ``ownerReferences``), deletes the
least useful extras first (unscheduled, then not ready, then newest), and reports replicas,
readyReplicas, availableReplicas (ready for ``minReadySeconds``) and observedGeneration.
A refused pod creation (quota, LimitRange, PodSecurity, a missing PriorityClass) is a ``FailedCreate``
Event on the ReplicaSet and its ``ReplicaFailure`` condition (reason ``FailedCreate``, the API's
message) until a creation succeeds again (pkg/controller/replicaset/replica_set_utils.go
calculateStatus); creations are retried after a back-off, not on every pass.
"""

from __future__ import annotations

import copy
from typing import Any

from ..apply import now
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


RETRY_SECONDS = 1.0  # simulated seconds before a refused creation is tried again


class ReplicaSetController(Controller):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.failures: dict[str, tuple[float, str]] = {}  # ReplicaSet uid -> (when, message)

    def reconcile(self) -> None:
        pods = self.list("", "pods")
        for rs in self.list("apps", "replicasets"):
            mine = [p for p in pods if owned_by(p, rs) and not p["metadata"].get("deletionTimestamp")]
            wanted = int((rs.get("spec") or {}).get("replicas", 1))
            uid = rs["metadata"]["uid"]
            failed_at, _ = self.failures.get(uid, (-RETRY_SECONDS, ""))
            missing = wanted - len(mine) if self.runtime.clock.now() - failed_at >= RETRY_SECONDS else 0
            if wanted <= len(mine):
                self.failures.pop(uid, None)
            for _ in range(missing):
                created = self.create("", "pods", pod_from_template(rs, rs["spec"].get("template") or {}), owner=rs)
                if created is None:
                    self.failures[uid] = (self.runtime.clock.now(), self.last_error)
                    break
                self.failures.pop(uid, None)
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
        failure = self.failures.get(rs["metadata"]["uid"])
        if failure is not None:
            condition = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure[1]}
            kept = [c for c in (rs.get("status") or {}).get("conditions") or [] if c.get("type") == "ReplicaFailure"]
            condition["lastTransitionTime"] = kept[0].get("lastTransitionTime", now()) if kept else now()
            status["conditions"] = [condition]
        self.set_status(rs, status)
