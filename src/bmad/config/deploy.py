"""The ``deploy:`` section and the per-environment ``target:`` (owned by the DEPLOY phase).

``target:`` lives under each environment (``environments.<name>.target``): staging may run on
the local container engine while production runs on Kubernetes. ``deploy:`` holds what is the
same everywhere: smoke tests, the post-deploy verification window and its criteria.
"""

import os
from typing import Literal

from bmad.config.base import Model, SecretRef, config_model, setting
from bmad.config.bundle_source import BundleSourceConfig

NoDataPolicy = Literal["fail", "pass", "warn"]


@config_model
class LocalComposeConfig(Model):
    """The local target's Compose mode: a release is a compose project of several services."""

    file: str = setting(default="compose.yml", description="the compose file (relative to bmad.yaml)")
    service: str | None = setting(
        default=None,
        description=(
            "the compose service bmad builds: its image becomes the release's image pinned by digest; the other "
            "services keep theirs (pinned by digest when the engine knows it); default: service.name"
        ),
    )
    profiles: list[str] = setting(default=[], description="compose profiles to enable (--profile)")
    project: str | None = setting(
        default=None,
        description=(
            "the compose project name; each release runs as <project>-g<generation>; default: <service>-<environment>"
        ),
    )
    ports: dict[str, int] = setting(
        default={},
        description=(
            "host ports the compose file reads from the environment (e.g. CACHE_PORT: 18300): release slot s gets "
            "base + s, so a new release starts beside the running one"
        ),
    )
    endpoint: str | None = setting(
        default=None,
        description="the entry of 'ports' whose host port serves the service (smoke tests, probes); default: the first",
    )


@config_model
class AutoscalingLoadConfig(Model):
    """The load bmad's generator sends to the new release while the HPA is watched."""

    connections: int = setting(default=20, ge=1, le=1000, description="concurrent connections (virtual users)")
    duration_seconds: float | None = setting(
        default=None, gt=0, description="how long the load lasts; default: until the check ends (max_wait_seconds)"
    )
    path: str = setting(default="/", description="the path every request GETs on the release's URL")


@config_model
class AutoscalingConfig(Model):
    """Auto-scaling validated under load: drive load, watch the release's HPAs scale from their minimum."""

    enabled: bool = setting(
        default=False, description="run deploy.autoscaling after the verification when the bundle has an HPA"
    )
    min_replicas_reached: int | None = setting(
        default=None, ge=1, description="the replica count each HPA must reach; default: its maxReplicas"
    )
    first_scale_up_within_seconds: float = setting(
        default=60.0, gt=0, description="the first scale-up must come within this (the guide: 30-60 s lag is fine)"
    )
    max_wait_seconds: float = setting(
        default=300.0, gt=0, description="how long to wait for min_replicas_reached; the check fails past this"
    )
    poll_interval_seconds: float = setting(default=1.0, gt=0, description="how often the HPA status is read")
    load: AutoscalingLoadConfig = setting(default_factory=AutoscalingLoadConfig, description="the load sent meanwhile")


@config_model
class LocalTargetConfig(Model):
    """Replicas on the local container engine (Docker or Podman, through the Docker API)."""

    replicas: int = setting(default=2, ge=1, le=50, description="how many replicas run")
    port: int = setting(default=8080, description="the container port the service listens on")
    host_port_base: int = setting(
        default=18080,
        description=(
            "two slots of replicas ports each, so the new release starts beside the running one: replica i of slot s "
            "listens on base + s * replicas + i"
        ),
    )
    env: dict[str, str] = setting(default={}, description="environment variables of the replicas")
    secret_env: dict[str, SecretRef] = setting(
        default={}, description="secret environment variables, resolved at deploy time, never written anywhere"
    )
    network: str | None = setting(default=None, description="default: bmad-<service>-<environment>")
    docker_host: str | None = setting(default=None, description="default: DOCKER_HOST or the usual sockets")
    stop_timeout_seconds: int = setting(default=5, description="grace period before SIGKILL when replicas are stopped")
    healthcheck: list[str] | None = setting(
        default=None,
        description=(
            'engine health check run inside the container, e.g. ["CMD", "python3", "/app/healthcheck.py"]; default: '
            "the image's own HEALTHCHECK; [] disables it"
        ),
    )
    healthcheck_interval_seconds: float = setting(default=2.0, description="how often the engine runs the health check")
    memory_limit: str | None = setting(default=None, description='e.g. "256m"')
    cpus: float | None = setting(default=None, description="CPU limit per replica")
    prometheus_file_sd: str | None = setting(
        default_factory=lambda: os.environ.get("BMAD_PROMETHEUS_FILE_SD_DIR") or None,
        description=(
            "a folder (relative to bmad.yaml) where each cut-over and rollback writes <service>-<environment>.json "
            "with the serving replicas for Prometheus' file-based discovery; default: $BMAD_PROMETHEUS_FILE_SD_DIR; "
            "none: off"
        ),
    )
    compose: LocalComposeConfig | None = setting(
        default=None,
        description=(
            "Compose mode: deploy the compose file's services as one project per release (replaces replicas, port, "
            "host_port_base, healthcheck, memory_limit and cpus); env and secret_env are the compose file's variables"
        ),
    )


