"""``measure.load_test``: the concurrency sweep, stopping at the first level that breaks the SLO
(artifact ``load_test``; metrics ``load_test_c<N>_*`` per level). Runs alone (``EXCLUSIVE``): other
checks would skew its timings, and it would skew theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bmad.config.measure import LoadTestConfig
from bmad.core.models import CheckResult, CheckStatus, MetricValue
from bmad.phases.measure.service import deployed, service_urls
from bmad.phases.measure.sweep import SweepResult, check_allowed, request_url, run_sweep
from bmad.ports.artifacts import MeasureArtifacts
from bmad.ports.loadtest import HttpRequest, LevelResult
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.load_test", "Load-test sweep within the SLO")
NEEDS: tuple[str, ...] = ()
EXCLUSIVE = True


@dataclass(frozen=True)
class SweepTarget:
    """Where the sweep sends its requests, and where that URL came from."""

    url: str
    replicas: tuple[str, ...]  # the same request at the service's further replicas
    source: str
    loaded: str  # which version the sweep loads, in words
    config: LoadTestConfig  # the sweep's settings, with this environment's levels


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    target = _target(ctx, ports, ctx.config.measure.load_test)
    if isinstance(target, CheckResult):
        return target
    conf = target.config
    if ports.load_generator is None:
        return CHECK.skipped("no load generator available")
    request = HttpRequest(
        method=conf.request.method,
        url=target.url,
        headers=dict(conf.request.headers),
        body=conf.request.body.encode("utf-8") if conf.request.body is not None else None,
        replicas=target.replicas,
    )
    generator = ports.load_generator(target.url)
    try:
        sweep = run_sweep(generator, request, conf, cancel=ctx.cancel, progress=ctx.progress)
    finally:
        generator.close()
    artifacts = MeasureArtifacts(load_test=sweep.curve()).to_artifacts()
    rows = artifacts["load_test"]
    file = ctx.evidence.write_json(
        "measure/load_test.json",
        {
            "url": target.url,
            "method": request.method,
            "runner": generator.name,
            "loaded": target.loaded,
            "levels": rows,
            "breach": sweep.breach,
        },
    )
    status, summary, fix = _verdict(sweep, target, conf)
    return CHECK.result(
        status,
        f"{summary}; loaded {target.loaded}",
        expected=_expected(conf),
        observed="; ".join(_level_line(r) for r in sweep.levels),
        fix=fix,
        evidence={
            "url": target.url,
            "replicas": list(target.replicas),
            "url_from": target.source,
            "loaded": target.loaded,
            "runner": generator.name,
            "levels": rows,
            "breach": sweep.breach or None,
            "not_run": sweep.not_run,
        },
        evidence_files=(file,),
        metrics=_metrics(sweep.levels),
        artifacts=artifacts,
    )


def _target(ctx: PhaseContext, ports: MeasurePorts, conf: LoadTestConfig) -> SweepTarget | CheckResult:
    """Where to send the load, or why not to: disabled, no URL, a host not allowed, nothing deployed yet."""
    if not conf.enabled:
        return CHECK.skipped("disabled (measure.load_test.enabled)")
    if not ctx.options.load_test:
        return CHECK.skipped("disabled for this run (--set load_test=false)")
    urls, source = service_urls(ctx, ports)
    absolute = "://" in conf.request.url
    if not absolute and not urls:
        return CHECK.skipped(f"no URL to load-test: {source}")
    url = request_url(urls[0] if urls else None, conf.request.url)
    replicas = () if absolute else tuple(request_url(u, conf.request.url) for u in urls[1:])
    refused = check_allowed(url, service_urls=urls, allowed_hosts=conf.allowed_hosts)
    if refused:
        return CHECK.failed(
            refused,
            expected="the service's own URL or a host in measure.load_test.allowed_hosts",
            observed=url,
            fix="load-test only the service; to allow another host add it to measure.load_test.allowed_hosts",
            evidence={"url": url, "service_urls": urls, "allowed_hosts": list(conf.allowed_hosts)},
        )
    if not absolute and not deployed(ctx):
        return CHECK.skipped(
            f"nothing is deployed in {ctx.environment_name!r} yet (first release): no running service to "
            "load-test; the sweep runs from the next release on",
            evidence={"url": url, "url_from": source},
        )
    return _with_levels(ctx, conf, SweepTarget(url, replicas, source, _loaded(ctx, url, absolute), conf), absolute)


def _loaded(ctx: PhaseContext, url: str, absolute: bool) -> str:
    """Which version answers at ``url``: the release serving the environment now (not this run's candidate)."""
    last = ctx.history.last_deployed()
    if absolute or last is None:
        return f"whatever answers at {url} (measure.load_test.request.url)"
    return (
        f"release {last.release.short_version}, serving {ctx.environment_name!r} now "
        f"(this run's candidate {ctx.release.short_version} is not deployed yet)"
    )


def _with_levels(
    ctx: PhaseContext, conf: LoadTestConfig, target: SweepTarget, absolute: bool
) -> SweepTarget | CheckResult:
    """This environment's levels; a production environment's serving release is loaded only with levels set for it."""
    env = ctx.environment_name
    levels = conf.environment_levels.get(env)
    if levels is not None:
        return SweepTarget(
            target.url, target.replicas, target.source, target.loaded, conf.model_copy(update={"levels": levels})
        )
    if ctx.environment.production and not absolute:
        return CHECK.skipped(
            f"not run: the sweep would load {target.loaded} with {conf.levels} connections; set "
            f"measure.load_test.environment_levels.{env} to levels this environment can take, or point "
            "measure.load_test.request.url at a preview of the candidate",
            evidence={"url": target.url, "url_from": target.source, "loaded": target.loaded},
        )
    return target


def _verdict(sweep: SweepResult, target: SweepTarget, conf: LoadTestConfig) -> tuple[CheckStatus, str, str]:
    """Status, summary and fix: refused connections, a broken SLO, a cancelled sweep, or all within the SLO."""
    first = sweep.levels[0] if sweep.levels else None
    if (
        first is not None
        and first.succeeded == 0
        and first.requests > 0
        and all(kind.startswith("connect") for kind in first.errors)
    ):
        return (
            CheckStatus.FAIL,
            f"the service does not accept connections at {target.url} ({', '.join(first.errors)})",
            f"check the deployment answers at {target.url} ({target.source}), or fix monitoring.service_url",
        )
    if sweep.breach:
        return (
            CheckStatus.FAIL if conf.on_slo_breach == "fail" else CheckStatus.WARN,
            f"SLO broken at {sweep.breach_level} concurrent ({sweep.breach}); sweep stopped"
            + (f", levels not run: {sweep.not_run}" if sweep.not_run else ""),
            "find the bottleneck at that concurrency (pool sizes, workers, timeouts) before deploying",
        )
    if sweep.cancelled:
        return CheckStatus.WARN, f"cancelled; levels not run: {sweep.not_run}", ""
    total = sum(r.requests for r in sweep.levels)
    return CheckStatus.PASS, f"{len(sweep.levels)} levels within the SLO, {total} requests", ""


def _expected(conf: LoadTestConfig) -> str:
    slo = conf.slo
    return (
        f"error rate <= {slo.max_error_rate:.2%}"
        + (f", p95 <= {slo.max_p95_ms:g} ms" if slo.max_p95_ms is not None else "")
        + f" at each of {conf.levels}"
    )


def _level_line(r: LevelResult) -> str:
    return (
        f"c={r.concurrency}: {r.requests} req, {r.success_rate:.2%} ok, {r.rps:.0f} req/s, "
        f"p50 {r.p50_ms:.1f} / p95 {r.p95_ms:.1f} / p99 {r.p99_ms:.1f} / max {r.max_ms:.1f} ms"
    )


def _metrics(levels: list[LevelResult]) -> dict[str, MetricValue]:
    """``load_test_c<N>_*``: requests, success rate, rps and latencies of each level."""
    metrics: dict[str, MetricValue] = {}
    for result in levels:
        prefix = f"load_test_c{result.concurrency}"
        metrics.update(
            {
                f"{prefix}_requests": result.requests,
                f"{prefix}_success_rate": round(result.success_rate, 6),
                f"{prefix}_rps": round(result.rps, 1),
                f"{prefix}_p50_ms": result.p50_ms,
                f"{prefix}_p95_ms": result.p95_ms,
                f"{prefix}_p99_ms": result.p99_ms,
                f"{prefix}_max_ms": result.max_ms,
            }
        )
    return metrics
