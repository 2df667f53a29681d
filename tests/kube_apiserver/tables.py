"""``meta.k8s.io/v1`` Table answers, which ``kubectl get`` asks for (``Accept: ...;as=Table``).

Follows "API Concepts", "Receiving resources as Tables"
(https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables) and the
columns of pkg/printers/internalversion/printers.go for the kinds shown here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .coordination import lease_holder

Obj = dict[str, Any]


def age(obj: Obj) -> str:
    """kubectl's short human duration (apimachinery/pkg/util/duration.HumanDuration) since creation."""
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = max(0, int((datetime.datetime.now(datetime.UTC) - created).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600 * 3:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _pod_status(obj: Obj) -> str:
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for state in _status(obj).get("containerStatuses") or []:
        waiting = (state.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(_status(obj).get("phase", "Pending"))


def _pod_cells(obj: Obj) -> list[Any]:
    states = _status(obj).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    ready = sum(1 for s in states if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in states)
    return [f"{ready}/{total}", _pod_status(obj), restarts]


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _ports(obj: Obj) -> str:
    ports = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in _spec(obj).get("ports") or []]
    return ",".join(ports) or "<none>"


def _hpa_targets(obj: Obj) -> str:
    current = ((_status(obj).get("currentMetrics") or [{}])[0].get("resource") or {}).get("current") or {}
    target = ((_spec(obj).get("metrics") or [{}])[0].get("resource") or {}).get("target") or {}
    now = f"{current['averageUtilization']}%" if "averageUtilization" in current else "<unknown>"
    return f"cpu: {now}/{target.get('averageUtilization', '?')}%"


def _node_ready(obj: Obj) -> str:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in _status(obj).get("conditions") or [])
    return "Ready" if ready else "NotReady"


def _involved(obj: Obj) -> str:
    ref = obj.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


Cell = Callable[[Obj], Any]
# columns after NAME, as pkg/printers/internalversion/printers.go prints them (name, cell)
_COLUMNS: dict[str, list[tuple[str, Cell]]] = {
    "Pod": [("Ready", lambda o: _pod_cells(o)[0]), ("Status", _pod_status), ("Restarts", lambda o: _pod_cells(o)[2])],
    "Deployment": [
        ("Ready", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}"),
        ("Up-to-date", lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", lambda o: _status(o).get("availableReplicas", 0)),
    ],
    "ReplicaSet": [
        ("Desired", lambda o: _spec(o).get("replicas", 0)),
        ("Current", lambda o: _status(o).get("replicas", 0)),
        ("Ready", lambda o: _status(o).get("readyReplicas", 0)),
    ],
    "StatefulSet": [("Ready", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}")],
    "DaemonSet": [
        ("Desired", lambda o: _status(o).get("desiredNumberScheduled", 0)),
        ("Current", lambda o: _status(o).get("currentNumberScheduled", 0)),
        ("Ready", lambda o: _status(o).get("numberReady", 0)),
        ("Up-to-date", lambda o: _status(o).get("updatedNumberScheduled", 0)),
        ("Available", lambda o: _status(o).get("numberAvailable", 0)),
        (
            "Node Selector",
            lambda o: (
                ",".join(
                    f"{k}={v}"
                    for k, v in (_spec(o).get("template", {}).get("spec", {}).get("nodeSelector") or {}).items()
                )
                or "<none>"
            ),
        ),
    ],
    "Service": [
        ("Type", lambda o: _spec(o).get("type", "ClusterIP")),
        ("Cluster-IP", lambda o: _spec(o).get("clusterIP", "<none>")),
        ("External-IP", lambda o: "<none>"),
        ("Port(s)", _ports),
    ],
    "HorizontalPodAutoscaler": [
        (
            "Reference",
            lambda o: (
                f"{_spec(o).get('scaleTargetRef', {}).get('kind')}/{_spec(o).get('scaleTargetRef', {}).get('name')}"
            ),
        ),
        ("Targets", _hpa_targets),
        ("MinPods", lambda o: _spec(o).get("minReplicas", 1)),
        ("MaxPods", lambda o: _spec(o).get("maxReplicas", 0)),
        ("Replicas", lambda o: _status(o).get("currentReplicas", 0)),
    ],
    "Node": [("Status", _node_ready), ("Roles", lambda o: "<none>")],
    "Namespace": [("Status", lambda o: _status(o).get("phase", ""))],
    "Lease": [("Holder", lease_holder)],
    "ConfigMap": [("Data", lambda o: len(o.get("data") or {}))],
    "Secret": [("Type", lambda o: o.get("type", "Opaque")), ("Data", lambda o: len(o.get("data") or {}))],
}
_TRAILING: dict[str, list[tuple[str, Cell]]] = {"Node": [("Version", lambda o: "v1.37.0")]}
# kinds whose table has no NAME column first (events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE)
_EVENT_COLUMNS: list[tuple[str, Cell]] = [
    ("Last Seen", age),
    ("Type", lambda o: o.get("type", "")),
    ("Reason", lambda o: o.get("reason", "")),
    ("Object", _involved),
    ("Message", lambda o: o.get("message", "")),
]


def _columns(kind: str) -> list[tuple[str, Cell]]:
    if kind == "Event":
        return _EVENT_COLUMNS
    name: Cell = lambda o: o["metadata"].get("name", "")  # noqa: E731
    return [("Name", name), *_COLUMNS.get(kind, []), ("Age", age), *_TRAILING.get(kind, [])]


def table(kind: str, objects: list[Obj], rv: str, with_columns: bool = True) -> Obj:
    columns = _columns(kind)
    definitions = [
        {"name": n, "type": "string", "format": "name" if n == "Name" else "", "description": n, "priority": 0}
        for n, _ in columns
    ]
    rows = [{"cells": [cell(o) for _, cell in columns], "object": _partial(o)} for o in objects]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": definitions if with_columns else [],
        "rows": rows,
    }


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept
