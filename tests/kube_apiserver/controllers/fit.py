"""The scheduler's NodeResourcesFit filter (https://kubernetes.io/docs/concepts/scheduling-eviction/
kube-scheduler/, "Resource Management for Pods and Containers": a pod is scheduled only on a node
whose allocatable CPU and memory, less the requests of the pods already bound to it, hold the pod's
requests). Extended resources (``nvidia.com/gpu``, advertised by the NVIDIA device plugin) fit the
same way: they are integers, and a container names them in ``limits`` (its request defaults to the
limit and, if given, must equal it: https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/), so
a pod with an ``nvidia.com/gpu`` limit fits only a node whose allocatable lists enough of them; a node
without it has none (``Insufficient nvidia.com/gpu``). An unschedulable pod's message counts the
nodes per missing resource, as the scheduler's ``FailedScheduling`` event does:
``0/3 nodes are available: 3 Insufficient cpu.``"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .. import quantity

Obj = dict[str, Any]
_FITTED = ("cpu", "memory")
_EXTENDED = ("nvidia.com/gpu",)


def _requests(pod: Obj) -> dict[str, Fraction]:
    total = dict.fromkeys(_FITTED + _EXTENDED, Fraction(0))
    for container in (pod.get("spec") or {}).get("containers") or []:
        for resource in _FITTED + _EXTENDED:  # admission has defaulted requests to limits
            amount = ((container.get("resources") or {}).get("requests") or {}).get(resource)
            if amount is not None:
                total[resource] += quantity.parse(amount)
    return total


def _shortfalls(pod: Obj, node: Obj, bound: list[Obj]) -> list[str]:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    wanted = _requests(pod)
    missing = []
    for resource in _FITTED + _EXTENDED:
        used = sum((_requests(p)[resource] for p in bound), Fraction(0))
        held = quantity.parse(allocatable[resource]) if resource in allocatable else None
        if held is None and resource in _EXTENDED:
            held = Fraction(0)  # a node without the device plugin has none
        if held is not None and used + wanted[resource] > held:
            missing.append(resource)
    return missing


def place(pod: Obj, nodes: list[Obj], pods: list[Obj]) -> tuple[list[str], str]:
    """The names of the nodes that hold ``pod``, and the scheduler's message when there are none."""
    fitting: list[str] = []
    counts: dict[str, int] = {}
    for node in nodes:
        name = node["metadata"]["name"]
        bound = [p for p in pods if (p.get("spec") or {}).get("nodeName") == name and p is not pod]
        missing = _shortfalls(pod, node, bound)
        if not missing:
            fitting.append(name)
        for resource in missing:
            counts[resource] = counts.get(resource, 0) + 1
    if fitting:
        return fitting, ""
    reasons = ", ".join(f"{n} Insufficient {r}" for r, n in sorted(counts.items()))
    total = len(nodes)
    return [], (
        f"0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: "
        f"{total} No preemption victims found for incoming pod."
    )
