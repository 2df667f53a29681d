"""bmad's own metrics, pushed to the Pushgateway at the end of every run.

The registry is built with ``prometheus_client`` (names, types and escaping are its own) and sent
through :class:`~bmad.adapters.pushgateway.PushgatewayClient` (the HTTP seam: errors become
``AdapterError``/``Unreachable``). One group per (ledger, service, environment): job ``bmad``, grouping
labels ``service``, ``env`` and ``ledger`` (:func:`ledger_group_id`, so two checkouts deploying services
of the same name keep apart); each push replaces the group, and the counters are the ledger's totals,
so they only grow.

Series (see docs/reports.md and the dashboard ``bmad/dashboards/bmad.json``):

* ``bmad_deployments_total{service,env,result}``: releases by outcome (success, rolled_back, failed, blocked)
* ``bmad_phase_duration_seconds{service,env,phase}``: duration of each phase of the last run
* ``bmad_rollbacks_total{service,env}``
* ``bmad_mttr_seconds{service,env}``: mean detection-to-recovery time (absent until a rollback recovered)
* ``bmad_last_run_timestamp_seconds{service,env}`` and ``bmad_last_run_success{service,env}``
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bmad.adapters.pushgateway import PushgatewayClient
from bmad.core.digest import sha256

JOB = "bmad"


def ledger_group_id(ledger_url: str) -> str:
    """A short id unique to one ledger: a hash of its URL without credentials (never the URL itself)."""
    bare = re.sub(r"://[^@/]*@", "://", ledger_url)
    return sha256(bare.encode("utf-8")).hexdigest()[:12]


def render_own_metrics(
    *,
    service: str,
    environment: str,
    deployments: Mapping[str, int],
    phase_durations: Mapping[str, float],
    rollbacks: int,
    mttr_seconds: float | None,
    last_result: str,
    last_run_timestamp: float,
) -> str:
    """The exposition text of bmad's own metrics for one (service, environment)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.core import CounterMetricFamily

    registry = CollectorRegistry()
    labels = {"service": service, "env": environment}

    class _Counters:
        def collect(self) -> list[CounterMetricFamily]:
            deployed = CounterMetricFamily(
                "bmad_deployments", "Releases taken through bmad, by result", labels=("service", "env", "result")
            )
            for result, count in sorted(deployments.items()):
                deployed.add_metric((service, environment, result), float(count))
            rolled = CounterMetricFamily("bmad_rollbacks", "Rollbacks of releases", labels=("service", "env"))
            rolled.add_metric((service, environment), float(rollbacks))
            return [deployed, rolled]

    registry.register(_Counters())
    phase = Gauge(
        "bmad_phase_duration_seconds",
        "Duration of each phase of the last run",
        ("service", "env", "phase"),
        registry=registry,
    )
    for name, seconds in phase_durations.items():
        phase.labels(service=service, env=environment, phase=name).set(seconds)
    if mttr_seconds is not None:
        Gauge("bmad_mttr_seconds", "Mean time to recovery of rollbacks", ("service", "env"), registry=registry).labels(
            **labels
        ).set(mttr_seconds)
    Gauge(
        "bmad_last_run_timestamp_seconds", "When the last run finished", ("service", "env"), registry=registry
    ).labels(**labels).set(last_run_timestamp)
    Gauge(
        "bmad_last_run_success",
        "1 when the last run's release was deployed successfully",
        ("service", "env"),
        registry=registry,
    ).labels(**labels).set(1.0 if last_result == "success" else 0.0)
    return generate_latest(registry).decode("utf-8")


def push_own_metrics(
    gateway_url: str,
    *,
    service: str,
    environment: str,
    deployments: Mapping[str, int],
    phase_durations: Mapping[str, float],
    rollbacks: int,
    mttr_seconds: float | None,
    last_result: str,
    last_run_timestamp: float,
    timeout: float = 10.0,
    ledger_id: str | None = None,
) -> str:
    """Push (replace) the group ``job=bmad,service=..,env=..[,ledger=..]``; returns the pushed text (for evidence)."""
    text = render_own_metrics(
        service=service,
        environment=environment,
        deployments=deployments,
        phase_durations=phase_durations,
        rollbacks=rollbacks,
        mttr_seconds=mttr_seconds,
        last_result=last_result,
        last_run_timestamp=last_run_timestamp,
    )
    client = PushgatewayClient(gateway_url, timeout=timeout)
    try:
        grouping = {"service": service, "env": environment}
        if ledger_id is not None:
            grouping["ledger"] = ledger_id
        client.push(JOB, text, grouping=grouping)
    finally:
        client.close()
    return text
