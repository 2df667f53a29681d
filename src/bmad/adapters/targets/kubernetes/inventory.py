"""What each release applied: a labelled inventory ConfigMap per service in its namespace.

``data["releases.json"]`` lists the last releases, newest last, each with the references of the
objects it applied and its rendered bundle (digests pinned, HPA-owned replicas dropped, Secrets left
out: their values are never stored). Pruning compares the newest two; a whole-release rollback
re-applies an older entry's bundle and deletes what the failed one added. The ConfigMap is written
with create / replace and its resourceVersion, so two concurrent writers cannot lose an entry.
"""

from __future__ import annotations

import json
from typing import Any

from bmad.core.datatypes import datatype

from .bundle import NEVER_DELETED, ObjectRef, storable
from .client import KubeApi

KEEP = 5
MAX_BYTES = 900_000  # a ConfigMap holds at most 1 MiB
DATA_KEY = "releases.json"
INVENTORY_LABEL = "bmad.dev/inventory"


@datatype(frozen=True)
class ReleaseEntry:
    """One release in the inventory: the objects it applied and the bundle a rollback applies again."""

    release: str
    objects: tuple[ObjectRef, ...]
    bundle: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release, "objects": [o.to_dict() for o in self.objects], "bundle": list(self.bundle)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReleaseEntry:
        return cls(
            str(data.get("release") or ""),
            tuple(ObjectRef.from_dict(o) for o in data.get("objects") or []),
            tuple(data.get("bundle") or []),
        )

    @classmethod
    def of(cls, release: str, bundle: list[dict[str, Any]]) -> ReleaseEntry:
        return cls(release, tuple(ObjectRef.of(o) for o in bundle), tuple(storable(bundle)))


def removable(old: ReleaseEntry, new: ReleaseEntry) -> list[ObjectRef]:
    """Objects of ``old`` that ``new`` no longer has (never Namespaces nor CRDs)."""
    return prunable([old], new)


def prunable(older: list[ReleaseEntry], new: ReleaseEntry) -> list[ObjectRef]:
    """Objects any earlier release applied that ``new`` no longer has (never Namespaces nor CRDs)."""
    keep = {(o.kind, o.name, o.namespace) for o in new.objects}
    found = [o for e in older for o in e.objects if o.kind not in NEVER_DELETED]
    return list(dict.fromkeys(o for o in found if (o.kind, o.name, o.namespace) not in keep))


def fitting(entries: list[ReleaseEntry], limit: int = MAX_BYTES) -> str:
    """The entries as JSON within a ConfigMap's size limit: the oldest go first; a release whose
    bundle alone is too large keeps only its object references (its rollback restores the template)."""
    kept = list(entries)
    while True:
        text = json.dumps([e.to_dict() for e in kept], sort_keys=True)
        if len(text.encode()) <= limit:
            return text
        if len(kept) > 1:
            kept.pop(0)
        elif kept[0].bundle:
            kept = [ReleaseEntry(kept[0].release, kept[0].objects, ())]
        else:
            return "[]"


class Inventory:
    """Read and write one service's inventory ConfigMap."""

    def __init__(self, api: KubeApi, namespace: str, service: str) -> None:
        self.api = api
        self.namespace = namespace
        self.name = f"bmad-inventory-{service}"
        self.service = service

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("v1", "ConfigMap", self.name, self.namespace)

    def _path(self, name: str | None) -> str:
        return self.api.object_path("v1", "ConfigMap", name, self.namespace)

    def _read(self) -> tuple[list[ReleaseEntry], str | None]:
        live = self.api.request("GET", self._path(self.name), missing_ok=True)
        if not isinstance(live, dict):
            return [], None
        try:
            raw = json.loads((live.get("data") or {}).get(DATA_KEY) or "[]")
        except ValueError:
            raw = []
        version = (live.get("metadata") or {}).get("resourceVersion")
        return [ReleaseEntry.from_dict(e) for e in raw if isinstance(e, dict)], version

    def entries(self) -> list[ReleaseEntry]:
        return self._read()[0]

    def find(self, release: str) -> ReleaseEntry | None:
        return next((e for e in reversed(self.entries()) if e.release == release), None)

    def record(self, entry: ReleaseEntry) -> list[ReleaseEntry]:
        """Make ``entry`` the newest; returns the entries of earlier releases (oldest first)."""
        entries, version = self._read()
        older = [e for e in entries if e.release != entry.release]
        self._write([*older[-(KEEP - 1) :], entry], version)
        return older

    def restore(self, entry: ReleaseEntry) -> None:
        """After a rollback to ``entry``: entries newer than it are dropped, it is the newest again."""
        entries, version = self._read()
        index = next((i for i, e in enumerate(entries) if e.release == entry.release), len(entries))
        self._write([*entries[:index], entry], version)

    def _write(self, entries: list[ReleaseEntry], version: str | None) -> None:
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "bmad", INVENTORY_LABEL: self.service},
            },
            "data": {DATA_KEY: fitting(entries)},
        }
        if version is None:
            self.api.request("POST", self._path(None), body=body)
            return
        body["metadata"]["resourceVersion"] = version
        self.api.request("PUT", self._path(self.name), body=body)
