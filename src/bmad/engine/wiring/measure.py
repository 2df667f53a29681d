"""Wiring for the MEASURE phase: builds the monitoring adapters and the load generator."""

from __future__ import annotations

from bmad.adapters.alertmanager import AlertmanagerClient
from bmad.adapters.gpu_host import HostGpuProbe
from bmad.adapters.grafana import GrafanaClient
from bmad.adapters.loadgen import make_load_generator
from bmad.adapters.prometheus import PrometheusClient
from bmad.adapters.pushgateway import PushgatewayClient
from bmad.config.secret_refs import resolve_at
from bmad.phases.measure import MeasurePhase, MeasurePorts
from bmad.ports.loadtest import LoadGenerator
from bmad.ports.phase import PhaseContext, PhasePlugin
from bmad.ports.preview import CandidatePreview


def make_plugin(ctx: PhaseContext) -> PhasePlugin:
    monitoring = ctx.environment.monitoring
    timeout = monitoring.timeout_seconds
    grafana = None
    if monitoring.grafana is not None:
        where = ("environments", ctx.environment_name, "monitoring", "grafana", "token")
        token = resolve_at(ctx.config, where, monitoring.grafana.token) if monitoring.grafana.token else None
        grafana = GrafanaClient(monitoring.grafana.url, token=token, timeout=monitoring.grafana.timeout_seconds)
    load = ctx.config.measure.load_test

    def load_generator(url: str) -> LoadGenerator:
        return make_load_generator(load.runner, url=url, workers=load.workers, evidence=ctx.evidence)

    serving_endpoints = None
    preview = None
    if ctx.environment.target.kind == "local":
        from bmad.engine.wiring.deploy import make_target

        target = make_target(ctx.config, ctx.environment_name, options=ctx.options)
        service, environment = ctx.config.service.name, ctx.environment_name

        def serving_endpoints() -> list[str]:
            return target.serving_endpoints(service, environment)

        preview = _local_preview(ctx)

    ports = MeasurePorts(
        prometheus=PrometheusClient(monitoring.prometheus_url, timeout=timeout),
        alertmanager=AlertmanagerClient(timeout=timeout),
        pushgateway=PushgatewayClient(monitoring.pushgateway_url, timeout=timeout)
        if monitoring.pushgateway_url
        else None,
        grafana=grafana,
        load_generator=load_generator,
        serving_endpoints=serving_endpoints,
        candidate_preview=preview,
        gpu=HostGpuProbe(),
    )
    return MeasurePhase(ports)


def _local_preview(ctx: PhaseContext) -> CandidatePreview:
    """A temporary container of the candidate on the local target's engine, with the replicas' port and env."""
    from bmad.adapters.targets.local.containers import EngineContainers
    from bmad.adapters.targets.local.preview import LocalCandidatePreview
    from bmad.adapters.targets.probe import RequestsProbe

    local, base_dir = ctx.environment.target.local, ctx.config.base_dir

    def env() -> dict[str, str]:
        return {**local.env, **{name: ref.resolve(base_dir) for name, ref in local.secret_env.items()}}

    return LocalCandidatePreview(
        EngineContainers(local),
        RequestsProbe(),
        service=ctx.config.service.name,
        environment=ctx.environment_name,
        env=env,
        health_path=ctx.config.deploy.health_path,
        ready_seconds=ctx.config.measure.load_test.preview_ready_seconds,
    )