@config_model
class KubernetesTargetConfig(Model):
    """A Kubernetes cluster, chosen as kubectl chooses it (KUBECONFIG, current-context, namespace)."""

    kubeconfig: str | None = setting(
        default=None, description="default: KUBECONFIG, then ~/.kube/config, then in-cluster"
    )
    context: str | None = setting(default=None, description="default: the kubeconfig's current-context")
    namespace: str | None = setting(default=None, description='default: the context\'s namespace, then "default"')
    deployment: str | None = setting(default=None, description="default: service name")
    manifests: str | None = setting(
        default=None, description="folder of the bundle; default: analyze.manifests, then k8s/"
    )
    source: BundleSourceConfig = setting(
        default_factory=BundleSourceConfig,
        description="where the bundle comes from: the manifests folder (default), a kustomization or a Helm chart",
    )
    container: str | None = setting(default=None, description="container whose image is pinned; default: the first one")
    url: str | None = setting(default=None, description="base URL smoke tests and probes use (ingress or port-forward)")
    request_timeout_seconds: float = setting(default=15.0, description="timeout of each API request")
    force_conflicts: bool = setting(
        default=False,
        description="take fields another field manager owns (server-side apply force=true); default: report a 409",
    )
    prune: bool = setting(
        default=False,
        description="delete objects dropped from the bundle after a successful rollout (from the release inventory)",
    )
    create_namespace: bool = setting(
        default=False,
        description="apply a Namespace the bundle does not contain (needs cluster-scoped rights on namespaces)",
    )
    image_pull_backoff_seconds: float = setting(
        default=30.0, ge=0, description="early stop of a rollout: ImagePullBackOff lasting this long"
    )
    crash_loop_restarts: int = setting(
        default=3, ge=1, description="early stop of a rollout: CrashLoopBackOff with this many restarts"
    )
    hook_timeout_seconds: float = setting(
        default=300.0,
        gt=0,
        description="how long a pre-deploy hook Job (annotation bmad.dev/hook) may run; post-deploy hooks "
        "share the rollout's timeout",
    )
    dry_run_namespace: str | None = setting(
        default=None,
        description="ANALYZE's server dry-run of objects whose namespace this release creates (None: checked offline)",
    )
    autoscaling: AutoscalingConfig | None = setting(
        default=None,
        description="this environment's deploy.autoscaling (replaces it whole); default: deploy.autoscaling",
    )
    gitops_allowed_kinds: list[str] = setting(
        default=[],  # not default_factory=list: pydantic reads a builtin's signature by tokenizing its text (~5 ms)
        description="kinds bmad may apply although a GitOps controller (Argo CD, Flux) manages the live object",
    )


@config_model
class TargetConfig(Model):
    kind: Literal["local", "kubernetes"] = setting(
        default="local", description="local (the container engine) or kubernetes"
    )
    local: LocalTargetConfig = setting(default_factory=LocalTargetConfig, description="the local target's settings")
    kubernetes: KubernetesTargetConfig = setting(
        default_factory=KubernetesTargetConfig, description="the Kubernetes target's settings"
    )


@config_model
class SmokeConfig(Model):
    """The guide's smoke tests: health 200, metrics parse with expected names, the service's own suite."""

    health_timeout_seconds: float = setting(
        default=30.0, description="how long the health endpoint may take to answer 200"
    )
    expected_metrics: list[str] = setting(
        default=[], description="metric family names the metrics endpoint must expose"
    )
    command: list[str] | None = setting(
        default=None, description="the service's smoke suite; gets HELLO_URL/BMAD_URL in its env"
    )
    url_env: str = setting(default="BMAD_URL", description="name of the env var carrying the base URL (e.g. HELLO_URL)")
    junit: str | None = setting(default=None, description="JUnit XML the suite writes (relative to the repository)")
    env: dict[str, str] = setting(default={}, description="extra environment variables of the suite")
    timeout_seconds: float = setting(default=300.0, description="the suite fails past this")


