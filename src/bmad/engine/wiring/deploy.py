"""Wiring for the DEPLOY phase: picks the target adapter for the environment and builds the spec.

The image comes from BUILD's artifacts (the repository and the pushed digest); ``options``
``image``/``digest`` override them (``bmad deploy --image ... --digest ...``). ``bmad rollback``
is in :mod:`.deploy_rollback`, ``bmad diagnose`` in :mod:`.deploy_diagnose`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from bmad.config.models import BmadConfig
from bmad.config.secret_refs import resolve_at
from bmad.core.errors import ConfigError, UsageError
from bmad.core.models import PhaseName
from bmad.ports.artifacts import BuildArtifacts
from bmad.ports.gpu import PodGpuView
from bmad.ports.phase import PhaseContext, PhasePlugin, RunOptions
from bmad.ports.target import AutoscalerWatch, DeploySpec, Target


def make_target(
    config: BmadConfig, environment: str, *, client: Any = None, options: RunOptions | None = None
) -> Target:
    """The target adapter an environment names (also used by ``bmad rollback`` / ``diagnose`` / ``status``).

    ``options``: the command line's ``--kubeconfig``, ``--context``, ``--namespace`` and
    ``--force-conflicts`` win over ``target.kubernetes`` in bmad.yaml.
    """
    from bmad.adapters.targets.probe import RequestsProbe

    env_cfg = config.environment(environment)
    target = env_cfg.target
    if target.kind == "kubernetes":
        from bmad.adapters.targets.kubernetes import KubernetesTarget

        given = options or RunOptions()
        settings = target.kubernetes
        if given.force_conflicts:
            settings = dataclasses.replace(settings, force_conflicts=True)
        return KubernetesTarget(
            settings,
            kubeconfig=given.kubeconfig,
            context=given.context,
            namespace=given.namespace,
            probe=RequestsProbe(),
            health_path=config.deploy.health_path,
            base_dir=str(config.base_dir),
            rollback_timeout=config.deploy.rollback_timeout_seconds,
            default_namespace=_manifests_namespace(config, environment),
            helm_release=_helm_release(config, environment),
        )
    if target.local.compose is not None:
        from bmad.adapters.targets.local.compose_mode import ComposeTarget

        return ComposeTarget(
            target.local,
            compose_file=config.resolve_path(target.local.compose.file),
            probe=RequestsProbe(),
            health_path=config.deploy.health_path,
            client=client,
            rollback_timeout=config.deploy.rollback_timeout_seconds,
        )
    from bmad.adapters.targets.local import LocalTarget

    file_sd = target.local.prometheus_file_sd
    return LocalTarget(
        target.local,
        probe=RequestsProbe(),
        health_path=config.deploy.health_path,
        client=client,
        rollback_timeout=config.deploy.rollback_timeout_seconds,
        file_sd_dir=str(config.resolve_path(file_sd)) if file_sd else None,
        scrape_job=config.measure.scrape_job or config.service.name,
    )


def _manifests_namespace(config: BmadConfig, environment: str) -> str | None:
    """The namespace the manifests name (the target's last resort after bmad.yaml and the context)."""
    from bmad.adapters.targets.kubernetes.bundle import bundle_namespace

    try:
        return bundle_namespace(list(load_manifests(config, environment)))
    except ConfigError:
        return None  # DEPLOY reports the manifests' problem itself


def _helm_release(config: BmadConfig, environment: str) -> str | None:
    """The release name of a chart source (bmad refuses to share a namespace with a Helm release of it)."""
    source = config.environment(environment).target.kubernetes.source
    if source.kind != "helm" or source.helm is None:
        return None
    return source.helm.release or config.service.name


def image_for(ctx: PhaseContext) -> tuple[str, str]:
    """(repository, digest) of the release: options first, then BUILD's artifacts."""
    built = BuildArtifacts.of(ctx.previous, PhaseName.BUILD) or BuildArtifacts()
    image = ctx.options.image or built.image
    digest = ctx.options.digest or built.image_digest or ""
    if not image:
        cfg = ctx.config.build
        image = f"{cfg.registry}/{cfg.image or ctx.config.service.name}"
    if "@" in image:  # a full reference: repository@sha256:...
        image, _, pinned = image.partition("@")
        digest = digest or pinned
    return str(image), str(digest)


def load_manifests(config: BmadConfig, environment: str) -> tuple[dict[str, Any], ...]:
    """The Kubernetes bundle: the rendered kustomization or chart, else every YAML document under the
    manifests folder (sorted by file name)."""
    from bmad.core.yaml_limits import safe_load_all_limited
    from bmad.engine.wiring.bundle_source import render_bundle, rendered_objects

    rendered = render_bundle(config, environment)
    if rendered is not None:
        return rendered_objects(rendered)
    k8s = config.environment(environment).target.kubernetes
    folder_name = k8s.manifests or config.analyze.manifests
    candidates = [folder_name] if folder_name else ["k8s", "kubernetes", "deploy/k8s"]
    for name in candidates:
        folder = config.resolve_path(name)
        if folder.is_dir():
            break
    else:
        if folder_name:
            raise ConfigError(f"manifests folder {folder_name!r} does not exist", file=config.source_path)
        return ()
    documents: list[dict[str, Any]] = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.suffix in (".yaml", ".yml")):
        # As ANALYZE read them: limited (alias bombs, deep nesting) and errors at their line, no value quoted.
        for doc in safe_load_all_limited(path.read_text(encoding="utf-8"), source=str(path)):
            if isinstance(doc, dict) and doc.get("kind"):
                documents.append(doc)
    return tuple(documents)


