"""Helpers shared by evaluators of several scopes (security contexts, images, volumes, references).

The secret-name and secret-value patterns live here as they were in the single evaluators module;
they are used by the container and object evaluators.
"""

from __future__ import annotations

from typing import Any

from bmad.core.secrets import SECRET_KEY_NAME, find_secret_value
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.registry import FieldPath
from bmad.phases.analyze.manifests import ManifestObject, dig

# One registry of secret shapes and names (core.secrets): what ANALYZE flags, redaction masks.
SECRET_NAME = SECRET_KEY_NAME


def looks_like_secret_value(value: str) -> bool:
    return find_secret_value(value) is not None


def container_sc(container: dict[str, Any]) -> dict[str, Any]:
    value = container.get("securityContext")
    return value if isinstance(value, dict) else {}


def pod_sc(obj: ManifestObject) -> dict[str, Any]:
    value = (obj.pod_spec or {}).get("securityContext")
    return value if isinstance(value, dict) else {}


def resources_of(container: dict[str, Any], kind: str) -> dict[str, Any]:
    value = dig(container, ("resources", kind))
    return value if isinstance(value, dict) else {}


def is_job(obj: ManifestObject) -> bool:
    return obj.kind in ("Job", "CronJob")


def is_long_running(obj: ManifestObject) -> bool:
    return obj.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod")


def image_parts(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


def pod_volumes(obj: ManifestObject) -> list[tuple[int, dict[str, Any]]]:
    volumes = (obj.pod_spec or {}).get("volumes")
    if not isinstance(volumes, list):
        return []
    return [(i, v) for i, v in enumerate(volumes) if isinstance(v, dict)]


def volume_path(obj: ManifestObject, index: int) -> FieldPath:
    return (*(obj.pod_spec_path or ()), "volumes", index)


def pod_path(obj: ManifestObject, *rest: str | int) -> FieldPath:
    return (*(obj.pod_spec_path or ()), *rest)


def ports_of(container: dict[str, Any]) -> list[dict[str, Any]]:
    ports = container.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def references_of(obj: ManifestObject, what: str) -> list[tuple[str, FieldPath, bool]]:
    """(name, path, optional) of ConfigMaps/Secrets/PVCs a pod template references."""
    found: list[tuple[str, FieldPath, bool]] = []
    key_ref = "configMapKeyRef" if what == "configmap" else "secretKeyRef"
    env_ref = "configMapRef" if what == "configmap" else "secretRef"
    for c, path in obj.containers():
        for index, item in enumerate(c.get("env") or []):
            ref = dig(item, ("valueFrom", key_ref)) if isinstance(item, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                found.append((str(ref["name"]), (*path, "env", index), bool(ref.get("optional"))))
        for index, item in enumerate(c.get("envFrom") or []):
            ref = item.get(env_ref) if isinstance(item, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                found.append((str(ref["name"]), (*path, "envFrom", index), bool(ref.get("optional"))))
    for index, volume in pod_volumes(obj):
        where = volume_path(obj, index)
        if what == "configmap" and isinstance(volume.get("configMap"), dict):
            ref = volume["configMap"]
            found.append((str(ref.get("name")), where, bool(ref.get("optional"))))
        if what == "secret" and isinstance(volume.get("secret"), dict):
            ref = volume["secret"]
            found.append((str(ref.get("secretName")), where, bool(ref.get("optional"))))
        if what == "pvc" and isinstance(volume.get("persistentVolumeClaim"), dict):
            found.append((str(volume["persistentVolumeClaim"].get("claimName")), where, False))
        for source_index, source in enumerate(dig(volume, ("projected", "sources")) or []):
            key = "configMap" if what == "configmap" else "secret"
            ref = source.get(key) if isinstance(source, dict) else None
            if isinstance(ref, dict) and what in ("configmap", "secret"):
                found.append(
                    (str(ref.get("name")), (*where, "projected", "sources", source_index), bool(ref.get("optional")))
                )
    if what == "secret":
        for index, item in enumerate((obj.pod_spec or {}).get("imagePullSecrets") or []):
            if isinstance(item, dict) and item.get("name"):
                found.append((str(item["name"]), pod_path(obj, "imagePullSecrets", index), False))
    return found


def replica_count(obj: ManifestObject, ctx: EvalContext) -> int:
    """Replicas the workload runs at least: its HPA's minReplicas, else spec.replicas, else 1."""
    hpas = ctx.bundle.hpas_targeting(obj)
    if hpas:
        value = hpas[0].spec().get("minReplicas", 1)
        return value if isinstance(value, int) else 1
    return obj.replicas if obj.replicas is not None else 1
