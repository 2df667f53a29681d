"""Wiring for the DEPLOY phase: picks the target adapter for the environment and builds the spec.

The image comes from BUILD's artifacts (the repository and the pushed digest); ``options``
``image``/``digest`` override them (``bmad deploy --image ... --digest ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bmad.config.models import BmadConfig
from bmad.core.errors import ConfigError, UsageError
from bmad.core.models import CheckResult, CheckStatus, PhaseName, PhaseStatus
from bmad.ports.phase import PhaseContext, PhasePlugin
from bmad.ports.progress import NullProgress, Progress
from bmad.ports.target import DeploySpec, Diagnosis, Target

_IMAGE_KEYS = ("image_repository", "image", "image_name")
_DIGEST_KEYS = ("image_digest", "digest", "pushed_digest")


def make_target(config: BmadConfig, environment: str, *, client: Any = None) -> Target:
    """The target adapter an environment names (also used by ``bmad rollback`` / ``diagnose`` / ``status``)."""
    from bmad.adapters.targets.probe import RequestsProbe

    env_cfg = config.environment(environment)
    target = env_cfg.target
    if target.kind == "kubernetes":
        from bmad.adapters.targets.kubernetes import KubernetesTarget

        return KubernetesTarget(
            target.kubernetes,
            probe=RequestsProbe(),
            health_path=config.deploy.health_path,
            base_dir=str(config.base_dir),
            rollback_timeout=config.deploy.rollback_timeout_seconds,
            default_namespace=_manifests_namespace(config, environment),
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


def _first(values: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = values.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def image_for(ctx: PhaseContext) -> tuple[str, str]:
    """(repository, digest) of the release: options first, then BUILD's artifacts."""
    build = ctx.previous.get(PhaseName.BUILD)
    artifacts = dict(build.artifacts) if build is not None else {}
    image = ctx.options.get("image") or _first(artifacts, _IMAGE_KEYS)
    digest = ctx.options.get("digest") or _first(artifacts, _DIGEST_KEYS) or ""
    if not image:
        cfg = ctx.config.build
        image = f"{cfg.registry}/{cfg.image or ctx.config.service.name}"
    if "@" in image:  # a full reference: repository@sha256:...
        image, _, pinned = image.partition("@")
        digest = digest or pinned
    return str(image), str(digest)


def load_manifests(config: BmadConfig, environment: str) -> tuple[dict[str, Any], ...]:
    """The Kubernetes bundle: every YAML document under the manifests folder (sorted by file name)."""
    import yaml

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
        try:
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("kind"):
                    documents.append(doc)
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in manifest: {exc}", file=str(path)) from None
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
    secret_env = {name: ref.resolve(config.base_dir) for name, ref in target.local.secret_env.items()}
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


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    from bmad.adapters.prometheus import PrometheusClient
    from bmad.adapters.targets.probe import CommandSuiteRunner, RequestsProbe
    from bmad.phases.deploy import DeployPhase

    config = ctx.config
    return DeployPhase(
        target=make_target(config, ctx.environment_name),
        spec=make_spec(ctx),
        config=config.deploy,
        probe=RequestsProbe(),
        suite=CommandSuiteRunner(ctx.evidence),
        metrics_query=PrometheusClient(ctx.environment.monitoring.prometheus_url),
        repository_dir=str(config.repository_dir),
        job=config.measure.scrape_job or config.service.name,
    )


# ---------------------------------------------------------------------- manual rollback and diagnose


@dataclass
class ManualRollbackOutcome:
    """What ``bmad rollback`` did: from which release to which, the rollback result and the ledger row."""

    service: str
    environment: str
    from_version: str | None
    to_version: str | None
    result: CheckResult
    record: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.result.status is CheckStatus.PASS

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "ok": self.ok,
            "result": self.result.to_dict(),
            "ledger": self.record,
        }


def _deployed(history: Any) -> bool:
    """DEPLOY changed the target for this release (its apply passed) and it was not rolled back."""
    run = history.latest(PhaseName.DEPLOY)
    if run is None or run.status is PhaseStatus.RUNNING or history.rolled_back:
        return False
    applied = [c for c in run.checks if c.id == "deploy.apply"]
    return not applied or applied[0].status is CheckStatus.PASS


def _passed_deploy(history: Any) -> bool:
    run = history.latest(PhaseName.DEPLOY)
    return run is not None and run.status is PhaseStatus.PASSED and not history.rolled_back


