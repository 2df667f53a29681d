"""Manifest validation: parse findings, removed/deprecated apiVersions, schemas, dry-run.

The result feeds the ``kubernetes_manifests_valid`` metric and the schema-related catalog
items. Every finding names the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from bmad.core.datatypes import datatype
from bmad.phases.analyze.manifests import Bundle, ManifestObject, ParseFinding, paused_gc
from bmad.ports.schemas import CustomSchema, SchemaOutcome, SchemaValidator

# (apiVersion, kind) -> (deprecated in, removed in, replacement). Kinds "*" = every kind of the group version.
API_LIFECYCLE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("extensions/v1beta1", "Deployment"): ("1.9", "1.16", "apps/v1"),
    ("extensions/v1beta1", "DaemonSet"): ("1.9", "1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet"): ("1.9", "1.16", "apps/v1"),
    ("extensions/v1beta1", "NetworkPolicy"): ("1.9", "1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): ("1.10", "1.16", "policy/v1beta1 (itself removed in 1.25)"),
    ("extensions/v1beta1", "Ingress"): ("1.14", "1.22", "networking.k8s.io/v1"),
    ("apps/v1beta1", "*"): ("1.9", "1.16", "apps/v1"),
    ("apps/v1beta2", "*"): ("1.9", "1.16", "apps/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): ("1.19", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): ("1.19", "1.22", "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): ("1.17", "1.22", "rbac.authorization.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1alpha1", "*"): ("1.17", "1.22", "rbac.authorization.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): ("1.16", "1.22", "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): ("1.16", "1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "*"): ("1.19", "1.22", "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "*"): ("1.19", "1.22", "authentication.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "*"): ("1.19", "1.22", "authorization.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): ("1.19", "1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): ("1.19", "1.22", "coordination.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): ("1.14", "1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver"): ("1.19", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSINode"): ("1.17", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass"): ("1.6", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): ("1.13", "1.22", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ("1.24", "1.27", "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob"): ("1.21", "1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): ("1.21", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): ("1.19", "1.25", "events.k8s.io/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("1.21", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): ("1.21", "1.25", "Pod Security Admission"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): ("1.20", "1.25", "node.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): ("1.22", "1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): ("1.23", "1.26", "autoscaling/v2"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): ("1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): ("1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): ("1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1"),
    ("autoscaling/v2beta2", "*"): ("1.23", "1.26", "autoscaling/v2"),
    ("resource.k8s.io/v1alpha2", "*"): ("1.31", "1.31", "resource.k8s.io/v1beta1"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy"): (
        "1.30",
        "1.32",
        "admissionregistration.k8s.io/v1",
    ),
}


def _minor(version: str) -> tuple[int, int]:
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]]
    return (parts[0], parts[1]) if len(parts) == 2 else (1, 0)


def api_status(api_version: str, kind: str, target_version: str) -> tuple[str, str, str] | None:
    """('removed'|'deprecated', replacement, removed-in) for the target version, or None if current."""
    entry = API_LIFECYCLE.get((api_version, kind)) or API_LIFECYCLE.get((api_version, "*"))
    if entry is None:
        return None
    deprecated, removed, replacement = entry
    target = _minor(target_version)
    if target >= _minor(removed):
        return ("removed", replacement, removed)
    if target >= _minor(deprecated):
        return ("deprecated", replacement, removed)
    return None


@datatype(frozen=True)
class ValidationFinding:
    file: str | None
    line: int | None
    message: str
    code: str  # parse code, schema, unknown_kind, removed_api, deprecated_api, no_schema, dry_run
    level: str  # error | warning | note
    object: str | None = None  # namespace/Kind/name

    @property
    def where(self) -> str:
        """``file:line``; the file alone when no line applies (a binary or oversized file, an alias bomb)."""
        file = self.file or self.object or "the bundle"
        return f"{file}:{self.line}" if self.line is not None else file

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "code": self.code,
            "level": self.level,
            "object": self.object,
        }


@datatype
class ValidationReport:
    kubernetes_version: str
    findings: list[ValidationFinding] = field(default_factory=list)
    schema_results: dict[int, SchemaOutcome] = field(default_factory=dict)
    objects: int = 0
    valid: int = 0
    invalid: int = 0
    skipped: int = 0
    dry_run: str = "not run"

    @property
    def errors(self) -> list[ValidationFinding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        return {
            "kubernetes_version": self.kubernetes_version,
            "objects": self.objects,
            "valid": self.valid,
            "invalid": self.invalid,
            "skipped_no_schema": self.skipped,
            "errors": len(self.errors),
            "warnings": sum(1 for f in self.findings if f.level == "warning"),
            "dry_run": self.dry_run,
        }


def _parse_level(finding: ParseFinding, strict: bool) -> str:
    """Every reading problem is an error, but a duplicated key only in strict mode (as other validators do)."""
    return "warning" if finding.code == "duplicate_key" and not strict else "error"


def custom_schemas_from_crds(bundle: Bundle) -> list[CustomSchema]:
    """openAPIV3Schema of every served version of each CRD in the bundle."""
    schemas = []
    for crd in bundle.of_kind("CustomResourceDefinition"):
        spec = crd.spec()
        group = spec.get("group")
        kind = (spec.get("names") or {}).get("kind") if isinstance(spec.get("names"), dict) else None
        if not group or not kind:
            continue
        for version in spec.get("versions") or []:
            if not isinstance(version, dict):
                continue
            schema = (
                (version.get("schema") or {}).get("openAPIV3Schema")
                if isinstance(version.get("schema"), dict)
                else None
            )
            if isinstance(schema, Mapping):
                schemas.append(CustomSchema(f"{group}/{version.get('name')}", str(kind), dict(schema)))
    return schemas


def validate_bundle(
    bundle: Bundle,
    validator: SchemaValidator | None,
    *,
    kubernetes_version: str,
    reject_missing_schemas: bool = False,
    strict: bool = True,
) -> ValidationReport:
    """Parse findings + apiVersion lifecycle + schema validation of every object."""
    with paused_gc():
        return _validate(
            bundle,
            validator,
            kubernetes_version=kubernetes_version,
            reject_missing_schemas=reject_missing_schemas,
            strict=strict,
        )


def _validate(
    bundle: Bundle,
    validator: SchemaValidator | None,
    *,
    kubernetes_version: str,
    reject_missing_schemas: bool,
    strict: bool,
) -> ValidationReport:
    report = ValidationReport(kubernetes_version=validator.kubernetes_version if validator else kubernetes_version)
    report.objects = len(bundle.objects)
    for finding in bundle.findings:
        report.findings.append(
            ValidationFinding(
                finding.file, finding.line, finding.message, finding.code, _parse_level(finding, strict), finding.object
            )
        )
    if validator is not None:
        for schema in custom_schemas_from_crds(bundle):
            validator.add_custom_schema(schema)
    for index, obj in enumerate(bundle.objects):
        label = f"{obj.namespace or '_'}/{obj.kind or '?'}/{obj.name or '?'}"
        if not (obj.api_version and obj.kind):  # already reported once, as a missing required field
            report.invalid += 1
            continue
        if _api_removed(report, obj, label, kubernetes_version) or validator is None:
            continue
        outcome = validator.validate(obj.data)
        report.schema_results[index] = outcome
        _record_outcome(report, obj, label, outcome, reject_missing_schemas)
    return report


def _api_removed(report: ValidationReport, obj: ManifestObject, label: str, kubernetes_version: str) -> bool:
    """Record a removed or deprecated apiVersion; True when removed (the object is invalid)."""
    if not (obj.api_version and obj.kind):
        return False
    status = api_status(obj.api_version, obj.kind, kubernetes_version)
    if status is None:
        return False
    state, replacement, removed = status
    level = "error" if state == "removed" else "warning"
    verb = "was removed in" if state == "removed" else "is deprecated; removed in"
    report.findings.append(
        ValidationFinding(
            obj.file,
            obj.line_of(("apiVersion",)),
            f"{obj.api_version} {obj.kind} {verb} Kubernetes {removed}; use {replacement}",
            f"{state}_api",
            level,
            label,
        )
    )
    if state == "removed":
        report.invalid += 1
        return True
    return False


def _record_outcome(
    report: ValidationReport, obj: ManifestObject, label: str, outcome: SchemaOutcome, reject_missing: bool
) -> None:
    if outcome.status == "valid":
        report.valid += 1
    elif outcome.status == "invalid":
        report.invalid += 1
        for error in outcome.errors:
            where = ".".join(str(p) for p in error.path) or "(object)"
            report.findings.append(
                ValidationFinding(
                    obj.file, obj.line_of(error.path), f"{where}: {error.message}", "schema", "error", label
                )
            )
    elif outcome.status == "unknown_kind":
        report.invalid += 1
        report.findings.append(
            ValidationFinding(obj.file, obj.line_of(("kind",)), outcome.reason, "unknown_kind", "error", label)
        )
    else:
        report.skipped += 1
        reason = outcome.reason or "no schema"
        message = (
            f"{reason}: analyze.reject_missing_schemas refuses objects without a schema"
            if reject_missing
            else f"skipped: {reason}"
        )
        report.findings.append(
            ValidationFinding(obj.file, obj.line, message, "no_schema", "error" if reject_missing else "note", label)
        )
