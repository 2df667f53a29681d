"""The ANALYZE phase: readiness catalog, manifest validation, secrets, snapshot, rollback plan, risk.

Checks (ids never change; one module each in ``checks/``):

* ``analyze.manifests``            schema/API validation (+ dry-run)      -> kubernetes_manifests_valid
* ``analyze.access``               DEPLOY's rights on the cluster (Kubernetes targets only), prune preview
* ``analyze.readiness.<category>`` one result per catalog category, failures with their fix
* ``analyze.readiness``            score, checklist % and the hard gate   -> readiness_checklist_complete
* ``analyze.secrets``              referenced/required Secrets and keys   -> secrets_configured
* ``analyze.snapshot``             what runs now (the rollback point)     -> artifact ``snapshot``
* ``analyze.rollback_plan``        plan from the snapshot                 -> rollback_plan_documented
* ``analyze.risk``                 decision matrix + mitigations          -> risk_assessment_complete
* ``analyze.gpu_host``             NVIDIA Container Toolkit pinned, patched, in CDI mode
  (listed only with a compose file or ``gpu.requested``: ``phases/gpu_scope.py``; the Compose GPU
  hardening is judged by the catalog's Compose entries, SC-065..SC-069)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from bmad.core.models import CheckResult, MetricValue, PhaseName
from bmad.phases.analyze.attestations import Attestations
from bmad.phases.analyze.checks import (
    access,
    categories,
    gpu_host,
    manifests,
    readiness,
    risk,
    rollback_plan,
    secrets,
    snapshot,
)
from bmad.phases.analyze.preparation import AnalyzePorts, DryRunner, Prepared, prepare
from bmad.phases.analyze.readiness_data import Category
from bmad.phases.gpu_scope import gpu_checks_listed
from bmad.ports.gpu import GpuProbe
from bmad.ports.phase import BasePhase, Check, CheckId, PhaseContext
from bmad.ports.renderer import RenderedBundle
from bmad.ports.schemas import SchemaValidator
from bmad.ports.source import SourceHistory
from bmad.ports.target import AccessPreflight, DeploySpec, Target

METRIC_NAMES = (
    "readiness_checklist_complete",
    "kubernetes_manifests_valid",
    "secrets_configured",
    "rollback_plan_documented",
    "risk_assessment_complete",
)
RunFn = Callable[[PhaseContext, "AnalyzePhase"], CheckResult]


class AnalyzePhase(BasePhase):
    name = PhaseName.ANALYZE

    def __init__(
        self,
        *,
        schemas: SchemaValidator | None,
        target: Target | None = None,
        target_note: str = "no target configured",
        dry_runner: DryRunner | None = None,
        dry_run_note: str = "no Kubernetes target configured",
        source: SourceHistory | None = None,
        attestations: Callable[[], Attestations] | None = None,
        now: datetime | None = None,
        preflight: AccessPreflight | None = None,
        release: Callable[[], DeploySpec] | None = None,
        rendered: RenderedBundle | None = None,
        gpu: GpuProbe | None = None,
    ) -> None:
        self.ports = AnalyzePorts(
            schemas,
            target,
            target_note,
            dry_runner,
            dry_run_note,
            source,
            attestations or Attestations,
            now,
            preflight,
            release,
            rendered,
            gpu,
        )
        self._lock = threading.Lock()
        self._prepared: Prepared | None = None

    def prepare(self, ctx: PhaseContext) -> Prepared:
        """The bundle, its validation and the readiness report: computed once, shared by every check."""
        with self._lock:
            if self._prepared is None:
                self._prepared = prepare(ctx, self.ports)
            return self._prepared

    def checks(self, ctx: PhaseContext) -> Sequence[Check]:
        listed = [self._check(manifests.CHECK, manifests.run), self._check(readiness.CHECK, readiness.run)]
        if self.ports.preflight is not None:
            listed.append(self._check(access.CHECK, access.run))
        listed += [self._check(categories.check_id(c), categories.runner(c)) for c in Category]
        listed += [
            self._check(secrets.CHECK, secrets.run),
            self._check(snapshot.CHECK, snapshot.run, starts_early=True),  # waits on the target
            self._check(rollback_plan.CHECK, rollback_plan.run, needs=(snapshot.CHECK.id,)),
            self._check(risk.CHECK, risk.run, needs=(rollback_plan.CHECK.id,)),
        ]
        if gpu_checks_listed(ctx.config, ctx.environment_name):
            listed.append(self._check(gpu_host.CHECK, gpu_host.run))
        return listed

    def _check(
        self, check_id: CheckId, run: RunFn, needs: tuple[str, ...] = (), *, starts_early: bool = False
    ) -> Check:
        return Check(check_id.id, check_id.title, lambda ctx: run(ctx, self), needs=needs, starts_early=starts_early)

    def metrics(self, ctx: PhaseContext, results: Sequence[CheckResult]) -> dict[str, MetricValue]:
        merged: dict[str, MetricValue] = {
            "readiness_checklist_complete": 0.0,
            "kubernetes_manifests_valid": False,
            "secrets_configured": False,
            "rollback_plan_documented": False,
            "risk_assessment_complete": False,
        }
        for result in results:
            for key in METRIC_NAMES:
                if key in result.metrics:
                    merged[key] = result.metrics[key]
        return merged
