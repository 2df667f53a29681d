"""The Deployment controller ("Deployments", https://kubernetes.io/docs/concepts/workloads/controllers/deployment/).

* One ReplicaSet per pod template (``pod-template-hash``), revision in the
  ``deployment.kubernetes.io/revision`` annotation; going back to an old template re-uses its
  ReplicaSet with the next revision (what ``kubectl rollout undo`` relies on).
* RollingUpdate: at most ``replicas + maxSurge`` pods (percent rounded up), at least
  ``replicas - maxUnavailable`` available (percent rounded down); available means ready for
  ``minReadySeconds``. Recreate: old pods go before new ones come.
* Conditions: ``Available`` (MinimumReplicasAvailable/Unavailable) and ``Progressing``
  (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, or
  False with ``ProgressDeadlineExceeded`` after ``progressDeadlineSeconds`` without progress).
* ``revisionHistoryLimit`` old ReplicaSets with no replicas are kept.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..apply import now
from .base import Controller, owned_by, owner_ref, template_hash

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


def resolve(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against ``total`` (intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(value or 0)


def _revision(rs: Obj) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))


def _replicas(rs: Obj) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _available(rs: Obj) -> int:
    return int((rs.get("status") or {}).get("availableReplicas", 0))


def _replicaset(d: Obj, template: Obj, digest: str, revision: int, replicas: int) -> Obj:
    """The ReplicaSet of ``template`` (labelled and selected by its pod-template-hash)."""
    labels = {**(template.get("metadata") or {}).get("labels", {}), "pod-template-hash": digest}
    template.setdefault("metadata", {})["labels"] = labels
    selector = copy.deepcopy(d["spec"]["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
    annotations = {
        REVISION: str(revision),
        "deployment.kubernetes.io/desired-replicas": str(d["spec"].get("replicas", 1)),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{d['metadata']['name']}-{digest}",
            "namespace": d["metadata"]["namespace"],
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_ref(d)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": d["spec"].get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }


class DeploymentController(Controller):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_progress: dict[str, tuple[float, Any]] = {}

    def reconcile(self) -> None:
        sets = self.list("apps", "replicasets")
        for d in self.list("apps", "deployments"):
            if d["metadata"].get("deletionTimestamp"):
                continue
            owned = [rs for rs in sets if owned_by(rs, d)]
            new = self._new_replicaset(d, owned)
            if new is None:
                continue
            olds = [rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]]
            if not (d.get("spec") or {}).get("paused"):
                new, olds = self._roll(d, new, olds)
            self._cleanup(d, olds)
            self._status(d, new, olds)

    def _new_replicaset(self, d: Obj, owned: list[Obj]) -> Obj | None:
        template = copy.deepcopy(d["spec"]["template"])
        digest = template_hash(template)
        top = max((_revision(rs) for rs in owned), default=0)
        for rs in owned:
            if rs["metadata"].get("labels", {}).get("pod-template-hash") == digest:
                if _revision(rs) < top:  # rolled back to this template: it becomes the newest revision
                    changed = copy.deepcopy(rs)
                    changed["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
                    rs = self.save(changed) or rs
                self._annotate(d, _revision(rs))
                return rs
        first_rollout = not owned and d["spec"].get("strategy", {}).get("type") != "Recreate"
        replicas = int(d["spec"].get("replicas", 1)) if first_rollout else 0
        created = self.create("apps", "replicasets", _replicaset(d, template, digest, top + 1, replicas))
        if created is not None:
            if replicas:
                message = f"Scaled up replica set {created['metadata']['name']} from 0 to {replicas}"
                self.event(d, "Normal", "ScalingReplicaSet", message, "deployment-controller")
            self._annotate(d, top + 1)
            self.last_progress.pop(d["metadata"]["uid"], None)
        return created

    def _annotate(self, d: Obj, revision: int) -> None:
        if (d["metadata"].get("annotations") or {}).get(REVISION) != str(revision):
            changed = copy.deepcopy(d)
            changed["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
            self.save(changed)

    def _scale(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        if _replicas(rs) == replicas:
            return rs
        changed = copy.deepcopy(rs)
        changed["spec"]["replicas"] = replicas
        changed["spec"]["minReadySeconds"] = d["spec"].get("minReadySeconds", 0)
        word = "up" if replicas > _replicas(rs) else "down"
        self.event(
            d,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {word} replica set {rs['metadata']['name']} from {_replicas(rs)} to {replicas}",
            "deployment-controller",
        )
        return self.save(changed) or rs

    def _roll(self, d: Obj, new: Obj, olds: list[Obj]) -> tuple[Obj, list[Obj]]:
        spec = d["spec"]
        wanted = int(spec.get("replicas", 1))
        if spec.get("strategy", {}).get("type") == "Recreate":
            if any(_replicas(rs) or (rs.get("status") or {}).get("replicas") for rs in olds):
                return new, [self._scale(d, rs, 0) for rs in olds]
            return self._scale(d, new, wanted), olds
        rolling = spec.get("strategy", {}).get("rollingUpdate") or {}
        surge = resolve(rolling.get("maxSurge", "25%"), wanted, True)
        unavailable = resolve(rolling.get("maxUnavailable", "25%"), wanted, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        total = _replicas(new) + sum(_replicas(rs) for rs in olds)
        if _replicas(new) < wanted:
            room = wanted + surge - total
            new = self._scale(d, new, min(wanted, _replicas(new) + max(0, room)))
        elif _replicas(new) > wanted:
            new = self._scale(d, new, wanted)
        available = _available(new) + sum(_available(rs) for rs in olds)
        removable = available - (wanted - unavailable)
        kept = []
        for rs in sorted(olds, key=_revision):
            unhealthy = _replicas(rs) - _available(rs)
            cut = min(_replicas(rs), unhealthy + max(0, removable))
            removable -= max(0, cut - unhealthy)
            kept.append(self._scale(d, rs, _replicas(rs) - cut) if cut > 0 else rs)
        return new, kept

    def _cleanup(self, d: Obj, olds: list[Obj]) -> None:
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        idle = sorted(
            (rs for rs in olds if _replicas(rs) == 0 and not (rs.get("status") or {}).get("replicas")), key=_revision
        )
        for rs in idle[: max(0, len(idle) - limit)]:
            self.delete(rs)

    def _status(self, d: Obj, new: Obj, olds: list[Obj]) -> None:
        every = [new, *olds]
        wanted = int(d["spec"].get("replicas", 1))
        status = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in every),
            "updatedReplicas": int((new.get("status") or {}).get("replicas", 0)),
            "readyReplicas": sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in every),
            "availableReplicas": sum(_available(rs) for rs in every),
        }
        status["unavailableReplicas"] = max(0, status["replicas"] - status["availableReplicas"])
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                status.pop(key)
        rolling = d["spec"].get("strategy", {}).get("rollingUpdate") or {}
        floor = wanted - resolve(rolling.get("maxUnavailable", "25%"), wanted, False)
        available_ok = status.get("availableReplicas", 0) >= floor
        status["conditions"] = [
            self._condition(
                d,
                "Available",
                available_ok,
                "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available_ok
                else "Deployment does not have minimum availability.",
            ),
            self._progressing(d, new, status, wanted),
        ]
        self.set_status(d, status)

    def _progressing(self, d: Obj, new: Obj, status: Obj, wanted: int) -> Obj:
        name = new["metadata"]["name"]
        complete = (
            status.get("updatedReplicas", 0) == wanted
            and status.get("availableReplicas", 0) == wanted
            and status.get("replicas", 0) == wanted
        )
        if complete:
            return self._condition(
                d, "Progressing", True, "NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.'
            )
        uid, t = d["metadata"]["uid"], self.runtime.clock.now()
        marker = (
            status.get("updatedReplicas"),
            status.get("availableReplicas"),
            status.get("replicas"),
            d["metadata"].get("generation"),
        )
        since, last = self.last_progress.get(uid, (t, None))
        if marker != last:
            since = t
        self.last_progress[uid] = (since, marker)
        if t - since > float(d["spec"].get("progressDeadlineSeconds", 600)):
            return self._condition(
                d, "Progressing", False, "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.'
            )
        return self._condition(d, "Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')

    @staticmethod
    def _condition(d: Obj, kind: str, ok: bool, reason: str, message: str) -> Obj:
        conditions = (d.get("status") or {}).get("conditions") or []
        old: Obj = next((c for c in conditions if c.get("type") == kind), {})
        same = old.get("status") == ("True" if ok else "False") and old.get("reason") == reason
        stamp = now()
        return {
            "type": kind,
            "status": "True" if ok else "False",
            "lastUpdateTime": old.get("lastUpdateTime", stamp) if same else stamp,
            "lastTransitionTime": old.get("lastTransitionTime", stamp)
            if old.get("status") == ("True" if ok else "False")
            else stamp,
            "reason": reason,
            "message": message,
        }
