"""Server-side apply and field ownership (``metadata.managedFields``).

Follows "Server-Side Apply" (https://kubernetes.io/docs/reference/using-api/server-side-apply/):
each manager owns a field set; applying a value another manager owns with a different value is a
409 Conflict whose ``details.causes`` name each field (``FieldManagerConflict``) and its manager,
unless ``force=true`` moves ownership to the applier; a field the applier owned alone and no
longer applies is removed; apply to a missing object creates it. Non-apply writes (create, update,
patches) make their manager own what they changed ("Field management", operation ``Update``).
Conflict messages as staging/src/k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager
(internal/conflict.go: NewConflictError, getConflictMessage, printManager).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
from dataclasses import dataclass
from typing import Any

from . import fields
from .errors import ApiError, Cause
from .fields import FieldSet, Path

Obj = dict[str, Any]


@dataclass
class Manager:
    """One ``managedFields`` entry."""

    name: str
    operation: str
    api_version: str
    fields: FieldSet
    subresource: str = ""
    time: str = ""

    def entry(self) -> Obj:
        out: Obj = {
            "manager": self.name,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields.encode(self.fields),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out

    def describe(self) -> str:
        """printManager: `"name"` (Apply) or `"name" using apps/v1` (Update), subresource named."""
        text = f'"{self.name}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        return f"{text} using {self.api_version}" if self.operation == "Update" else text

    def same(self, name: str, operation: str, subresource: str) -> bool:
        return (self.name, self.operation, self.subresource) == (name, operation, subresource)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_managers(obj: Obj | None) -> list[Manager]:
    if not obj:
        return []
    return [
        Manager(
            e.get("manager", ""),
            e.get("operation", "Update"),
            e.get("apiVersion", ""),
            fields.decode(e.get("fieldsV1") or {}),
            e.get("subresource", ""),
            e.get("time", ""),
        )
        for e in (obj.get("metadata") or {}).get("managedFields") or []
    ]


def write_managers(obj: Obj, managers: list[Manager]) -> None:
    kept = [m.entry() for m in managers if m.fields]
    obj.setdefault("metadata", {})["managedFields"] = kept


def path_text(path: Path) -> str:
    """A field path as structured-merge-diff prints it: ``.spec.containers[name="app"].image``."""
    out = ""
    for element in path:
        kind, text = element[0], element[2:]
        if kind == "f":
            out += "." + text
        elif kind == "k":
            keys = json.loads(text)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif kind == "v":
            out += f"[={text}]"
        else:
            out += f"[{text}]"
    return out


def merge(live: Any, config: Any, name: str = "") -> Any:
    """``config`` merged into ``live``: maps field by field, associative lists item by key."""
    if isinstance(live, dict) and isinstance(config, dict):
        out = dict(live)
        for key, value in config.items():
            out[key] = merge(live[key], value, key) if key in live else copy.deepcopy(value)
        return out
    if isinstance(live, list) and isinstance(config, list):
        keys = fields.list_keys(name, config or live)
        if keys == "set":
            return live + [copy.deepcopy(v) for v in config if v not in live]
        if isinstance(keys, tuple):
            return _merge_items(live, config, keys)
    return copy.deepcopy(config)


def _merge_items(live: list[Any], config: list[Any], keys: tuple[str, ...]) -> list[Any]:
    wanted = {fields.item_key(item, keys): item for item in config}
    out = []
    for item in live:
        key = fields.item_key(item, keys)
        out.append(merge(item, wanted.pop(key), "") if key in wanted else item)
    return out + [copy.deepcopy(item) for item in wanted.values()]


def _leaf_conflicts(live: Obj, config: Obj, applied: FieldSet, others: list[Manager]) -> list[tuple[Path, Manager]]:
    found: list[tuple[Path, Manager]] = []
    for manager in others:
        for path in sorted(applied & manager.fields):
            has_live, live_value = fields.lookup(live, path)
            _, new_value = fields.lookup(config, path)
            is_item = path[-1].startswith(("k:", "v:"))
            if has_live and not is_item and live_value != new_value:
                found.append((path, manager))
    return found


def conflict_error(conflicts: list[tuple[Path, Manager]], group: str, plural: str, name: str) -> ApiError:
    causes = [Cause("FieldManagerConflict", f"conflict with {m.describe()}", path_text(p)) for p, m in conflicts]
    if len(conflicts) == 1:
        path, manager = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {manager.describe()}: {path_text(path)}"
    else:
        lines: list[str] = []
        for described in sorted({m.describe() for _, m in conflicts}):
            lines.append(f"conflicts with {described}:")
            lines += [f"- {path_text(p)}" for p, m in conflicts if m.describe() == described]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, name, group, plural, causes)


@dataclass(frozen=True)
class ApplyRequest:
    """One apply: the applied configuration, its manager, ``force`` and where it goes."""

    config: Obj
    manager: str
    force: bool
    group: str
    plural: str
    with_status: bool = False


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def apply(live: Obj | None, request: ApplyRequest) -> Obj:
    """``request`` applied to ``live``; for manager ``kubectl``, conflicts only on fields of the
    client-side apply annotation are taken over ("Upgrading from client-side apply to server-side
    apply"; apiserver fieldmanager/internal/lastappliedmanager.go)."""
    try:
        return _apply(live, request)
    except ApiError as exc:
        if exc.code != 409 or request.manager != "kubectl" or not live:
            raise
        text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
        if not text:
            raise
        last_applied = {path_text(p) for p in fields.object_fields(json.loads(text))}
        if any(cause.field not in last_applied for cause in exc.causes):
            raise
        return _apply(live, dataclasses.replace(request, force=True))


def _apply(live: Obj | None, request: ApplyRequest) -> Obj:
    """The object after ``request`` is applied to ``live`` (None: created), managedFields updated."""
    base = copy.deepcopy(live) if live else {"apiVersion": request.config.get("apiVersion"), "metadata": {}}
    config = request.config if request.with_status else {k: v for k, v in request.config.items() if k != "status"}
    managers = read_managers(base)
    applied = fields.object_fields(config, with_status=request.with_status)
    own = next((m for m in managers if m.same(request.manager, "Apply", "")), None)
    others = [m for m in managers if m is not own]
    conflicts = _leaf_conflicts(base, config, applied, others)
    if conflicts and not request.force:
        raise conflict_error(conflicts, request.group, request.plural, base["metadata"].get("name", ""))
    for path, manager in conflicts:
        manager.fields.discard(path)
    merged: Obj = merge(base, config)
    previous = own.fields if own else set()
    _remove_dropped(merged, previous - applied, others)
    if own is None:
        own = Manager(request.manager, "Apply", str(config.get("apiVersion", "")), set())
        managers.append(own)
    own.fields, own.time, own.api_version = applied, now(), str(config.get("apiVersion", own.api_version))
    write_managers(merged, managers)
    return merged


def _remove_dropped(obj: Obj, dropped: FieldSet, others: list[Manager]) -> None:
    """Remove fields the applier stopped applying, unless another manager owns them (or under them)."""
    kept = set().union(*(m.fields for m in others)) if others else set()
    for path in sorted(dropped, key=len, reverse=True):
        if any(owned[: len(path)] == path for owned in kept):
            continue
        fields.remove(obj, path)
        _prune_empty_parents(obj, path[:-1], kept)


def _prune_empty_parents(obj: Obj, path: Path, kept: FieldSet) -> None:
    while len(path) > 1:
        found, value = fields.lookup(obj, path)
        if not found or value or any(owned[: len(path)] == path for owned in kept):
            return
        fields.remove(obj, path)
        path = path[:-1]


def _requested_managed_fields(old: Obj | None, new: Obj) -> bool:
    """True when the write set managedFields itself ("Server-Side Apply", Using Server-Side Apply in a
    controller / Clearing managedFields): then they are stored as sent, and ``[{}]`` clears them."""
    requested = new.get("metadata", {}).get("managedFields")
    if requested == [{}]:
        new["metadata"].pop("managedFields")
        return True
    before = (old or {}).get("metadata", {}).get("managedFields")
    return bool(requested) and requested != before


def record_update(old: Obj | None, new: Obj, manager: str, subresource: str = "") -> None:
    """Give ``manager`` (operation Update) the fields this write changed; others lose them."""
    if _requested_managed_fields(old, new):
        return
    with_status = subresource == "status"
    new_fields = fields.status_fields(new) if with_status else fields.object_fields(new)
    changed = {p for p in new_fields if old is None or fields.lookup(old, p) != fields.lookup(new, p)}
    managers = read_managers(old if old is not None else new)
    everything = fields.object_fields(new, with_status=True)
    for m in managers:
        m.fields = {p for p in m.fields if p in everything or _has_prefix_in(p, everything)} - changed
    if changed:
        mine = next((m for m in managers if m.same(manager, "Update", subresource)), None)
        if mine is None:
            mine = Manager(manager, "Update", str(new.get("apiVersion", "")), set(), subresource)
            managers.append(mine)
        mine.fields |= changed
        mine.time = now()
    write_managers(new, managers)


def _has_prefix_in(path: Path, paths: FieldSet) -> bool:
    return any(p[: len(path)] == path for p in paths)
