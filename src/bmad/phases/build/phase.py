"""The BUILD phase: test suites, image build, size budget, vulnerability and layer-secret gates, push, rollback tag.

Checks and what they need (independent ones run concurrently), one module each under ``checks/``::

    build.tests.<suite> ─────────────────────────────┐
    build.image ─┬─ build.image_size ────────────────┤                ┌─ build.git_tag
                 ├─ build.vulnerabilities ───────────┼─ build.push ──┤
                 └─ build.layer_secrets ─────────────┘                └─ build.sbom
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bmad.config.build import TestSuite
from bmad.core.models import CheckResult, CheckStatus, MetricValue, PhaseName
from bmad.phases.build.checks import git_tag, image, image_size, layer_secrets, push, sbom, suite, vulnerabilities
from bmad.phases.build.ports import BuildPorts
from bmad.phases.build.workspace import BuildWorkspace
from bmad.ports.artifacts import PushedImage
from bmad.ports.phase import BasePhase, Check, CheckId, PhaseContext

__all__ = ["METRIC_NAMES", "BuildPhase", "BuildPorts"]

METRIC_NAMES = (
    "build_duration_seconds",
    "test_pass_rate",
    "image_size_mb",
    "vulnerabilities_critical",
    "vulnerabilities_high",
    "vulnerabilities_critical_gated",
    "vulnerabilities_high_gated",
    "image_digest",
    "sbom_components",
)

RunCheck = Callable[[PhaseContext, BuildPorts, BuildWorkspace], CheckResult]


class BuildPhase(BasePhase):
    name = PhaseName.BUILD

    def __init__(self, ports: BuildPorts) -> None:
        self.ports = ports
        self._started: float | None = None
        self._work = BuildWorkspace()

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        self._started = time.monotonic()
        self._work = BuildWorkspace()
        config = ctx.config.build
        checks = [
            *(self._suite_check(s) for s in config.suites),
            self._check(image.CHECK, image.run, image.NEEDS),
            self._check(image_size.CHECK, image_size.run, image_size.NEEDS),
            self._check(vulnerabilities.CHECK, vulnerabilities.run, vulnerabilities.NEEDS),
            self._check(layer_secrets.CHECK, layer_secrets.run, layer_secrets.NEEDS),
        ]
        if config.push.enabled:
            checks.append(self._check(push.CHECK, push.run, tuple(c.id for c in checks)))
            if config.git_tag.enabled:
                checks.append(self._check(git_tag.CHECK, git_tag.run, git_tag.NEEDS))
            checks.append(self._check(sbom.CHECK, sbom.run, sbom.NEEDS))
        return checks

    def finish(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> Sequence[CheckResult]:
        self._work.clear()
        return ()

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        by_id = {r.id: r for r in results}
        totals = [r.evidence.get("tests") for r in results if r.id.startswith(suite.PREFIX)]
        counted = [t for t in totals if isinstance(t, dict)]
        executed = sum(int(t.get("total", 0)) - int(t.get("skipped", 0)) for t in counted)
        passed = sum(int(t.get("passed", 0)) for t in counted)
        metrics: dict[str, MetricValue] = dict.fromkeys(METRIC_NAMES)
        metrics["build_duration_seconds"] = (
            round(time.monotonic() - self._started, 3) if self._started is not None else None
        )
        metrics["test_pass_rate"] = round(100.0 * passed / executed, 2) if executed else None
        for check_id, names in (
            (image_size.CHECK.id, ("image_size_mb",)),
            (sbom.CHECK.id, ("sbom_components",)),
            (vulnerabilities.CHECK.id, vulnerabilities.GATE_METRICS),
        ):
            result = by_id.get(check_id)
            for name in names:
                if result is not None and name in result.metrics:
                    metrics[name] = result.metrics[name]
        pushed = by_id.get(push.CHECK.id)
        if pushed is not None and pushed.status is CheckStatus.PASS:
            metrics["image_digest"] = PushedImage.from_artifacts(pushed.artifacts).image_digest
        return metrics

    def _check(self, check: CheckId, run: RunCheck, needs: tuple[str, ...]) -> Check:
        ports, work = self.ports, self._work
        return Check(id=check.id, title=check.title, run=lambda ctx: run(ctx, ports, work), needs=needs)

    def _suite_check(self, test_suite: TestSuite) -> Check:
        ports, work = self.ports, self._work
        check = suite.check_of(test_suite)
        return Check(
            id=check.id,
            title=check.title,
            run=lambda ctx: suite.run(ctx, ports, work, test_suite),
            needs=suite.NEEDS,
        )
