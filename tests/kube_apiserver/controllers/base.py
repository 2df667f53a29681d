"""What every controller uses: system reads and writes (no authorization, as the controller
manager's own credentials allow them) and Events ("Events", core/v1 Event:
https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from typing import Any

from ..apply import now
from ..errors import ApiError
from ..resources import ResourceType
from ..rest import Api
from ..storage import Key
from ..writes import Write, random_suffix
from .runtime import Runtime

Obj = dict[str, Any]
MANAGER = "kube-controller-manager"


def template_hash(template: Obj) -> str:
    """A short stable hash of a pod template (pod-template-hash / controller-revision-hash)."""
    clean = copy.deepcopy(template)
    (clean.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


def owner_ref(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


class Controller:
    """Base: system access to the store through the API's writer."""

    def __init__(self, api: Api, runtime: Runtime) -> None:
        self.api, self.runtime = api, runtime
        self.last_error = ""

    def stop(self) -> None:
        """Release what the controller holds (listeners); most hold nothing."""

    def rt(self, group: str, plural: str) -> ResourceType:
        found = next(t for t in self.api.registry.types if (t.group, t.plural) == (group, plural))
        return found

    def list(self, group: str, plural: str, namespace: str = "") -> list[Obj]:
        """The stored objects themselves (read-only: copy before changing one)."""
        return self.api.store.peek(group, plural, namespace)[0]

    def create(self, group: str, plural: str, obj: Obj, manager: str = MANAGER, owner: Obj | None = None) -> Obj | None:
        """Create ``obj``; on refusal record ``FailedCreate`` (on ``owner`` as ``Error creating: ...``
        when given, as the workload controllers do) and keep the message in ``last_error``."""
        rt = self.rt(group, plural)
        meta = obj["metadata"]
        if not meta.get("name"):
            meta["name"] = meta.pop("generateName", "") + random_suffix()
        key = Key(group, plural, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        try:
            return self.api.writer.create(Write(rt, key, obj, manager)).obj
        except ApiError as exc:
            self.last_error = exc.message
            if owner is not None:
                self.event(owner, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            else:
                self.event(obj, "Warning", "FailedCreate", exc.message)
            return None

    def save(self, obj: Obj, subresource: str = "", manager: str = MANAGER) -> Obj | None:
        group = obj["apiVersion"].rpartition("/")[0]
        rt = self.api.registry.by_kind(obj["apiVersion"], obj["kind"])
        if rt is None:
            return None
        key = Key(group, rt.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        try:
            return self.api.writer.update(Write(rt, key, obj, manager, subresource)).obj
        except ApiError:
            return None

    def set_status(self, obj: Obj, status: Obj) -> Obj | None:
        if obj.get("status") == status:
            return obj
        changed = copy.deepcopy(obj)
        changed["status"] = status
        return self.save(changed, "status")

    def delete(self, obj: Obj) -> None:
        """Delete as the API does (pods get their grace period); gone already is fine."""
        group = obj["apiVersion"].rpartition("/")[0]
        rt = self.api.registry.by_kind(obj["apiVersion"], obj["kind"])
        if rt is not None:
            key = Key(group, rt.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            with contextlib.suppress(ApiError):
                self.api.writer.delete(rt, key, False)

    def event(self, about: Obj, kind: str, reason: str, message: str, component: str = MANAGER) -> None:
        """Record an Event about ``about`` (counted up when the same reason and message repeat)."""
        meta = about["metadata"]
        namespace = meta.get("namespace") or "default"
        name = f"{meta.get('name', '')}.{hashlib.sha256((reason + message).encode()).hexdigest()[:16]}"
        key = Key("", "events", namespace, name)
        stamp = now()
        existing = self.api.store.get(key)
        if existing is not None:
            existing["count"] = int(existing.get("count", 1)) + 1
            existing["lastTimestamp"] = stamp
            self.api.store.put(key, existing)
            return
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": stamp},
            "involvedObject": {
                "apiVersion": about.get("apiVersion"),
                "kind": about.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": component},
            "reportingComponent": component,
        }
        self.api.store.put(key, event)

    def reconcile(self) -> None:
        raise NotImplementedError
