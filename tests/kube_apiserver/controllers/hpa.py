"""The HorizontalPodAutoscaler controller ("Horizontal Pod Autoscaling", algorithm details:
https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details):
desired = ceil(current x metric / target), no change within the 0.1 tolerance, bounded by
min/maxReplicas, then stabilized (scale-down: the highest recommendation of the window, default
300 s; scale-up: the lowest, default 0 s) and rate-limited by the ``behavior`` policies (default
scale-up: the larger of 100 % and 4 pods per 15 s, "Configurable scaling behavior" on that page).
The metric: the load a test sets (control API) spread over the
target's current replicas, as average CPU utilization in percent of the request; without one, the
CPU the target's ready pods really use when they run as processes, against their ``requests.cpu``.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from ..apply import now
from ..selection import matches_labels
from .base import Controller
from .replicasets import is_ready

Obj = dict[str, Any]
SYNC_SECONDS = 15.0
TOLERANCE = 0.1
DEFAULT_SCALE_UP = [
    {"type": "Percent", "value": 100, "periodSeconds": 15},
    {"type": "Pods", "value": 4, "periodSeconds": 15},
]


def _target(hpa: Obj) -> float:
    for metric in hpa["spec"].get("metrics") or []:
        target = (metric.get("resource") or {}).get("target") or {}
        if "averageUtilization" in target:
            return float(target["averageUtilization"])
    return 80.0


def _rules(hpa: Obj, direction: str) -> Obj:
    return dict(((hpa["spec"].get("behavior") or {}).get(direction)) or {})


def _window(hpa: Obj, direction: str) -> float:
    default = 300 if direction == "scaleDown" else 0
    return float(_rules(hpa, direction).get("stabilizationWindowSeconds", default))


def _scale_up_limit(hpa: Obj, current: int, ups: list[tuple[float, int]], t: float) -> int:
    """The most replicas the scale-up policies allow now (``selectPolicy`` Max by default)."""
    rules = _rules(hpa, "scaleUp")
    if rules.get("selectPolicy") == "Disabled":
        return current
    limits = []
    for policy in rules.get("policies") or DEFAULT_SCALE_UP:
        period = float(policy.get("periodSeconds", SYNC_SECONDS))
        base = current - sum(added for at, added in ups if t - at < period)  # replicas at the period's start
        value = int(policy.get("value", 0))
        limits.append(base + value if policy.get("type") == "Pods" else math.ceil(base * (1 + value / 100)))
    return min(limits) if rules.get("selectPolicy") == "Min" else max(limits)


def _cores(container: Obj) -> float:
    """``resources.requests.cpu`` in cores ("250m" = 0.25)."""
    text = str(((container.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


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
        self.cpu_samples: dict[str, tuple[float, float]] = {}
        self.scale_ups: dict[str, list[tuple[float, int]]] = {}

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
        metric = load / max(current, 1) if load is not None else self._process_utilization(target)
        if metric is None:  # no metric yet: only the replica bounds apply
            self._scale_to(target, min(max(current, low), high))
            return
        ratio = metric / _target(hpa)
        proposal = current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(current * ratio)
        bounded = min(max(proposal, low), high)
        desired = self._stabilized(hpa, current, bounded, t)
        self._scale_to(target, desired)
        self._status(hpa, current, desired, metric, proposal != bounded)

    def _stabilized(self, hpa: Obj, current: int, recommendation: int, t: float) -> int:
        """The recommendation after both stabilization windows and the scale-up rate limit."""
        uid = hpa["metadata"]["uid"]
        longest = max(_window(hpa, "scaleDown"), _window(hpa, "scaleUp"))
        history = [(s, r) for s, r in self.recommendations.get(uid, []) if t - s <= longest]
        history.append((t, recommendation))
        self.recommendations[uid] = history
        up = min(r for s, r in history if t - s <= _window(hpa, "scaleUp"))
        down = max(r for s, r in history if t - s <= _window(hpa, "scaleDown"))
        desired = min(max(current, up), down)
        if desired > current:
            ups = [(s, n) for s, n in self.scale_ups.get(uid, []) if t - s < 1800]
            desired = min(desired, _scale_up_limit(hpa, current, ups, t))
            self.scale_ups[uid] = [*ups, (t, desired - current)]
        return desired

    def _process_utilization(self, target: Obj) -> float | None:
        """Average CPU utilization of the target's ready process pods since the last sync."""
        selector = (target.get("spec") or {}).get("selector")
        pods = [
            p
            for p in self.list("", "pods", target["metadata"]["namespace"])
            if matches_labels(selector, p["metadata"].get("labels") or {}) and is_ready(p)
        ]
        values = [u for p in pods if (u := self._pod_utilization(p)) is not None]
        return sum(values) / len(values) if values else None

    def _pod_utilization(self, pod: Obj) -> float | None:
        uid = pod["metadata"]["uid"]
        used = self.runtime.processes.cpu_seconds(uid)
        requested = sum(_cores(c) for c in pod["spec"].get("containers") or [])
        if used is None or not requested:
            return None
        before = self.cpu_samples.get(uid)
        self.cpu_samples[uid] = (time.monotonic(), used)
        if before is None:
            return None
        elapsed = max(time.monotonic() - before[0], 1e-3)
        return (used - before[1]) / elapsed / requested * 100

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
