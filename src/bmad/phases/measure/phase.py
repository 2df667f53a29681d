"""The MEASURE phase: establish monitoring baselines and verify observability before deployment.

Each check is one module under :mod:`bmad.phases.measure.checks` (ids are stable; they name the
checks in records); ``CHECKS`` lists them in the order they are reported:

* ``measure.prometheus``       Prometheus reachable and ready; uptime (``prometheus_uptime_seconds``)
* ``measure.scrape_job``       the service's scrape job is configured and its targets are up
* ``measure.alert_rules``      rules loaded (``alert_rules_loaded``) >= the minimum, no rule in error
* ``measure.alertmanager``     Prometheus sends alerts to an Alertmanager, and that one is ready
* ``measure.grafana.health``   Grafana healthy (skipped, with the reason, where not configured)
* ``measure.grafana.dashboards`` the required dashboards exist (``grafana_dashboards_count``)
* ``measure.grafana.datasource`` the dashboards' data source answers
* ``measure.e2e_metric``       a unique metric pushed to the Pushgateway comes back from a query
* ``measure.baselines``        baseline figures captured (artifact ``baseline``, ``baseline_captured``)
* ``measure.gpu_baselines``    per-GPU figures (artifact ``gpu_baseline``); listed with a compose file or gpu.requested
* ``measure.load_test``        the concurrency sweep (artifact ``load_test``; per-level figures)

What MEASURE hands on is :class:`bmad.ports.artifacts.MeasureArtifacts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import UTC, datetime
from typing import Protocol

from bmad.core.datatypes import datatype
from bmad.core.models import CheckResult, MetricValue, PhaseName
from bmad.phases.gpu_scope import gpu_checks_listed
from bmad.phases.measure.checks import (
    alert_rules,
    alertmanager,
    baselines,
    e2e_metric,
    gpu_baselines,
    grafana_dashboards,
    grafana_datasource,
    grafana_health,
    load_test,
    prometheus,
    scrape_job,
)
from bmad.ports.gpu import GpuProbe
from bmad.ports.loadtest import LoadGenerator
from bmad.ports.monitoring import Alertmanager, Grafana, Prometheus, Pushgateway
from bmad.ports.phase import BasePhase, Check, CheckId, PhaseContext
from bmad.ports.preview import CandidatePreview

GUIDE_METRICS = ("prometheus_uptime_seconds", "grafana_dashboards_count", "alert_rules_loaded", "baseline_captured")


@datatype
class MeasurePorts:
    """The monitoring systems and helpers one MEASURE run talks to, handed to every check."""

    prometheus: Prometheus
    alertmanager: Alertmanager
    pushgateway: Pushgateway | None = None
    grafana: Grafana | None = None
    # Builds the load generator for the configured runner and the target URL (only when a sweep runs).
    load_generator: Callable[[str], LoadGenerator] | None = None
    # Base URLs of whatever serves now on the deploy target (``Target.serving_endpoints``): the local
    # target's active release may run on either of its two port slots.
    serving_endpoints: Callable[[], list[str]] | None = None
    # Starts a temporary instance of the release candidate for the load test (local target).
    candidate_preview: CandidatePreview | None = None
    # The phase start: baselines are read as of then, so MEASURE's own load test never ends up in them.
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # This host's GPUs and the DCGM series (``measure.gpu_baselines``; None: not applicable).
    gpu: GpuProbe | None = None


class MeasureCheck(Protocol):
    """What each module under ``checks/`` declares (a module is the implementation, as pre-commit's
    language modules are)."""

    @property
    def CHECK(self) -> CheckId: ...  # noqa: N802 -- a module constant

    @property
    def NEEDS(self) -> tuple[str, ...]: ...  # noqa: N802

    @property
    def EXCLUSIVE(self) -> bool: ...  # noqa: N802

    def run(self, ctx: PhaseContext, ports: MeasurePorts) -> CheckResult: ...


CHECKS: tuple[MeasureCheck, ...] = (
    prometheus,
    scrape_job,
    alert_rules,
    alertmanager,
    grafana_health,
    grafana_dashboards,
    grafana_datasource,
    e2e_metric,
    baselines,
    gpu_baselines,
    load_test,
)


class MeasurePhase(BasePhase):
    name = PhaseName.MEASURE

    def __init__(self, ports: MeasurePorts) -> None:
        self.ports = ports

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        listed = gpu_checks_listed(ctx.config, ctx.environment_name)
        return [self._bind(check) for check in CHECKS if check is not gpu_baselines or listed]

    def _bind(self, check: MeasureCheck) -> Check:
        needs = check.NEEDS
        if self.ports.grafana is None:
            # Without Grafana every Grafana check reports "not configured" itself (not "health did not pass").
            needs = tuple(need for need in needs if need != grafana_health.CHECK.id)

        def run(ctx: PhaseContext) -> CheckResult:
            return check.run(ctx, self.ports)

        return Check(check.CHECK.id, check.CHECK.title, run, needs, exclusive=check.EXCLUSIVE)

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        """The guide's block, every key present (``None`` = not measured: skipped or could not find out),
        then the load-test figures per level."""
        merged: dict[str, MetricValue] = dict.fromkeys(GUIDE_METRICS)
        for result in results:
            merged.update(result.metrics)
        return merged
