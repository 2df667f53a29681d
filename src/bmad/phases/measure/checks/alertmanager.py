"""``measure.alertmanager``: Prometheus sends alerts to an Alertmanager (the configured one, where
``monitoring.alertmanager_url`` is set), and that one answers ``/-/ready``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bmad.core.errors import AdapterError
from bmad.core.models import CheckResult
from bmad.core.spans import SpanKind, sleeper
from bmad.phases.measure.checks import prometheus
from bmad.ports.monitoring import Alertmanager, AlertmanagerRef, Prometheus
from bmad.ports.phase import CheckId, PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts

CHECK = CheckId("measure.alertmanager", "Prometheus connected to a ready Alertmanager")
NEEDS: tuple[str, ...] = (prometheus.CHECK.id,)
EXCLUSIVE = False

DISCOVERY_SECONDS = 5.0
_DISCOVERY_PAUSE = sleeper(SpanKind.MONITORING, "Prometheus discovering its Alertmanagers")


def run(ctx: PhaseContext, ports: MeasurePorts) -> CheckResult:
    from_prom = _alertmanagers(ctx, ports.prometheus)
    configured = ctx.environment.monitoring.alertmanager_url
    active = [a.url for a in from_prom if a.active]
    evidence: dict[str, Any] = {
        "active": active,
        "dropped": [a.url for a in from_prom if not a.active],
        "configured": configured,
    }
    if not active:
        return CHECK.failed(
            "Prometheus sends alerts to no Alertmanager: no alert would reach anyone",
            expected="at least one active Alertmanager in /api/v1/alertmanagers",
            observed="none active" + (f" ({len(evidence['dropped'])} dropped)" if evidence["dropped"] else ""),
            fix="add an alerting.alertmanagers entry to Prometheus' configuration and reload",
            evidence=evidence,
        )
    to_check = active
    if configured:
        if not any(_origin(url) == _origin(configured) for url in active):
            return CHECK.failed(
                f"Prometheus does not send alerts to the configured Alertmanager {configured}",
                expected=f"{configured} among Prometheus' active Alertmanagers",
                observed=", ".join(active),
                fix="point Prometheus' alerting.alertmanagers at it, or fix monitoring.alertmanager_url",
                evidence=evidence,
            )
        to_check = [configured]
    return _readiness(ports.alertmanager, to_check, evidence)


def _alertmanagers(ctx: PhaseContext, prom: Prometheus) -> list[AlertmanagerRef]:
    """The Alertmanagers Prometheus reports. Right after a configuration reload it lists none until
    its discovery has run again: give it a few seconds before calling the list empty."""
    deadline = time.monotonic() + DISCOVERY_SECONDS
    found = prom.alertmanagers()
    while not any(a.active for a in found) and time.monotonic() < deadline and not ctx.cancel.is_set():
        _DISCOVERY_PAUSE(0.25)
        found = prom.alertmanagers()
    return found


def _readiness(alertmanager: Alertmanager, urls: list[str], evidence: dict[str, Any]) -> CheckResult:
    readiness: dict[str, str] = {}
    for url in urls:
        try:
            readiness[url] = "ready" if alertmanager.ready(url) else "not ready"
        except AdapterError as exc:
            readiness[url] = f"unreachable: {exc.detail or exc.message}"
    evidence["readiness"] = readiness
    observed = "; ".join(f"{u}: {s}" for u, s in readiness.items())
    bad = {url: state for url, state in readiness.items() if state != "ready"}
    if bad:
        return CHECK.failed(
            "Alertmanager not ready: " + "; ".join(f"{u} {s}" for u, s in bad.items()),
            expected="every Alertmanager Prometheus uses answers /-/ready with 200",
            observed=observed,
            fix="start the Alertmanager (or fix the address Prometheus uses), then run MEASURE again",
            evidence=evidence,
        )
    return CHECK.passed(
        f"Prometheus sends alerts to {len(urls)} ready Alertmanager(s)",
        expected="an active, ready Alertmanager",
        observed=observed,
        evidence=evidence,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
