"""The three non-apply patch types of PATCH requests.

"API Concepts" / "Update API Objects in Place Using kubectl patch"
(https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
* ``application/merge-patch+json``: RFC 7386 (maps merge, ``null`` deletes, lists replaced);
* ``application/json-patch+json``: RFC 6902 operations;
* ``application/strategic-merge-patch+json``: lists with a ``patchMergeKey`` merge item by key
  (containers/env/volumes by ``name``, container ports by ``containerPort``, service ports by
  ``port``), ``$patch: replace|delete|merge``, ``$retainKeys``, ``$deleteFromPrimitiveList/<f>``;
  ``$setElementOrder/<f>`` is accepted (see docs/devel/sig-api-machinery/strategic-merge-patch.md).
  Custom resources do not support it (415), as on a real server.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import ApiError, bad_request

# patchMergeKey of the built-in types (k8s.io/api struct tags); lists not named here are replaced.
SMP_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
}
SMP_PRIMITIVE_MERGE = frozenset({"finalizers"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 JSON patch; a failing test or a bad path is a 422 as on a real server."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp")
    try:
        result: dict[str, Any] = jsonpatch.apply_patch(target, operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    return result


def _merge_key(name: str, items: list[Any]) -> str | None:
    if name == "ports" and items and isinstance(items[0], dict):
        return "containerPort" if "containerPort" in items[0] else "port"
    return SMP_MERGE_KEYS.get(name)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch of a map."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            out[field] = [v for v in out.get(field) or [] if v not in value]
        elif key.startswith("$") or key == "$patch":
            continue
        elif value is None:
            out.pop(key, None)
        elif isinstance(value, list):
            out[key] = _merge_list(key, out.get(key), value)
        else:
            merged = strategic_merge(out.get(key), value)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(name: str, live: Any, patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if name in SMP_PRIMITIVE_MERGE:
        current = list(live or [])
        return current + [v for v in patch if v not in current]
    key = _merge_key(name, patch or live or [])
    if key is None or not isinstance(live, list):
        return [strategic_merge(None, i) if isinstance(i, dict) else copy.deepcopy(i) for i in patch]
    out = list(live)
    for item in patch:
        index = next((n for n, cur in enumerate(out) if isinstance(cur, dict) and cur.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append(strategic_merge(None, item))
        else:
            out[index] = strategic_merge(out[index], item)
    return out
