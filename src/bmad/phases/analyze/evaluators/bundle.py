"""Evaluators run once on the bundle as a whole.

Signature: ``fn(ctx, params)``; may return a list of ``(Location, Fail)`` (empty list = pass).
"""

from __future__ import annotations

from typing import Any

from bmad.core.models import PhaseName
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators.common import image_parts
from bmad.phases.analyze.evaluators.registry import FieldPath, Params, register
from bmad.phases.analyze.manifests import ManifestObject, dig
from bmad.phases.analyze.readiness_data import NA, Fail, Location, Scope, Skip, Verdict


@register("backup_for_state", Scope.BUNDLE)
def backup_for_state(ctx: EvalContext, p: Params) -> Verdict:
    stateful = ctx.bundle.of_kind("StatefulSet", "PersistentVolumeClaim")
    if not stateful:
        return NA("the bundle holds no persistent data (no StatefulSet or PVC)")
    for job in ctx.bundle.of_kind("CronJob"):
        text = f"{job.name} {job.labels}".lower()
        if "backup" in text or "snapshot" in text:
            return None
    ok, message = ctx.attestations.check(p["attestation"], ctx.today)
    if ok:
        return None
    return Fail(f"persistent data without a backup CronJob, and {message}")


@register("parse_ok", Scope.BUNDLE)
def parse_ok(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    codes = set(p["codes"])
    return [(Location(file=f.file, line=f.line), Fail(f.message)) for f in ctx.bundle.findings if f.code in codes]


@register("schema_valid", Scope.BUNDLE, after_validation=True)
def schema_valid(ctx: EvalContext, p: Params) -> Any:
    if ctx.schema_results is None:
        return Skip("schema validation did not run")
    wanted = p["status"]
    failures = []
    for index, outcome in ctx.schema_results.items():
        if outcome.status != wanted:
            continue
        obj = ctx.bundle.objects[index]
        if wanted == "invalid":
            for error in outcome.errors[:5]:
                where = ".".join(map(str, error.path)) or "(object)"
                failures.append((_loc(obj, error.path), Fail(f"{where}: {error.message}", error.path)))
        else:
            failures.append((_loc(obj, ()), Fail(outcome.reason or outcome.status)))
    if wanted == "skipped" and not ctx.settings.reject_missing_schemas and failures:
        return NA(f"{len(failures)} custom resource(s) without a schema (analyze.reject_missing_schemas: false)")
    return failures


def _loc(obj: ManifestObject, path: FieldPath) -> Location:
    return Location(obj.namespace, obj.kind, obj.name, None, obj.file, obj.line_of(path))


@register("has_workload", Scope.BUNDLE)
def has_workload(ctx: EvalContext, p: Params) -> Verdict:
    if not ctx.bundle.workloads:
        return Fail(f"no workload (Deployment, StatefulSet, ...) found in {ctx.bundle.source or 'the manifests'}")
    return None


@register("duplicate_objects", Scope.BUNDLE)
def duplicate_objects(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    seen: dict[tuple[str, str, str], ManifestObject] = {}
    failures = []
    for obj in ctx.bundle.objects:
        if not obj.kind or not obj.name:
            continue
        if obj.key in seen:
            first = seen[obj.key]
            failures.append((_loc(obj, ()), Fail(f"{obj.ref} is defined twice (first in {first.file}:{first.line})")))
        else:
            seen[obj.key] = obj
    return failures


@register("ingress_hosts_unique", Scope.BUNDLE)
def ingress_hosts_unique(ctx: EvalContext, p: Params) -> list[tuple[Location, Fail]]:
    seen: dict[tuple[str, str], str] = {}
    failures = []
    for ing in ctx.bundle.of_kind("Ingress"):
        for index, rule in enumerate(ing.spec().get("rules") or []):
            if not isinstance(rule, dict):
                continue
            for path_item in dig(rule, ("http", "paths")) or []:
                key = (str(rule.get("host", "*")), str((path_item or {}).get("path", "/")))
                if key in seen and seen[key] != ing.name:
                    failures.append(
                        (
                            _loc(ing, ("spec", "rules", index)),
                            Fail(f"host {key[0]} path {key[1]} also routed by {seen[key]}"),
                        )
                    )
                seen.setdefault(key, ing.name)
    return failures


@register("namespace_object", Scope.BUNDLE)
def namespace_object(ctx: EvalContext, p: Params) -> Any:
    namespaces = {w.namespace for w in ctx.bundle.workloads if w.namespace}
    if not namespaces:
        return NA("no namespaced workloads")
    failures = []
    for ns in sorted(namespaces):
        if not any((o.namespace == ns) for o in ctx.bundle.of_kind(p["kind"])):
            failures.append(
                (Location(namespace=ns, kind="Namespace", name=ns), Fail(f"namespace {ns} has no {p['kind']}"))
            )
    return failures


@register("images_match_release", Scope.BUNDLE)
def images_match_release(ctx: EvalContext, p: Params) -> Any:
    found, image = ctx.evidence.lookup(PhaseName.BUILD, "image")
    if not found or not isinstance(image, str):
        found, image = ctx.evidence.lookup(PhaseName.BUILD, "image_ref")
    if not found or not isinstance(image, str):
        return Skip("BUILD recorded no image reference for this release")
    repo = image_parts(image)[0].rsplit("/", 1)[-1]
    for workload in ctx.bundle.workloads:
        for c, _ in workload.containers(init=False):
            if image_parts(str(c.get("image", "")))[0].rsplit("/", 1)[-1] == repo:
                return None
    return Fail(f"no container runs the release image {repo} built by BUILD")


@register("health_path_probe", Scope.BUNDLE)
def health_path_probe(ctx: EvalContext, p: Params) -> Verdict:
    if ctx.config is None:
        return Skip("no bmad.yaml loaded")
    wanted = ctx.config.deploy.health_path
    paths = set()
    for workload in ctx.bundle.workloads:
        for c, _ in workload.containers(init=False):
            for name in ("readinessProbe", "livenessProbe", "startupProbe"):
                value = dig(c, (name, "httpGet", "path"))
                if value:
                    paths.add(str(value))
    if not paths:
        return NA("no HTTP probes in the bundle")
    if wanted not in paths:
        return Fail(
            f"deploy.health_path {wanted} is not probed by any container (probes use {', '.join(sorted(paths))})"
        )
    return None


@register("dry_run_ok", Scope.BUNDLE, after_validation=True)
def dry_run_ok(ctx: EvalContext, p: Params) -> Any:
    if ctx.dry_run_error is not None:
        return Skip(f"server dry-run could not run: {ctx.dry_run_error}")
    if ctx.dry_run is None:
        return NA(ctx.dry_run_note)
    return [(loc, Fail(message)) for loc, message in ctx.dry_run]


@register("crs_have_schema", Scope.BUNDLE, after_validation=True)
def crs_have_schema(ctx: EvalContext, p: Params) -> Any:
    return schema_valid(ctx, {"status": "skipped"})