def make_spec(ctx: PhaseContext) -> DeploySpec:
    config = ctx.config
    target = ctx.environment.target
    image, digest = image_for(ctx)
    if target.kind == "kubernetes" and not digest:
        raise UsageError(
            "no image digest to deploy: Kubernetes deployments pin the image to the digest BUILD pushed",
            hint="run BUILD first (bmad build) or pass --digest sha256:...",
        )
    where = ("environments", ctx.environment_name, "target", "local", "secret_env")
    secret_env = {name: resolve_at(config, (*where, name), ref) for name, ref in target.local.secret_env.items()}
    return DeploySpec(
        service=config.service.name,
        environment=ctx.environment_name,
        version=ctx.release.version,
        image=image,
        digest=digest,
        replicas=target.local.replicas if target.kind == "local" else None,
        env=dict(target.local.env),
        manifests=load_manifests(config, ctx.environment_name) if target.kind == "kubernetes" else (),
        health_path=config.deploy.health_path,
        secret_env=secret_env,
    )


def _gpu_pods(target: Target) -> PodGpuView:
    """The GPU view of a Kubernetes target (imported only for one: the local target has none)."""
    from bmad.adapters.targets.kubernetes.gpu_pods import KubernetesGpuPods

    return KubernetesGpuPods(target)


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    from bmad.adapters.gpu_host import HostGpuProbe
    from bmad.adapters.loadgen import make_load_generator
    from bmad.adapters.prometheus import PrometheusClient
    from bmad.adapters.targets.probe import CommandSuiteRunner, RequestsProbe
    from bmad.engine.wiring.bundle_source import keep_rendered, render_bundle
    from bmad.phases.deploy import DeployPhase

    config = ctx.config
    keep_rendered(ctx, render_bundle(config, ctx.environment_name), "deploy")  # a render error stops here
    spec = make_spec(ctx)
    target = make_target(config, ctx.environment_name, options=ctx.options)
    kubernetes = config.environment(ctx.environment_name).target.kubernetes
    load = config.measure.load_test
    return DeployPhase(
        target=target,
        spec=spec,
        config=config.deploy,
        probe=RequestsProbe(),
        suite=CommandSuiteRunner(ctx.evidence),
        metrics_query=PrometheusClient(ctx.environment.monitoring.prometheus_url),
        repository_dir=str(config.repository_dir),
        job=config.measure.scrape_job or config.service.name,
        gpu=HostGpuProbe(docker_host=ctx.environment.target.local.docker_host),
        pods=_gpu_pods(target) if target.kind == "kubernetes" else None,
        autoscaling=kubernetes.autoscaling or config.deploy.autoscaling,
        autoscalers=target if isinstance(target, AutoscalerWatch) else None,
        load_generator=lambda url: make_load_generator(
            load.runner, url=url, workers=load.workers, evidence=ctx.evidence
        ),
    )
