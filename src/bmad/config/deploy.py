"""The ``deploy:`` section and the per-environment ``target:`` (owned by the DEPLOY phase).

``target:`` lives under each environment (``environments.<name>.target``): staging may run on
the local container engine while production runs on Kubernetes. ``deploy:`` holds what is the
same everywhere: smoke tests, the post-deploy verification window and its criteria.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from bmad.config.base import Model, SecretRef

NoDataPolicy = Literal["fail", "pass", "warn"]


class LocalTargetConfig(Model):
    """Replicas on the local container engine (Docker or Podman, through the Docker API)."""

    replicas: int = Field(default=2, ge=1, le=50)
    port: int = 8080  # the container port the service listens on
    # Two slots of ``replicas`` ports each: the new release starts on the slot the running one
    # does not use, so both can run side by side. Replica i of slot s: base + s * replicas + i.
    host_port_base: int = 18080
    env: dict[str, str] = {}
    secret_env: dict[str, SecretRef] = {}  # resolved at deploy time, never written anywhere
    network: str | None = None  # default: bmad-<service>-<environment>
    docker_host: str | None = None  # default: DOCKER_HOST or the usual sockets
    stop_timeout_seconds: int = 5  # grace period before SIGKILL when replicas are stopped
    # Engine health check run inside the container, e.g. ["CMD", "python3", "/app/healthcheck.py"];
    # default: the image's own HEALTHCHECK. [] disables it.
    healthcheck: list[str] | None = None
    healthcheck_interval_seconds: float = 2.0
    memory_limit: str | None = None  # e.g. "256m"
    cpus: float | None = None
    # Prometheus file-based service discovery: a folder (relative to bmad.yaml) where each cut-over
    # and rollback writes ``<service>-<environment>.json`` with the serving release's replicas
    # (labels job, environment, release). Default: $BMAD_PROMETHEUS_FILE_SD_DIR (``bmad stack env``
    # exports the local stack's); None: off (Prometheus scrapes whatever it was told statically).
    prometheus_file_sd: str | None = Field(
        default_factory=lambda: os.environ.get("BMAD_PROMETHEUS_FILE_SD_DIR") or None
    )


class KubernetesTargetConfig(Model):
    """A Kubernetes cluster, chosen as kubectl chooses it (KUBECONFIG, current-context, namespace)."""

    kubeconfig: str | None = None  # default: KUBECONFIG, then ~/.kube/config, then in-cluster
    context: str | None = None  # default: the kubeconfig's current-context
    namespace: str | None = None  # default: the context's namespace, then "default"
    deployment: str | None = None  # default: service name
    manifests: str | None = None  # folder of the bundle; default: analyze.manifests, then k8s/
    container: str | None = None  # container whose image is pinned; default: the first one
    url: str | None = None  # base URL smoke tests and probes use (ingress or port-forward)
    request_timeout_seconds: float = 15.0
    # Take fields another field manager owns (server-side apply force=true); default: report a 409.
    force_conflicts: bool = False
    # Delete objects dropped from the bundle after a successful rollout (from the release inventory).
    prune: bool = False
    # Apply a Namespace the bundle does not contain (needs cluster-scoped rights on namespaces).
    create_namespace: bool = False
    # Early stop of a rollout: only persistent failures.
    image_pull_backoff_seconds: float = Field(default=30.0, ge=0)
    crash_loop_restarts: int = Field(default=3, ge=1)
    # ANALYZE's server dry-run of objects whose namespace this release creates (None: checked offline).
    dry_run_namespace: str | None = None
    # Kinds bmad may apply although a GitOps controller (Argo CD, Flux) manages the live object.
    gitops_allowed_kinds: list[str] = []


class TargetConfig(Model):
    kind: Literal["local", "kubernetes"] = "local"
    local: LocalTargetConfig = LocalTargetConfig()
    kubernetes: KubernetesTargetConfig = KubernetesTargetConfig()


class SmokeConfig(Model):
    """The guide's smoke tests: health 200, metrics parse with expected names, the service's own suite."""

    health_timeout_seconds: float = 30.0
    expected_metrics: list[str] = []  # metric family names the metrics endpoint must expose
    command: list[str] | None = None  # the service's smoke suite; gets HELLO_URL/BMAD_URL in its env
    url_env: str = "BMAD_URL"  # name of the env var carrying the base URL (e.g. HELLO_URL)
    junit: str | None = None  # JUnit XML the suite writes (relative to the repository)
    env: dict[str, str] = {}
    timeout_seconds: float = 300.0


class Criterion(Model):
    """One PromQL verification criterion, absolute or relative to the MEASURE baseline.

    ``max``/``min`` are absolute bounds. ``baseline`` names a figure of the stored baseline;
    ``max_increase`` allows baseline + N (same unit, e.g. 0.01 = one point of error rate) and
    ``max_ratio`` baseline x N (e.g. 1.2 for p95 latency). Without ``query`` the criterion re-runs
    the query MEASURE stored with the baseline, so both sides measure the same thing.
    """

    name: str
    query: str | None = None  # default: the query MEASURE used for the named baseline
    max: float | None = None
    min: float | None = None
    baseline: str | None = None
    baseline_field: Literal["value", "avg", "max", "p95", "min"] = "value"
    max_increase: float | None = None
    max_ratio: float | None = None
    no_data: NoDataPolicy | None = None  # default: verification.no_data

    @model_validator(mode="after")
    def _has_bound(self) -> Criterion:
        if self.max is None and self.min is None and self.max_increase is None and self.max_ratio is None:
            raise ValueError("give at least one bound: max, min, max_increase or max_ratio")
        if (self.max_increase is not None or self.max_ratio is not None) and self.baseline is None:
            raise ValueError("max_increase and max_ratio compare with a baseline: name it with 'baseline'")
        if self.query is None and self.baseline is None:
            raise ValueError("give a PromQL 'query', or a 'baseline' whose query MEASURE stored")
        return self


class VerificationConfig(Model):
    """The post-deploy window: every ``interval_seconds`` for ``window_seconds`` evaluate ``criteria``."""

    enabled: bool = True
    window_seconds: float = 120.0
    interval_seconds: float = 15.0
    criteria: list[Criterion] = []
    # What a query without data means: fail (default, avoids the "no values found" trap passing
    # silently), pass, or warn. Kayenta calls this nanStrategy.
    no_data: NoDataPolicy = "fail"
    # How many failing evaluations in a row fail the release (1 = the first one).
    failures_to_fail: int = Field(default=1, ge=1)
    # Before evaluating, wait until Prometheus has had time to scrape the new replicas.
    settle_seconds: float = 0.0
    # Light traffic bmad sends to the service during the window, so rate() criteria have data
    # (Flagger's "no values found" trap). None: rely on real traffic.
    traffic_path: str | None = None
    traffic_rps: float = Field(default=5.0, gt=0, le=200)
    # When the target labels the new replicas' series (the local target's file-based discovery adds
    # environment and release), evaluate the criteria on those series only.
    scope_to_release: bool = True


class DeployConfig(Model):
    health_path: str = "/health"
    metrics_path: str = "/metrics"
    rollout_timeout_seconds: float = 300.0
    smoke: SmokeConfig = SmokeConfig()
    verification: VerificationConfig = VerificationConfig()
    # Probe the service continuously during the update to measure downtime.
    probe_interval_seconds: float = 0.2
    rollback_timeout_seconds: float = 120.0
