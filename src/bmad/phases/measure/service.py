"""Where the measured service is: its scrape job, its URLs, and whether a release of it runs here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bmad.core.datatypes import datatype
from bmad.core.errors import AdapterError
from bmad.ports.monitoring import ScrapeTarget
from bmad.ports.phase import PhaseContext

if TYPE_CHECKING:
    from bmad.phases.measure.phase import MeasurePorts


def scrape_job(ctx: PhaseContext) -> str:
    return ctx.config.measure.scrape_job or ctx.config.service.name


def deployed(ctx: PhaseContext) -> bool:
    """Whether an earlier release of this service runs in this environment (DEPLOY passed)."""
    return ctx.history.last_deployed() is not None


def service_urls(ctx: PhaseContext, ports: MeasurePorts) -> tuple[list[str], str]:
    """The service's current URL(s) and where they came from: ``monitoring.service_url``, else
    the replicas the deploy target says serve now (local: the active release, on whichever port
    slot it runs), else the configured slot-0 replicas."""
    env = ctx.environment
    if not env.monitoring.service_url and env.target.kind == "local" and ports.serving_endpoints:
        try:
            serving = sorted(ports.serving_endpoints())
        except AdapterError as exc:
            urls, source = configured_service_urls(ctx)
            return urls, f"{source}; the target could not say what serves: {exc.message}"
        if serving:
            return serving, "the local target's serving replicas (Target.serving_endpoints)"
    return configured_service_urls(ctx)


def configured_service_urls(ctx: PhaseContext) -> tuple[list[str], str]:
    """The URL(s) the configuration names: ``monitoring.service_url``, else the local target's
    slot-0 replicas (``host_port_base + i``)."""
    env = ctx.environment
    if env.monitoring.service_url:
        return [env.monitoring.service_url], f"environments.{ctx.environment_name}.monitoring.service_url"
    if env.target.kind == "local":
        local = env.target.local
        return (
            [f"http://127.0.0.1:{local.host_port_base + i}" for i in range(max(1, local.replicas))],
            "the local target's replicas (target.local.host_port_base, replicas)",
        )
    return [], f"environments.{ctx.environment_name}.monitoring.service_url is not set"


@datatype(frozen=True)
class EnvironmentScope:
    """Which of the job's targets and series are this environment's: those whose ``label`` is ``value``.

    ``label`` is None when the job's targets carry no environment label (every target counts).
    """

    job: str
    value: str
    label: str | None = None
    note: str = ""

    def holds(self, target: ScrapeTarget) -> bool:
        return self.label is None or target.label(self.label) == self.value

    @property
    def selector(self) -> str:
        """The PromQL label matchers of the scope: ``job="hello",environment="staging"``."""
        return f'job="{self.job}"' + (f',{self.label}="{self.value}"' if self.label else "")

    def scoped_query(self, query: str) -> str:
        """``query`` with each ``job="{job}"`` matcher narrowed to this environment."""
        return query.replace('job="{job}"', self.selector) if self.label else query

    def to_dict(self) -> dict[str, str | None]:
        return {"label": self.label, "value": self.value if self.label else None, "note": self.note}


def environment_scope(ctx: PhaseContext, targets: Sequence[ScrapeTarget]) -> EnvironmentScope:
    """Scope to ``measure.environment_label`` when any of the job's targets carries that label."""
    job, label = scrape_job(ctx), ctx.config.measure.environment_label
    env = ctx.environment_name
    if not label:
        return EnvironmentScope(job, env, note="measure.environment_label is unset: every target of the job counts")
    if not any(t.label(label) is not None for t in targets if t.job == job):
        return EnvironmentScope(
            job, env, note=f"the job's targets carry no {label!r} label: every target of the job counts"
        )
    return EnvironmentScope(job, env, label, f"only targets with {label}={env!r}")
