"""``measure.e2e_metric``: a uniquely named gauge pushed to the Pushgateway comes back from a
Prometheus query; the seconds it took are the artifact ``e2e_metric_seconds``; the group is deleted."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from bmad.config.measure import EndToEndConfig
from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult, CheckStatus
from bmad.core.spans import SpanKind, sleeper
from bmad.phases.measure.checks import prometheus
from bmad.ports.artifacts import MeasureArtifacts
from bmad.ports.monitoring import Prometheus, Pushgateway
from bmad.ports.phase import CheckId, PhaseContext

_SCRAPE_PAUSE = sleeper(SpanKind.MONITORING, "waiting for Prometheus to scrape the pushed metric")

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.e2e_metric", "Test metric verified end-to-end")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False


@datatype(frozen=True)
class RoundTrip:
    """One push of the test metric and what came of it."""

    metric: str
    grouping: dict[str, str]
    seen_after: float | None  # seconds from the push until a query returned it; None: never
    polls: int
    deleted: bool  # the test group was deleted from the Pushgateway afterwards


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    conf = ctx.config.measure.end_to_end
    if not conf.enabled:
        return CHECK.skipped("disabled (measure.end_to_end)")
    gateway = ports.pushgateway
    if gateway is None:
        return CHECK.skipped(
            f"no Pushgateway configured for environment {ctx.environment_name!r} "
            f"(environments.{ctx.environment_name}.monitoring.pushgateway_url): end-to-end test not run"
        )
    trip = _round_trip(ctx, gateway, ports.prometheus, conf)
    evidence: dict[str, Any] = {
        "metric": trip.metric,
        "pushgateway": gateway.url,
        "job": conf.job,
        "grouping": trip.grouping,
        "seconds_to_visible": round(trip.seen_after, 3) if trip.seen_after is not None else None,
        "polls": trip.polls,
        "group_deleted": trip.deleted,
    }
    if trip.seen_after is None:
        return CHECK.failed(
            f"pushed {trip.metric} but Prometheus did not return it within {conf.timeout_seconds:g}s",
            expected=f"the metric queryable within {conf.timeout_seconds:g}s",
            observed=f"not returned after {trip.polls} queries",
            fix="add the Pushgateway to Prometheus' scrape_configs (honor_labels: true) and reload",
            evidence=evidence,
            artifacts=MeasureArtifacts(e2e_metric_seconds=None).to_artifacts("e2e_metric_seconds"),
        )
    return CHECK.result(
        CheckStatus.PASS if trip.deleted else CheckStatus.WARN,
        f"test metric visible in Prometheus {trip.seen_after:.2f}s after the push"
        + ("" if trip.deleted else "; deleting the test group failed"),
        expected=f"the metric queryable within {conf.timeout_seconds:g}s, then its group deleted",
        observed=f"visible after {trip.seen_after:.2f}s",
        fix="" if trip.deleted else f"delete the group by hand: DELETE {gateway.url}/metrics/job/{conf.job}",
        evidence=evidence,
        artifacts=MeasureArtifacts(e2e_metric_seconds=round(trip.seen_after, 3)).to_artifacts("e2e_metric_seconds"),
    )


def _round_trip(ctx: PhaseContext, gateway: Pushgateway, prom: Prometheus, conf: EndToEndConfig) -> RoundTrip:
    """Push a gauge no one else has, poll Prometheus until a query returns it, then delete its group."""
    token = uuid.uuid4().hex[:12]
    metric = f"bmad_measure_e2e_{token}"
    grouping = {"instance": f"bmad-{token}"}
    text = (
        f"# HELP {metric} bmad MEASURE end-to-end test metric\n# TYPE {metric} gauge\n"
        f'{metric}{{service="{ctx.config.service.name}",environment="{ctx.environment_name}"}} 1\n'
    )
    started = time.monotonic()
    gateway.push(conf.job, text, grouping=grouping)
    seen_after: float | None = None
    polls = 0
    try:
        deadline = started + conf.timeout_seconds
        while time.monotonic() < deadline and not ctx.cancel.is_set():
            polls += 1
            if prom.query(metric):
                seen_after = time.monotonic() - started
                break
            _SCRAPE_PAUSE(conf.poll_seconds)
    finally:
        deleted = True
        try:
            gateway.delete(conf.job, grouping=grouping)
        except AdapterError:
            deleted = False
    return RoundTrip(metric, grouping, seen_after, polls, deleted)
