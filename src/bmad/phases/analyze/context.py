"""What evaluators read: the bundle, settings, bmad.yaml, recorded evidence, attestations and
the GPU services of the compose file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, date, datetime
from typing import Any

from bmad.config.analyze import AnalyzeConfig
from bmad.config.models import BmadConfig, EnvironmentConfig
from bmad.core.datatypes import datatype
from bmad.core.models import PhaseName, PhaseResult
from bmad.phases.analyze.attestations import Attestations
from bmad.phases.analyze.manifests import Bundle
from bmad.phases.analyze.readiness_data import Location
from bmad.phases.gpu_compose_services import ComposeGpuServices
from bmad.ports.schemas import SchemaOutcome

_MISSING = object()


@datatype
class Evidence:
    """Metrics and artifacts BUILD and MEASURE recorded for this release."""

    phases: Mapping[PhaseName, PhaseResult] = field(default_factory=dict)

    def has(self, phase: PhaseName) -> bool:
        return phase in self.phases

    def lookup(self, phase: PhaseName, key: str) -> tuple[bool, Any]:
        """(found, value): metrics first, then artifacts.

        A value recorded as null means "not measured" (e.g. no vulnerability scanner ran, Grafana
        not configured): it is reported as not recorded, never compared as if it were a figure.
        """
        result = self.phases.get(phase)
        if result is None:
            return False, None
        if result.metrics.get(key) is not None:
            return True, result.metrics[key]
        if result.artifacts.get(key) is not None:
            return True, result.artifacts[key]
        return False, None

    def check(self, phase: PhaseName, check_id: str) -> Any:
        """The recorded result of one check of an earlier phase (None when it did not run)."""
        result = self.phases.get(phase)
        if result is None:
            return None
        return next((c for c in result.checks if c.id == check_id), None)


@datatype
class EvalContext:
    bundle: Bundle
    settings: AnalyzeConfig = field(default_factory=AnalyzeConfig)
    config: BmadConfig | None = None
    environment_name: str | None = None
    # Nothing of the service was ever deployed to this environment (no deployed release in the
    # ledger): items about the running service (baseline, load test, scrape targets) are not applicable.
    first_deployment: bool = False
    evidence: Evidence = field(default_factory=Evidence)
    attestations: Attestations = field(default_factory=Attestations)
    # Schema outcome per object (index into bundle.objects), filled by validation when it ran.
    schema_results: dict[int, SchemaOutcome] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Server-side dry-run: None when it did not run (``dry_run_note`` says why), else the failures.
    dry_run: list[tuple[Location, str]] | None = None
    dry_run_note: str = "no Kubernetes target configured"
    dry_run_error: str | None = None  # the dry-run was due but could not run
    # The GPU services of the environment's compose file; None when there is no compose file.
    compose: ComposeGpuServices | None = None

    @property
    def environment(self) -> EnvironmentConfig | None:
        if self.config is None or self.environment_name is None:
            return None
        return self.config.environments.get(self.environment_name)

    @property
    def today(self) -> date:
        return self.now.date()