def manual_rollback(
    config: BmadConfig,
    environment: str,
    *,
    to_version: str | None = None,
    reason: str = "manual rollback",
    progress: Progress | None = None,
    wait_seconds: float = 0.0,
    target: Target | None = None,
) -> ManualRollbackOutcome:
    """Roll ``environment`` back to the last good release in the ledger (or ``to_version``), and record it.

    "Current" is the newest release whose DEPLOY ran and was not rolled back; "last good" is the
    newest earlier release whose DEPLOY passed and was not rolled back (``History.last_deployed``).
    MTTR is measured from the command's start to the previous version healthy.
    """
    from bmad.adapters.targets.probe import RequestsProbe
    from bmad.engine.runner import open_ledger
    from bmad.ledger.records import RollbackInput
    from bmad.phases.deploy import perform_rollback

    service = config.service.name
    progress = progress or NullProgress()
    detected_at = datetime.now(UTC)
    ledger = open_ledger(config)
    try:
        with ledger.acquire_lock(
            service, environment, lease_seconds=config.ledger.lock_lease_seconds, wait_seconds=wait_seconds
        ):
            releases = ledger.list_releases(service=service, environment=environment)
            current = next((h for h in releases if _deployed(h)), None)
            if to_version:
                chosen = next((h for h in releases if h.release.version.startswith(to_version)), None)
                if chosen is None:
                    raise UsageError(f"no release {to_version!r} of {service} in {environment} in the ledger")
            else:
                if current is None:
                    raise UsageError(f"nothing to roll back: no release of {service} was deployed to {environment}")
                record = ledger.history_for(current.release).last_deployed()
                chosen = next((h for h in releases if record and h.release.version == record.release.version), None)
                if chosen is None:
                    raise UsageError(
                        f"no earlier good release of {service} in {environment} to roll back to",
                        hint="the ledger has no earlier release whose DEPLOY passed and was not rolled back",
                    )
            deploy_run = chosen.latest(PhaseName.DEPLOY)
            artifacts = dict(deploy_run.artifacts) if deploy_run is not None else {}
            to: dict[str, Any] = {
                "release": chosen.release.version,
                "image": artifacts.get("image"),
                "digest": artifacts.get("digest"),
                "env": dict(config.environment(environment).target.local.env),
            }
            target = target or make_target(config, environment)
            result = perform_rollback(
                target,
                RequestsProbe(),
                service=service,
                environment=environment,
                to=to,
                fallback=None,
                reason=reason,
                detected_at=detected_at,
                health_path=config.deploy.health_path,
                manual=True,
                progress=progress,
                fall_back_to_previous=False,
            )
            outcome = ManualRollbackOutcome(
                service, environment, current.release.version if current else None, chosen.release.version, result
            )
            info = result.artifacts.get("rollback") or {}
            if current is not None and result.status is CheckStatus.PASS:
                stored = ledger.record_rollback(
                    current.release,
                    RollbackInput(
                        reason=reason,
                        detected_at=detected_at,
                        recovered_at=datetime.fromisoformat(info["recovered_at"]) if info.get("recovered_at") else None,
                        to_version=chosen.release.version,
                        manual=True,
                    ),
                )
                outcome.record = stored.to_dict()
            return outcome
    finally:
        ledger.close()


@dataclass
class DiagnoseReport:
    service: str
    environment: str
    target: str
    status: dict[str, Any]
    findings: list[Diagnosis] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "status": self.status,
            "findings": [f.to_dict() for f in self.findings],
        }


LATENCY_QUERY = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="$job"}[5m])))'


def diagnose_environment(
    config: BmadConfig,
    environment: str,
    *,
    target: Target | None = None,
    latency_threshold_seconds: float = 0.5,
    metrics_query: Any = None,
) -> DiagnoseReport:
    """The guide's troubleshooting, automated: the target's findings plus p95 latency from Prometheus."""
    from bmad.core.errors import AdapterError

    service = config.service.name
    target = target or make_target(config, environment)
    status = target.status(service, environment)
    findings = list(target.diagnose(service, environment))
    job = config.measure.scrape_job or service
    if metrics_query is None:
        from bmad.adapters.prometheus import PrometheusClient

        metrics_query = PrometheusClient(config.environment(environment).monitoring.prometheus_url, timeout=5.0)
    query = LATENCY_QUERY.replace("$job", job)
    try:
        samples = metrics_query.query(query)
    except AdapterError:
        samples = []
    values = [s.value for s in samples if s.value == s.value]  # NaN != NaN
    if values and max(values) > latency_threshold_seconds:
        findings.append(
            Diagnosis(
                symptom="High latency after deployment",
                object=f"job/{job}",
                evidence=[
                    f"p95 latency {max(values) * 1000:.0f} ms > {latency_threshold_seconds * 1000:.0f} ms",
                    f"query: {query}",
                ],
                causes=[
                    "under-provisioned resources",
                    "database query performance",
                    "external service latency",
                    "insufficient replicas",
                ],
                fixes=[
                    "scale up immediately (more replicas)",
                    "review HPA thresholds (may be too conservative)",
                    "check database performance (EXPLAIN ANALYZE slow queries)",
                ],
            )
        )
    return DiagnoseReport(service, environment, target.kind, status, findings)
