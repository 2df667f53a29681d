"""Wiring for the ANALYZE phase: schema validator, target (secrets, snapshot, dry-run), git history."""

from __future__ import annotations

from typing import Any

from bmad.config.models import BmadConfig
from bmad.core.errors import BmadError, UsageError
from bmad.ports.phase import PhaseContext, PhasePlugin
from bmad.ports.target import AccessPreflight, DeploySpec


def start_early_parse(config: BmadConfig, environment: str) -> None:
    """Begin ANALYZE's read of a large manifests folder in a forked child now (``bmad analyze``: while
    the ledger opens, the gate is checked and the phase is imported); the phase claims it, or
    :func:`stop_early_parse` stops it. Nothing for a rendered bundle (helm, kustomize: rendered later)."""
    from bmad.engine.wiring.bundle_source import renders

    if renders(config, environment):
        return
    from bmad.phases.analyze.manifest_files import manifests_folder, read_options, start_early

    folder = manifests_folder(config, environment)
    if folder is not None and folder.is_dir():
        start_early([folder], **read_options(config))


def stop_early_parse() -> None:
    """Stop a read :func:`start_early_parse` began that the phase did not claim (the gate refused it)."""
    from bmad.phases.analyze.manifest_files import stop_early

    stop_early()


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    from bmad.adapters.git_history import GitHistory
    from bmad.adapters.gpu_host import HostGpuProbe
    from bmad.adapters.kube_validate import BundledSchemaValidator
    from bmad.core.files import user_cache_dir
    from bmad.engine.wiring.bundle_source import keep_rendered, render_bundle
    from bmad.phases.analyze import AnalyzePhase
    from bmad.phases.analyze.attestations import load_attestations

    config = ctx.config
    settings = config.analyze
    rendered = render_bundle(config, ctx.environment_name)  # a render error stops here, before any check
    keep_rendered(ctx, rendered, "analyze")
    schemas = BundledSchemaValidator(
        settings.kubernetes_version,
        strict=settings.strict_schemas,
        extra_schema_dirs=[config.resolve_path(p) for p in settings.crd_schemas],
        cache_dir=user_cache_dir() / "schemas",
    )
    target: Any = None
    target_note = "no target configured"
    dry_runner = None
    preflight: AccessPreflight | None = None
    dry_run_note = "no Kubernetes target configured (environments.<env>.target.kind: kubernetes)"
    try:
        from bmad.engine.wiring.deploy import make_target

        target = make_target(config, ctx.environment_name, options=ctx.options)
    except BmadError as exc:
        target_note = f"target unavailable: {exc}"
    except ImportError:  # pragma: no cover - DEPLOY wiring not installed
        target_note = "no target adapter installed"
    if target is not None and getattr(target, "kind", None) == "kubernetes" and hasattr(target, "api"):
        dry_runner = _kubernetes_dry_run(ctx, target)
        preflight = target
    repo = config.repository_dir
    source = GitHistory(repo) if any((p / ".git").exists() for p in (repo, *repo.parents)) else None
    attestations_path = config.resolve_path(settings.attestations)
    return AnalyzePhase(
        schemas=schemas,
        target=target,
        target_note=target_note,
        dry_runner=dry_runner,
        dry_run_note=dry_run_note,
        source=source,
        attestations=lambda: load_attestations(attestations_path),
        preflight=preflight,
        release=lambda: release_spec(ctx),
        rendered=rendered,
        gpu=HostGpuProbe(),
    )


def release_spec(ctx: PhaseContext) -> DeploySpec:
    """What DEPLOY will apply; before BUILD pushed a digest, the image unpinned (enough for an access review)."""
    from bmad.engine.wiring.deploy import image_for, load_manifests, make_spec

    try:
        return make_spec(ctx)
    except UsageError:  # no digest yet
        config = ctx.config
        return DeploySpec(
            service=config.service.name,
            environment=ctx.environment_name,
            version=ctx.release.version,
            image=image_for(ctx)[0],
            digest="",
            manifests=load_manifests(config, ctx.environment_name),
            health_path=config.deploy.health_path,
        )


def _kubernetes_dry_run(ctx: PhaseContext, target: Any) -> Any:
    """The server dry-run of what DEPLOY will apply: the target's prepared, digest-pinned bundle,
    in the namespace DEPLOY will use (bmad.yaml, else the kubeconfig context, else the manifests)."""
    from dataclasses import replace

    from bmad.adapters.kube_validate import ServerDryRun
    from bmad.engine.wiring.deploy import make_spec

    settings = ctx.config.environment(ctx.environment_name).target.kubernetes
    try:
        spec = make_spec(ctx)
    except BmadError:
        spec = None  # no digest yet (BUILD has not run): the objects are dry-run as written

    def prepare(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if spec is None:
            return objects
        try:
            prepared = target.dry_run_bundle(replace(spec, manifests=tuple(objects)))
        except BmadError:
            return objects
        by_key = {(o.get("kind"), (o.get("metadata") or {}).get("name")): o for o in prepared}
        return [by_key.get((o.get("kind"), (o.get("metadata") or {}).get("name")), o) for o in objects]

    return ServerDryRun(
        lambda: target.api,
        namespace=lambda: target.namespace,
        force=target.config.force_conflicts,
        prepare=prepare,
        scratch_namespace=settings.dry_run_namespace,
        creates_namespace=settings.create_namespace,
    )