@config_model
class Criterion(Model):
    """One PromQL verification criterion, absolute or relative to the MEASURE baseline.

    ``max``/``min`` are absolute bounds. ``baseline`` names a figure of the stored baseline;
    ``max_increase`` allows baseline + N (same unit, e.g. 0.01 = one point of error rate) and
    ``max_ratio`` baseline x N (e.g. 1.2 for p95 latency). Without ``query`` the criterion re-runs
    the query MEASURE stored with the baseline, so both sides measure the same thing.
    """

    name: str = setting(description="the criterion's name (a baseline's name puts them side by side in reports)")
    query: str | None = setting(
        default=None, description="PromQL; default: the query MEASURE used for the named baseline"
    )
    max: float | None = setting(default=None, description="the value must stay at or below this")
    min: float | None = setting(default=None, description="the value must stay at or above this")
    baseline: str | None = setting(default=None, description="the MEASURE baseline figure to compare with")
    baseline_field: Literal["value", "avg", "max", "p95", "min"] = setting(
        default="value", description="which figure of the baseline"
    )
    max_increase: float | None = setting(default=None, description="allowed: baseline + this (same unit)")
    max_ratio: float | None = setting(default=None, description="allowed: baseline x this")
    no_data: NoDataPolicy | None = setting(default=None, description="default: verification.no_data")

    def after_validation(self) -> None:
        if self.max is None and self.min is None and self.max_increase is None and self.max_ratio is None:
            raise ValueError("give at least one bound: max, min, max_increase or max_ratio")
        if (self.max_increase is not None or self.max_ratio is not None) and self.baseline is None:
            raise ValueError("max_increase and max_ratio compare with a baseline: name it with 'baseline'")
        if self.query is None and self.baseline is None:
            raise ValueError("give a PromQL 'query', or a 'baseline' whose query MEASURE stored")


@config_model
class VerificationConfig(Model):
    """The post-deploy window: every ``interval_seconds`` for ``window_seconds`` evaluate ``criteria``."""

    enabled: bool = setting(default=True, description="watch the release after the cut-over")
    window_seconds: float = setting(default=120.0, description="how long the window lasts")
    interval_seconds: float = setting(default=15.0, description="how often the criteria are evaluated")
    criteria: list[Criterion] = setting(
        default=[], description="PromQL criteria, absolute or relative to the MEASURE baseline"
    )
    no_data: NoDataPolicy = setting(
        default="fail",
        description=(
            'what a query without data means: fail (default, avoids the "no values found" trap passing silently), '
            "pass, or warn"
        ),
    )
    failures_to_fail: int = setting(
        default=1, ge=1, description="how many failing evaluations in a row fail the release (1 = the first one)"
    )
    settle_seconds: float = setting(
        default=0.0, description="before evaluating, wait until Prometheus has had time to scrape the new replicas"
    )
    traffic_path: str | None = setting(
        default=None,
        description=(
            "light traffic bmad sends to the service during the window, so rate() criteria have data; none: rely on "
            "real traffic"
        ),
    )
    traffic_rps: float = setting(default=5.0, gt=0, le=200, description="requests per second of that traffic")
    scope_to_release: bool = setting(
        default=True, description="evaluate the criteria on the new replicas' series only, when the target labels them"
    )


@config_model
class DeployConfig(Model):
    health_path: str = setting(default="/health", description="the service's health endpoint")
    metrics_path: str = setting(default="/metrics", description="the service's metrics endpoint")
    rollout_timeout_seconds: float = setting(default=300.0, description="the rollout fails past this")
    smoke: SmokeConfig = setting(default_factory=SmokeConfig, description="smoke tests after the cut-over")
    verification: VerificationConfig = setting(
        default_factory=VerificationConfig, description="the post-deploy verification window"
    )
    probe_interval_seconds: float = setting(
        default=0.2, description="probe the service this often during the update to measure downtime"
    )
    rollback_timeout_seconds: float = setting(default=120.0, description="a rollback fails past this")
    autoscaling: AutoscalingConfig = setting(
        default_factory=AutoscalingConfig,
        description="HPAs validated under load after the verification (per environment: target.kubernetes.autoscaling)",
    )
