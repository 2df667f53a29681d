"""The HorizontalPodAutoscaler controller ("Horizontal Pod Autoscaling", algorithm details:
https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details):
desired = ceil(current x metric / target), no change within the 0.1 tolerance, bounded by
min/maxReplicas, scale-down held by the stabilization window (default 300 s: the highest
recommendation in the window wins). The metric: the load a test sets (control API) spread over the
target's current replicas, as average CPU utilization in percent of the request.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..apply import now
from .base import Controller

Obj = dict[str, Any]
SYNC_SECONDS = 15.0
TOLERANCE = 0.1


def _target(hpa: Obj) -> float:
    for metric in hpa["spec"].get("metrics") or []:
        target = (metric.get("resource") or {}).get("target") or {}
        if "averageUtilization" in target:
            return float(target["averageUtilization"])
    return 80.0


def _window(hpa: Obj) -> float:
    down = ((hpa["spec"].get("behavior") or {}).get("scaleDown")) or {}
    return float(down.get("stabilizationWindowSeconds", 300))


def _condition(kind: str, ok: bool, reason: str, message: str) -> Obj:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "lastTransitionTime": now(),
        "reason": reason,
        "message": message,
    }


class HpaController(Controller):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.last_sync: dict[str, float] = {}
        self.recommendations: dict[str, list[tuple[float, int]]] = {}

    def reconcile(self) -> None:
        t = self.runtime.clock.now()
        for hpa in self.list("autoscaling", "horizontalpodautoscalers"):
            uid = hpa["metadata"]["uid"]
            if t - self.last_sync.get(uid, -SYNC_SECONDS) >= SYNC_SECONDS:
                self.last_sync[uid] = t
                self._sync(hpa, t)

    def _sync(self, hpa: Obj, t: float) -> None:
        ref, namespace = hpa["spec"].get("scaleTargetRef") or {}, hpa["metadata"]["namespace"]
        target = self.api.store.get(_key(ref, namespace))
        if target is None:
            return
        current = int(target["spec"].get("replicas", 1))
        low, high = int(hpa["spec"].get("minReplicas", 1)), int(hpa["spec"]["maxReplicas"])
        load = self.runtime.metrics.get((namespace, hpa["metadata"]["name"]))
        if load is None:  # no metric yet: only the replica bounds apply
            self._scale_to(target, min(max(current, low), high))
            return
        metric = load / max(current, 1)
        ratio = metric / _target(hpa)
        proposal = current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(current * ratio)
        bounded = min(max(proposal, low), high)
        history = [(s, r) for s, r in self.recommendations.get(hpa["metadata"]["uid"], []) if t - s <= _window(hpa)]
        history.append((t, bounded))
        self.recommendations[hpa["metadata"]["uid"]] = history
        desired = bounded if bounded >= current else min(current, max(r for _, r in history))
        self._scale_to(target, desired)
        self._status(hpa, current, desired, metric, proposal != bounded)

    def _scale_to(self, target: Obj, replicas: int) -> None:
        if int(target["spec"].get("replicas", 1)) != replicas:
            scaled = copy.deepcopy(target)
            scaled["spec"]["replicas"] = replicas
            self.save(scaled, "scale")

    def _status(self, hpa: Obj, current: int, desired: int, metric: float, limited: bool) -> None:
        status = {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": int(metric)}}}
            ],
            "conditions": [
                _condition("AbleToScale", True, "ReadyForNewScale", "recommended size matches current size"),
                _condition(
                    "ScalingActive",
                    True,
                    "ValidMetricFound",
                    "the HPA was able to successfully calculate a replica count from cpu resource utilization "
                    "(percentage of request)",
                ),
                _condition(
                    "ScalingLimited",
                    limited,
                    "TooManyReplicas" if limited else "DesiredWithinRange",
                    "the desired replica count is more than the maximum replica count"
                    if limited
                    else "the desired count is within the acceptable range",
                ),
            ],
        }
        if desired != current:
            status["lastScaleTime"] = now()
        self.set_status(hpa, status)


def _key(ref: Obj, namespace: str) -> Any:
    from ..storage import Key

    group = str(ref.get("apiVersion", "apps/v1")).rpartition("/")[0]
    plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}.get(
        ref.get("kind", ""), ""
    )
    return Key(group, plural, namespace, str(ref.get("name", "")))
