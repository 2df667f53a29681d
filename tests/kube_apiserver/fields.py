"""Field paths and field sets in the ``fieldsV1`` format of ``metadata.managedFields``.

Follows "Server-Side Apply" (https://kubernetes.io/docs/reference/using-api/server-side-apply/,
"Field management") and sigs.k8s.io/structured-merge-diff's path elements: ``f:<field>`` for a map
field, ``k:{<keys as JSON>}`` for an item of an associative list, ``v:<JSON>`` for an item of a set,
``i:<index>`` otherwise; a node that is itself a member and has children carries ``".": {}``.
The list types are those of the built-in types' OpenAPI (``x-kubernetes-list-type`` /
``x-kubernetes-list-map-keys``, the same keys as the strategic-merge ``patchMergeKey``s).
"""

from __future__ import annotations

import json
from typing import Any

Path = tuple[str, ...]
FieldSet = set[Path]

# Associative lists by field name: the item keys (k8s.io/api types: +listType=map, +listMapKey).
LIST_MAP_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "conditions": ("type",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "ownerReferences": ("uid",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
SET_LISTS = frozenset({"finalizers"})
# Fields the server sets or that identify the object: never owned by a manager.
IGNORED_TOP = frozenset({"apiVersion", "kind"})
IGNORED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def list_keys(name: str, items: list[Any]) -> tuple[str, ...] | str | None:
    """Keys of the associative list ``name``; "set" for a set; None for an atomic list."""
    if name in SET_LISTS:
        return "set"
    if name == "ports" and items and all(isinstance(i, dict) for i in items):
        # container ports are keyed by containerPort+protocol, service ports by port+protocol
        return ("containerPort", "protocol") if "containerPort" in items[0] else ("port", "protocol")
    if name in LIST_MAP_KEYS and all(isinstance(i, dict) for i in items):
        return LIST_MAP_KEYS[name]
    return None


def item_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    """The ``k:`` element of an associative list item (protocol defaults to TCP, as the API defaults it)."""
    values = {k: item.get(k, "TCP" if k == "protocol" else None) for k in keys}
    return "k:" + json.dumps(values, separators=(",", ":"))


def value_key(item: Any) -> str:
    return "v:" + json.dumps(item, separators=(",", ":"))


def fields_of(value: Any, prefix: Path = (), name: str = "") -> FieldSet:
    """Every owned leaf path in ``value`` (plus the items of associative lists)."""
    if isinstance(value, dict):
        if not value:
            return {prefix} if prefix else set()
        out: FieldSet = set()
        for k, v in value.items():
            out |= fields_of(v, (*prefix, f"f:{k}"), k)
        return out
    if isinstance(value, list):
        keys = list_keys(name, value)
        if keys is None:
            return {prefix}
        if keys == "set":
            return {(*prefix, value_key(i)) for i in value}
        out = set()
        for item in value:
            item_path = (*prefix, item_key(item, keys))  # type: ignore[arg-type]
            out.add(item_path)
            out |= fields_of(item, item_path, "")
        return out
    return {prefix}


def object_fields(obj: dict[str, Any], with_status: bool = False) -> FieldSet:
    """The manageable fields of a whole object (identity and server-set metadata left out)."""
    trimmed = {k: v for k, v in obj.items() if k not in IGNORED_TOP and (with_status or k != "status")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_META}
    if meta:
        trimmed["metadata"] = meta
    else:
        trimmed.pop("metadata", None)
    return fields_of(trimmed)


def status_fields(obj: dict[str, Any]) -> FieldSet:
    return fields_of({"status": obj["status"]}) if obj.get("status") else set()


def lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) of ``path`` in ``obj``."""
    node = obj
    for element in path:
        found, node = _step(node, element)
        if not found:
            return False, None
    return True, node


def _step(node: Any, element: str) -> tuple[bool, Any]:
    kind, text = element[0], element[2:]
    if kind == "f" and isinstance(node, dict):
        return (text in node), node.get(text)
    if not isinstance(node, list):
        return False, None
    if kind == "k":
        wanted = json.loads(text)
        for item in node:
            if isinstance(item, dict) and item_key(item, tuple(wanted)) == element:
                return True, item
    elif kind == "v":
        value = json.loads(text)
        return (value in node), value
    elif kind == "i" and int(text) < len(node):
        return True, node[int(text)]
    return False, None


def remove(obj: dict[str, Any], path: Path) -> None:
    """Remove the field or list item at ``path`` (nothing happens when it is not there)."""
    found, parent = lookup(obj, path[:-1])
    if not found:
        return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        found, item = _step(parent, last)
        if found:
            parent.remove(item)


def encode(paths: FieldSet) -> dict[str, Any]:
    """A field set as the ``fieldsV1`` tree."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = root
        for element in path:
            node = node[element]
        if node and "." not in node:
            node["."] = {}
    return root


def decode(tree: dict[str, Any], prefix: Path = ()) -> FieldSet:
    """The field set a ``fieldsV1`` tree describes."""
    out: FieldSet = set()
    for element, child in tree.items():
        if element == ".":
            out.add(prefix)
            continue
        path = (*prefix, element)
        if child:
            out |= decode(child, path)
        else:
            out.add(path)
    return out
