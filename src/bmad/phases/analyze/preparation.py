"""What every ANALYZE check works from, computed once per run: the manifest bundle, its
validation (and server dry-run), the evaluation context and the readiness report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bmad.config.analyze import AnalyzeConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import BmadError
from bmad.phases.analyze.attestations import Attestations
from bmad.phases.analyze.catalog_run import start_catalog
from bmad.phases.analyze.context import EvalContext, Evidence
from bmad.phases.analyze.manifest_files import MANIFEST_CANDIDATES, load_bundle, manifests_folder, read_options
from bmad.phases.analyze.manifests import Bundle, ManifestObject, ParseFinding
from bmad.phases.analyze.readiness import ReadinessReport
from bmad.phases.analyze.readiness_data import Location
from bmad.phases.analyze.rendered import load_rendered
from bmad.phases.analyze.suppressions import SuppressionSet
from bmad.phases.analyze.validation import ValidationFinding, ValidationReport, validate_bundle
from bmad.phases.gpu_compose_services import compose_gpu_services
from bmad.ports.gpu import GpuProbe
from bmad.ports.phase import PhaseContext
from bmad.ports.renderer import RenderedBundle, kept_bundle_name
from bmad.ports.schemas import SchemaValidator
from bmad.ports.source import SourceHistory
from bmad.ports.target import AccessPreflight, DeploySpec, Target


class DryRunner(Protocol):
    """A server dry-run: the failures it returns, and the objects it could not send yet (``deferred``,
    with the reason: e.g. their namespace is created by this release)."""

    deferred: list[tuple[int, str]]

    def dry_run(self, objects: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]: ...


@datatype(frozen=True)
class AnalyzePorts:
    """What the ANALYZE phase is handed by its wiring."""

    schemas: SchemaValidator | None
    target: Target | None = None
    target_note: str = "no target configured"
    dry_runner: DryRunner | None = None
    dry_run_note: str = "no Kubernetes target configured"
    source: SourceHistory | None = None
    attestations: Callable[[], Attestations] = Attestations
    now: datetime | None = None
    preflight: AccessPreflight | None = None  # the cluster's access review and prune preview
    release: Callable[[], DeploySpec] | None = None  # what DEPLOY will apply (for the preflight)
    rendered: RenderedBundle | None = None  # the rendered kustomization or chart (None: a folder)
    gpu: GpuProbe | None = None  # the host's NVIDIA Container Toolkit (analyze.gpu_host)


@datatype
class Prepared:
    bundle: Bundle
    validation: ValidationReport
    eval_ctx: EvalContext
    report: ReadinessReport
    manifests_dir: str | None


class AnalyzeRun(Protocol):
    """What a check module is handed: the ports and the shared preparation (computed once)."""

    ports: AnalyzePorts

    def prepare(self, ctx: PhaseContext) -> Prepared: ...


def prepare(ctx: PhaseContext, ports: AnalyzePorts) -> Prepared:
    settings = ctx.config.analyze
    rendered = ports.rendered
    folder = None if rendered is not None else manifests_folder(ctx.config, ctx.environment_name)
    if rendered is not None:
        bundle = load_rendered(rendered, default_namespace=settings.default_namespace)
    else:
        bundle = _load_bundle(ctx, folder)
    eval_ctx = EvalContext(
        bundle=bundle,
        settings=settings,
        config=ctx.config,
        environment_name=ctx.environment_name,
        first_deployment=_first_deployment(ctx),
        evidence=Evidence(dict(ctx.previous)),
        attestations=ports.attestations(),
        now=ports.now or datetime.now(UTC),
        dry_run_note=ports.dry_run_note,
        compose=compose_gpu_services(ctx.config, ctx.environment_name),
    )
    suppressions = SuppressionSet(settings.suppressions, today=eval_ctx.today, enabled=not ctx.options.no_suppressions)
    with start_catalog(eval_ctx, suppressions) as evaluation:  # a child evaluates entries meanwhile (large bundles)
        validation = validate_bundle(
            bundle,
            ports.schemas,
            kubernetes_version=settings.kubernetes_version,
            reject_missing_schemas=settings.reject_missing_schemas,
            strict=settings.strict_schemas,
        )
        eval_ctx.schema_results = validation.schema_results if ports.schemas is not None else None
        _server_dry_run(ports.dry_runner, settings, eval_ctx, validation)
        report = evaluation.report()
    return Prepared(bundle, validation, eval_ctx, report, _bundle_path(ctx, rendered, folder))


def _bundle_path(ctx: PhaseContext, rendered: RenderedBundle | None, folder: Path | None) -> str | None:
    """What ``kubectl -f`` takes for this bundle: the folder, or the rendered bundle kept in the evidence."""
    if rendered is not None:
        return str(ctx.evidence.root / kept_bundle_name("analyze"))
    return str(folder) if folder else None


def _load_bundle(ctx: PhaseContext, folder: Path | None) -> Bundle:
    if folder is not None and folder.exists():
        return load_bundle([folder], **read_options(ctx.config))
    bundle = Bundle(source=str(folder) if folder else "(no manifests folder)")
    where = str(folder) if folder else ", ".join(MANIFEST_CANDIDATES)
    bundle.findings.append(
        ParseFinding(where, f"no manifests found (looked in {where}); set analyze.manifests", "unreadable")
    )
    return bundle


def _server_dry_run(
    runner: DryRunner | None, settings: AnalyzeConfig, eval_ctx: EvalContext, validation: ValidationReport
) -> None:
    """Run the server dry-run when a cluster is configured and record its outcome on both reports."""
    bundle = eval_ctx.bundle
    failures: list[tuple[int, str]] | None = None
    if runner is not None and settings.server_dry_run and bundle.objects:
        try:
            failures = runner.dry_run([o.data for o in bundle.objects])
        except BmadError as exc:
            eval_ctx.dry_run_error = str(exc)
            validation.dry_run = f"could not run: {exc}"
            validation.findings.append(
                ValidationFinding(None, None, f"server dry-run could not run: {exc}", "dry_run", "warning")
            )
    if failures is not None:
        _record_dry_run(failures, list(runner.deferred) if runner is not None else [], eval_ctx, validation)
    elif eval_ctx.dry_run_error is not None:
        pass
    elif not settings.server_dry_run:
        eval_ctx.dry_run_note = "disabled (analyze.server_dry_run: false)"
        validation.dry_run = eval_ctx.dry_run_note
    else:
        validation.dry_run = f"not run: {eval_ctx.dry_run_note}"


def _record_dry_run(
    failures: list[tuple[int, str]],
    deferred: list[tuple[int, str]],
    eval_ctx: EvalContext,
    validation: ValidationReport,
) -> None:
    """Rejections are errors; objects the dry-run could not send yet are warnings naming the reason."""
    objects = eval_ctx.bundle.objects
    eval_ctx.dry_run = []
    for index, message in failures:
        eval_ctx.dry_run.append((_location(objects[index]), message))
    accepted = len(objects) - len(failures) - len(deferred)
    validation.dry_run = f"{accepted}/{len(objects)} accepted" + (f", {len(deferred)} deferred" if deferred else "")
    for loc, message in eval_ctx.dry_run:
        validation.findings.append(
            ValidationFinding(loc.file, loc.line, f"dry-run: {message}", "dry_run", "error", loc.logical)
        )
    for index, reason in deferred:
        loc = _location(objects[index])
        validation.findings.append(
            ValidationFinding(loc.file, loc.line, f"not dry-run yet: {reason}", "dry_run", "warning", loc.logical)
        )


def _location(obj: ManifestObject) -> Location:
    return Location(obj.namespace, obj.kind, obj.name, None, obj.file, obj.line)


def _first_deployment(ctx: PhaseContext) -> bool:
    """No release of this service was ever deployed to the environment (per the ledger)."""
    try:
        return ctx.history.last_deployed() is None
    except Exception:  # no history port or ledger: do not guess "first"
        return False
