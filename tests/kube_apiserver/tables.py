"""``meta.k8s.io/v1`` Table answers, which ``kubectl get`` asks for (``Accept: ...;as=Table``).

Follows "API Concepts", "Receiving resources as Tables"
(https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables) and the
columns of pkg/printers/internalversion/printers.go for the kinds shown here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

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
    return [f"{ready}/{total}", _pod_status(obj), restarts, age(obj)]


_COLUMNS: dict[str, tuple[list[str], Callable[[Obj], list[Any]]]] = {
    "Pod": (["Ready", "Status", "Restarts", "Age"], _pod_cells),
    "Deployment": (
        ["Ready", "Up-to-date", "Available", "Age"],
        lambda o: [
            f"{_status(o).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 0)}",
            _status(o).get("updatedReplicas", 0),
            _status(o).get("availableReplicas", 0),
            age(o),
        ],
    ),
    "Namespace": (["Status", "Age"], lambda o: [_status(o).get("phase", ""), age(o)]),
    "ConfigMap": (["Data", "Age"], lambda o: [len(o.get("data") or {}), age(o)]),
}


def table(kind: str, objects: list[Obj], rv: str, with_columns: bool = True) -> Obj:
    names, cells = _COLUMNS.get(kind, (["Age"], lambda o: [age(o)]))
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": n, "type": "string", "format": "", "description": n, "priority": 0} for n in names]
    rows = [{"cells": [o["metadata"].get("name", ""), *cells(o)], "object": _partial(o)} for o in objects]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns if with_columns else [],
        "rows": rows,
    }


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept
