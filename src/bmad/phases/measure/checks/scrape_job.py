"""``measure.scrape_job``: the service's scrape job is configured and its targets are up.

The job is a scrape config of that name, or targets whose ``job`` label is that name (file-based
discovery). Only this environment's targets count when the job's targets carry the environment
label (``measure.environment_label``): another environment's replicas, or a stale discovery file,
are not this release's. Before the first deployment, down targets (or, with the local target's
file, no targets yet) are a warning, not a failure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult
from bmad.core.spans import SpanKind, sleeper
from bmad.phases.measure.checks import prometheus
from bmad.phases.measure.service import EnvironmentScope, deployed, environment_scope, scrape_job
from bmad.ports.monitoring import Prometheus, ScrapeTarget
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.scrape_job", "The service's scrape job has its targets up")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False
_TARGETS_PAUSE = sleeper(SpanKind.MONITORING, "Prometheus scraping the job's targets")


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    job = scrape_job(ctx)
    target = ctx.environment.target
    file_sd = target.local.prometheus_file_sd if target.kind == "local" else None
    targets, candidates, scope = _wait_for_targets(ctx, ports.prometheus, job)
    jobs = sorted({t.job for t in targets})
    mine = [t for t in candidates if scope.holds(t)]
    others = len(candidates) - len(mine)  # another environment's targets of the job (or a stale discovery file)
    evidence: dict[str, Any] = {
        "job": job,
        "targets": [
            {"instance": t.instance, "health": t.health, "scrape_url": t.scrape_url, "last_error": t.last_error}
            for t in mine
        ],
        "jobs_seen": jobs,
        "environment_scope": scope.to_dict(),
        "other_environments_targets": others,
    }
    if file_sd:
        evidence["file_sd"] = str(ctx.config.resolve_path(file_sd))
        evidence["environment_label"] = ctx.environment_name
    if not mine:
        return _no_targets(ctx, job, jobs, evidence, file_sd=bool(file_sd))
    return _health(ctx, job, mine, evidence)


def _wait_for_targets(
    ctx: PhaseContext, prom: Prometheus, job: str
) -> tuple[list[ScrapeTarget], list[ScrapeTarget], EnvironmentScope]:
    """Every target, the job's, and the environment scope: polled while any of this environment's is of unknown
    health."""
    deadline = time.monotonic() + ctx.config.measure.target_wait_seconds
    while True:
        targets = prom.targets()
        candidates = [t for t in targets if t.job == job] or discovered_targets(prom, job, targets)
        scope = environment_scope(ctx, candidates)
        mine = [t for t in candidates if scope.holds(t)]
        if not any(t.health == "unknown" for t in mine) or time.monotonic() >= deadline or ctx.cancel.is_set():
            return targets, candidates, scope
        _TARGETS_PAUSE(0.25)


def _no_targets(
    ctx: PhaseContext, job: str, jobs: list[str], evidence: dict[str, Any], *, file_sd: bool
) -> CheckResult:
    observed = f"jobs: {', '.join(jobs) or 'none'}"
    if file_sd and not deployed(ctx):
        return CHECK.warned(
            f"job {job!r} has no targets yet — expected: nothing is deployed here, and the local "
            "target lists the serving replicas for Prometheus' file-based discovery at its first cut-over",
            expected=f"targets with job={job} once a release serves",
            observed=observed,
            fix="none needed before the first deployment; DEPLOY waits until Prometheus scrapes the replicas",
            evidence=evidence,
        )
    fix = f"add a scrape_configs entry with job_name: {job} for the service's /metrics, then reload"
    if ctx.environment.target.kind == "local" and not file_sd:
        fix += (
            "; or let the local target tell Prometheus where its replicas run: set "
            f"environments.{ctx.environment_name}.target.local.prometheus_file_sd, or export "
            'BMAD_PROMETHEUS_FILE_SD_DIR (eval "$(bmad stack env)" does, for the local stack)'
        )
    if file_sd:
        fix = (
            f"give Prometheus a file_sd_configs entry reading {evidence['file_sd']}/*.json "
            "(the local stack has one), and deploy: the cut-over writes the serving replicas there"
        )
    return CHECK.failed(
        f"Prometheus has no scrape job {job!r}",
        expected=f"a scrape job named {job!r} (measure.scrape_job, default: the service name)",
        observed=observed,
        fix=fix,
        evidence=evidence,
    )


def _health(ctx: PhaseContext, job: str, mine: list[ScrapeTarget], evidence: dict[str, Any]) -> CheckResult:
    down = [t for t in mine if t.health != "up"]
    up = len(mine) - len(down)
    if not down:
        return CHECK.passed(
            f"job {job!r}: {up}/{len(mine)} targets up",
            expected="every target up",
            observed=f"{up}/{len(mine)} up",
            evidence=evidence,
        )
    detail = "; ".join(f"{t.instance} {t.health}: {t.last_error or 'no error text'}" for t in down)
    if not deployed(ctx):
        return CHECK.warned(
            f"job {job!r}: {up}/{len(mine)} targets up — expected, nothing is deployed here yet",
            expected="targets up once the service runs",
            observed=detail,
            fix="none needed before the first deployment; DEPLOY verifies the targets afterwards",
            evidence=evidence,
        )
    return CHECK.failed(
        f"job {job!r}: {len(down)}/{len(mine)} targets down",
        expected="every target up",
        observed=detail,
        fix="check the service is running and its metrics endpoint answers at the scrape URL",
        evidence=evidence,
    )


def discovered_targets(
    prom: Prometheus,
    job: str,
    targets: Sequence[ScrapeTarget],
    environment: str | None = None,
    *,
    label: str = "environment",
) -> list[ScrapeTarget]:
    """Targets whose ``job`` label is ``job`` although their scrape config has another name.

    Service discovery may set the label (a file_sd target group with ``labels: {job: hello}``
    under a scrape config named ``file_sd``); the targets API reports the config's name as the
    pool, the series carry the label. ``up{job=...}`` names the instances; their health and last
    error come from the targets API. ``environment``: only targets whose ``label`` has that value.
    """
    selector = f'job="{job}"' + (f',{label}="{environment}"' if environment else "")
    try:
        samples = prom.query(f"up{{{selector}}}")
    except AdapterError:
        return []
    instances = {s.labels.get("instance", "") for s in samples} - {""}
    found: dict[str, ScrapeTarget] = {}
    for target in targets:
        if target.instance in instances and target.instance not in found:
            found[target.instance] = ScrapeTarget(
                job=job,
                instance=target.instance,
                health=target.health,
                scrape_url=target.scrape_url,
                last_error=target.last_error,
                labels=target.labels,
            )
    return list(found.values())
