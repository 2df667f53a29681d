"""The release's HorizontalPodAutoscalers and what their status says (autoscaling/v2).

:func:`autoscaler_status` is a pure parser of one HPA object (``spec`` and ``status``);
:func:`bundle_autoscalers` names the HPAs a bundle holds, whose live objects the target reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bmad.ports.target import AutoscalerStatus

HPA_KIND = "HorizontalPodAutoscaler"


def bundle_autoscalers(objects: Iterable[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """``(name, namespace)`` of each HPA in the bundle, in bundle order."""
    found = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == HPA_KIND and meta.get("name"):
            found.append((str(meta["name"]), meta.get("namespace")))
    return found


def autoscaler_status(hpa: dict[str, Any]) -> AutoscalerStatus:
    """One HPA's bounds, replicas and first metric (``status.currentMetrics`` against ``spec.metrics``)."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    specs, currents = spec.get("metrics") or [], status.get("currentMetrics") or []
    first = specs[0] if specs else {}
    current = currents[0] if currents else {}
    current_replicas = _int(status.get("currentReplicas"), 0)
    return AutoscalerStatus(
        name=str((hpa.get("metadata") or {}).get("name", "")),
        workload=f"{ref.get('kind', '')}/{ref.get('name', '')}",
        min_replicas=_int(spec.get("minReplicas"), 1),
        max_replicas=_int(spec.get("maxReplicas"), 1),
        current_replicas=current_replicas,
        desired_replicas=_int(status.get("desiredReplicas"), current_replicas),
        metric=_metric_name(first),
        current_value=_value(_source(current).get("current") or {}),
        target_value=_value(_source(first).get("target") or {}),
    )


def _source(metric: dict[str, Any]) -> dict[str, Any]:
    """The typed block of a metric (``resource``, ``pods``, ``object``, ``external``, ``containerResource``)."""
    kind = str(metric.get("type", "Resource"))
    block = metric.get(kind[0].lower() + kind[1:]) or {}
    return block if isinstance(block, dict) else {}


def _metric_name(metric: dict[str, Any]) -> str:
    source = _source(metric)
    name = source.get("name") or (source.get("metric") or {}).get("name")
    return str(name or "")


def _value(block: dict[str, Any]) -> float | None:
    for key in ("averageUtilization", "averageValue", "value"):
        if key in block:
            return _quantity(block[key])
    return None


def _quantity(value: Any) -> float | None:
    """A number or a Kubernetes quantity ("250m" = 0.25, "2k" = 2000); None when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    scale = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}.get(text[-1:], 1.0)
    try:
        return float(text[:-1] if scale != 1.0 else text) * scale
    except ValueError:
        return None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
