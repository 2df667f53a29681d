"""``measure.load_test``: the concurrency sweep, stopping at the first level that breaks the SLO
(artifact ``load_test``; metrics ``load_test_c<N>_*`` per level), at a preview of the release
candidate or at the serving release (:mod:`bmad.phases.measure.load_target`). Runs alone
(``EXCLUSIVE``): other checks would skew its timings, and it would skew theirs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from bmad.config.measure import LoadTestConfig
from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus, MetricValue
from bmad.phases.measure.load_target import SweepTarget, choose_target
from bmad.phases.measure.sweep import SweepResult, run_sweep
from bmad.ports.artifacts import MeasureArtifacts
from bmad.ports.loadtest import HttpRequest, LevelResult, LoadGenerator
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.load_test", "Load-test sweep within the SLO")
NEEDS: tuple[str, ...] = ()
EXCLUSIVE = True


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    target = choose_target(ctx, ports, CHECK)
    if isinstance(target, CheckResult):
        return target
    if ports.load_generator is None:
        return CHECK.skipped("no load generator available")
    with ExitStack() as running:
        if target.preview is not None and ports.candidate_preview is not None:
            try:
                target = target.at(running.enter_context(ports.candidate_preview.running(target.preview)))
            except AdapterError as exc:
                return _no_preview(target, exc)
        return _sweep(ctx, ports.load_generator, target)


def _sweep(ctx: PhaseContext, load_generator: Callable[[str], LoadGenerator], target: SweepTarget) -> CheckResult:
    """Run the sweep at ``target`` and judge it."""
    conf = target.config
    request = HttpRequest(
        method=conf.request.method,
        url=target.url,
        headers=dict(conf.request.headers),
        body=conf.request.body.encode("utf-8") if conf.request.body is not None else None,
        replicas=target.replicas,
    )
    generator = load_generator(target.url)
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
            "loaded_version": target.version,
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
            "loaded_version": target.version,
            "candidate_not_loaded": target.note or None,
            "runner": generator.name,
            "levels": rows,
            "breach": sweep.breach or None,
            "not_run": sweep.not_run,
        },
        evidence_files=(file,),
        metrics=_metrics(sweep.levels),
        artifacts=artifacts,
    )


def _no_preview(target: SweepTarget, exc: AdapterError) -> CheckResult:
    """The candidate's preview did not start or answer: nothing was loaded."""
    return CHECK.failed(
        f"could not start a preview of {target.loaded}: {exc.message}",
        expected="a temporary container of the candidate answering its health path",
        observed=exc.message,
        fix=exc.hint
        or "check the image starts with the target's env and port (target.local), or set "
        "measure.load_test.target: serving",
        evidence={"loaded": target.loaded, "url_from": target.source},
    )


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
