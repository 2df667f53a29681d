"""Which Secrets (and keys) the release needs, and whether the target has them.

Only names and key names are handled: values are never read, logged, stored or compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from typing import Any, Protocol

from bmad.config.analyze import AnalyzeConfig
from bmad.core.datatypes import datatype
from bmad.phases.analyze.manifests import Bundle, dig


class SecretKeySource(Protocol):
    def secret_keys(self, name: str, *, namespace: str | None = None) -> set[str] | None: ...


@datatype
class SecretRequirement:
    name: str
    namespace: str | None
    keys: set[str] = field(default_factory=set)
    used_by: list[str] = field(default_factory=list)
    optional: bool = True  # becomes False as soon as one reference is mandatory

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "keys": sorted(self.keys),
            "used_by": sorted(set(self.used_by)),
            "optional": self.optional,
        }


@datatype
class SecretStatus:
    requirement: SecretRequirement
    source: str  # target | bundle | optional
    exists: bool
    missing_keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.exists and not self.missing_keys) or (self.requirement.optional and not self.exists)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.requirement.to_dict(),
            "source": self.source,
            "exists": self.exists,
            "missing_keys": self.missing_keys,
            "ok": self.ok,
        }


def secret_requirements(bundle: Bundle, settings: AnalyzeConfig) -> list[SecretRequirement]:
    """Every Secret referenced by env, envFrom, volumes (incl. projected) and imagePullSecrets,
    plus ``analyze.required_secrets``."""
    found: dict[tuple[str, str | None], SecretRequirement] = {}

    def need(name: str, namespace: str | None, user: str, *, key: str | None = None, optional: bool = False) -> None:
        req = found.setdefault((name, namespace), SecretRequirement(name, namespace))
        req.used_by.append(user)
        if key:
            req.keys.add(key)
        if not optional:
            req.optional = False

    for obj in bundle.workloads:
        ns = obj.namespace
        user = f"{obj.kind}/{obj.name}"
        for c, _ in obj.containers():
            for item in c.get("env") or []:
                ref = dig(item, ("valueFrom", "secretKeyRef")) if isinstance(item, dict) else None
                if isinstance(ref, dict) and ref.get("name"):
                    need(str(ref["name"]), ns, user, key=ref.get("key"), optional=bool(ref.get("optional")))
            for item in c.get("envFrom") or []:
                ref = item.get("secretRef") if isinstance(item, dict) else None
                if isinstance(ref, dict) and ref.get("name"):
                    need(str(ref["name"]), ns, user, optional=bool(ref.get("optional")))
        for volume in (obj.pod_spec or {}).get("volumes") or []:
            if not isinstance(volume, dict):
                continue
            sources: list[dict[str, Any]] = []
            if isinstance(volume.get("secret"), dict):
                src = volume["secret"]
                sources.append(
                    {"name": src.get("secretName"), "items": src.get("items"), "optional": src.get("optional")}
                )
            for projected in dig(volume, ("projected", "sources")) or []:
                if isinstance(projected, dict) and isinstance(projected.get("secret"), dict):
                    sources.append(projected["secret"])
            for src in sources:
                if not src.get("name"):
                    continue
                keys = [i.get("key") for i in src.get("items") or [] if isinstance(i, dict) and i.get("key")]
                need(str(src["name"]), ns, user, optional=bool(src.get("optional")))
                for key in keys:
                    found[(str(src["name"]), ns)].keys.add(str(key))
        for item in (obj.pod_spec or {}).get("imagePullSecrets") or []:
            if isinstance(item, dict) and item.get("name"):
                need(str(item["name"]), ns, user)
    for required in settings.required_secrets:
        namespace = required.namespace or _only_namespace(found, required.name)
        req = found.setdefault((required.name, namespace), SecretRequirement(required.name, namespace))
        req.keys.update(required.keys)
        req.used_by.append("bmad.yaml analyze.required_secrets")
        req.optional = False
    return sorted(found.values(), key=lambda r: (r.namespace or "", r.name))


def _only_namespace(found: dict[tuple[str, str | None], SecretRequirement], name: str) -> str | None:
    namespaces = {ns for (n, ns) in found if n == name}
    return next(iter(namespaces)) if len(namespaces) == 1 else None


def check_secrets(
    requirements: Sequence[SecretRequirement], bundle: Bundle, target: SecretKeySource
) -> list[SecretStatus]:
    statuses = []
    for req in requirements:
        in_bundle = bundle.find("Secret", req.name, req.namespace)
        if in_bundle is not None:
            keys = set(in_bundle.data.get("data") or {}) | set(in_bundle.data.get("stringData") or {})
            statuses.append(SecretStatus(req, "bundle", True, sorted(req.keys - keys)))
            continue
        keys_found = target.secret_keys(req.name, namespace=req.namespace)
        if keys_found is None:
            statuses.append(SecretStatus(req, "optional" if req.optional else "target", False, sorted(req.keys)))
        else:
            statuses.append(SecretStatus(req, "target", True, sorted(req.keys - set(keys_found))))
    return statuses
