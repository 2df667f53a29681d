"""The DaemonSet controller ("DaemonSet", https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/):
one pod per (simulated) node, bound to it; a RollingUpdate replaces outdated pods while at most
``maxUnavailable`` are unavailable; status as the controller reports it (desiredNumberScheduled,
currentNumberScheduled, updatedNumberScheduled, numberReady, numberAvailable, observedGeneration).
"""

from __future__ import annotations

import copy
from typing import Any

from .base import Controller, owned_by, template_hash
from .deployments import resolve
from .replicasets import is_ready, pod_from_template

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"


class DaemonSetController(Controller):
    def reconcile(self) -> None:
        nodes = [n["metadata"]["name"] for n in self.list("", "nodes")]
        pods = self.list("", "pods")
        for ds in self.list("apps", "daemonsets"):
            digest = template_hash(ds["spec"]["template"])
            mine = [p for p in pods if owned_by(p, ds)]
            by_node = {p["spec"].get("nodeName"): p for p in mine}
            for node in nodes:
                if node not in by_node:
                    template = copy.deepcopy(ds["spec"]["template"])
                    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
                    created = self.create("", "pods", pod_from_template(ds, template, node=node))
                    if created is not None:
                        mine.append(created)
            alive = [p for p in mine if not p["metadata"].get("deletionTimestamp")]
            self._roll(ds, alive, digest, len(nodes))
            self._status(ds, alive, digest, len(nodes))

    def _roll(self, ds: Obj, pods: list[Obj], digest: str, nodes: int) -> None:
        rolling = ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate")) or {}
        budget = max(1, resolve(rolling.get("maxUnavailable", 1), nodes, False))
        unavailable = nodes - sum(1 for p in pods if is_ready(p))  # nodes whose pod is not (yet) ready
        for pod in pods:
            if unavailable >= budget:
                return
            if (pod["metadata"].get("labels") or {}).get(HASH_LABEL) != digest:
                self.delete(pod)
                unavailable += 1

    def _status(self, ds: Obj, pods: list[Obj], digest: str, nodes: int) -> None:
        min_ready = float(ds["spec"].get("minReadySeconds", 0))
        status = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": nodes,
            "numberMisscheduled": 0,
            "numberReady": sum(1 for p in pods if is_ready(p)),
            "numberAvailable": sum(1 for p in pods if is_ready(p) and self.runtime.available(p, min_ready)),
            "updatedNumberScheduled": sum(
                1 for p in pods if (p["metadata"].get("labels") or {}).get(HASH_LABEL) == digest
            ),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        status["numberUnavailable"] = nodes - status["numberAvailable"]
        if not status["numberUnavailable"]:
            status.pop("numberUnavailable")
        self.set_status(ds, status)
