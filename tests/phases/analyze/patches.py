"""Apply a catalog entry's ``cases`` patches (see ``catalog/schema.py``) to the test baseline.

A patch's field path starts with a root: ``container`` (the web Deployment's first container),
``pod`` (its pod spec), ``web`` (the Deployment), ``settings`` (bmad.yaml's analyze section),
``config`` (the rest of bmad.yaml), ``build.metrics``, ``build.artifacts``, ``measure.metrics``,
``measure.artifacts``, ``compose`` (the environment's compose file), or an object of the bundle as
``Kind`` or ``Kind/name``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from bmad.phases.analyze.catalog.schema import (
    AddPatch,
    AppendPatch,
    CopyPatch,
    DeletePatch,
    DryRunPatch,
    DuplicatePatch,
    Patch,
    RemovePatch,
    SetPatch,
    UnattestPatch,
    YamlPatch,
)
from bmad.phases.analyze.readiness_data import Location
from tests.phases.analyze.fixtures import NS, Knobs, Mutation, Objects, cronjob, find, job, pvc, statefulset, web

FIXTURES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "statefulset": statefulset,
    "cronjob": lambda: [cronjob()],
    "job": lambda: [job()],
    "pvc": lambda: [pvc()],
}
_KNOBS = {
    "settings": lambda k: k.settings,
    "config": lambda k: k.config,
    "build.metrics": lambda k: k.build_metrics,
    "build.artifacts": lambda k: k.build_artifacts,
    "measure.metrics": lambda k: k.measure_metrics,
    "measure.artifacts": lambda k: k.measure_artifacts,
    "compose": lambda k: k.compose,
}


def as_mutation(patches: Sequence[Patch]) -> Mutation:
    """The patches as one mutation for :func:`tests.phases.analyze.fixtures.build`."""

    def run(objects: Objects, knobs: Knobs) -> None:
        for patch in patches:
            apply(patch, objects, knobs)

    return run


def apply(patch: Patch, objects: Objects, knobs: Knobs) -> None:
    if isinstance(patch, SetPatch):
        parent, key = _parent(patch.set, objects, knobs)
        parent[key] = copy.deepcopy(patch.value)
    elif isinstance(patch, DeletePatch):
        parent, key = _parent(patch.delete, objects, knobs)
        parent.pop(key)
    elif isinstance(patch, AppendPatch):
        _resolve(patch.append, objects, knobs).append(copy.deepcopy(patch.value))
    elif isinstance(patch, CopyPatch):
        parent, key = _parent(patch.to, objects, knobs)
        parent[key] = copy.deepcopy(_resolve(patch.copy_, objects, knobs))
    elif isinstance(patch, AddPatch):
        added = FIXTURES[patch.add]() if isinstance(patch.add, str) else [copy.deepcopy(patch.add)]
        objects.extend(added)
    elif isinstance(patch, DuplicatePatch):
        duplicate = copy.deepcopy(find(objects, patch.duplicate))
        if patch.name is not None:
            duplicate["metadata"]["name"] = patch.name
        objects.append(duplicate)
    elif isinstance(patch, RemovePatch):
        objects[:] = [obj for obj in objects if obj["kind"] != patch.remove]
    elif isinstance(patch, UnattestPatch):
        knobs.attested.pop(patch.unattest)
    elif isinstance(patch, YamlPatch):
        knobs.extra_yaml += patch.yaml
    elif isinstance(patch, DryRunPatch):
        knobs.dry_run = [(Location(NS, f.kind, f.name, None, "k8s/all.yaml", f.line), f.message) for f in patch.dry_run]


def _root(name: str, objects: Objects, knobs: Knobs) -> Any:
    if name == "web":
        return web(objects)
    if name == "pod":
        return web(objects)["spec"]["template"]["spec"]
    if name == "container":
        return web(objects)["spec"]["template"]["spec"]["containers"][0]
    if name in _KNOBS:
        return _KNOBS[name](knobs)
    kind, _, object_name = name.partition("/")
    return find(objects, kind, object_name or None)


def _resolve(path: Sequence[str | int], objects: Objects, knobs: Knobs) -> Any:
    root = path[0]
    if not isinstance(root, str):
        raise ValueError(f"a patch path starts with a root name, not {root!r}")
    target = _root(root, objects, knobs)
    for part in path[1:]:
        target = target[part]
    return target


def _parent(path: Sequence[str | int], objects: Objects, knobs: Knobs) -> tuple[Any, Any]:
    if len(path) < 2:
        raise ValueError(f"patch path {list(path)} names no field under its root")
    return _resolve(path[:-1], objects, knobs), path[-1]
