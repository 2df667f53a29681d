"""Run one phase in a test the way the engine does, without the ledger: the engine's scheduler
(concurrency, needs, exceptions turned into failures), then ``finish()`` and ``metrics()``.

Shared by the BUILD, MEASURE and DEPLOY phase tests.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmad.config import load_config_text
from bmad.core.models import CheckResult, MetricValue, PhaseName, PhaseResult, Release
from bmad.ports.history import History, ReleaseRecord
from bmad.ports.phase import PhaseContext, PhasePlugin


class NoHistory:
    """The History port with no earlier releases (the ledger is not what these tests exercise)."""

    def previous_releases(self, *, limit: int = 20) -> list[ReleaseRecord]:
        return []

    def last_deployed(self) -> ReleaseRecord | None:
        return None


@dataclass
class PhaseRun:
    results: list[CheckResult]
    metrics: dict[str, MetricValue]
    artifacts: dict[str, Any]
    ctx: PhaseContext = field(repr=False)

    def result(self, check_id: str) -> CheckResult:
        for result in self.results:
            if result.id == check_id:
                return result
        raise KeyError(f"{check_id} not in {[r.id for r in self.results]}")

    def status(self, check_id: str) -> str:
        return self.result(check_id).status.value

    def statuses(self) -> dict[str, str]:
        return {r.id: r.status.value for r in self.results}

    @property
    def progress(self) -> Any:
        return self.ctx.progress

    def everything_written(self) -> str:
        """Evidence files, result JSON, metrics, artifacts and progress lines: all the phase let out."""
        texts = [p.read_text(errors="replace") for p in self.ctx.evidence.root.rglob("*") if p.is_file()]
        texts.append(json.dumps([r.to_dict() for r in self.results], default=str))
        texts.append(json.dumps(self.metrics, default=str))
        texts.append(json.dumps(self.artifacts, default=str))
        texts.extend(getattr(self.ctx.progress, "lines", []))
        return "\n".join(texts)


def run_phase(plugin: PhasePlugin, ctx: PhaseContext) -> PhaseRun:
    """Scheduler, then finish() (its artifacts join the phase's), then metrics()."""
    from bmad.engine.scheduler import run_checks

    ran = run_checks(list(plugin.checks(ctx)), ctx, warnings_fail=False)
    results = list(ran.results)
    extra = list(plugin.finish(ctx, results))
    for added in extra:
        if added.artifacts:
            ctx.add_artifacts(added.artifacts)
    results += extra
    return PhaseRun(results, dict(plugin.metrics(ctx, results)), ctx.artifacts(), ctx)


def context_from_yaml(
    directory: Path,
    yaml_text: str,
    *,
    environment: str,
    version: str,
    history: History | None = None,
    previous: Mapping[PhaseName, PhaseResult] | None = None,
    options: Mapping[str, Any] | None = None,
    evidence_dir: Path | None = None,
) -> PhaseContext:
    """A PhaseContext for the bmad.yaml ``yaml_text``, written to ``directory/bmad.yaml``."""
    from bmad.ledger.evidence import EvidenceFolder

    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "bmad.yaml"
    config_file.write_text(yaml_text, encoding="utf-8")
    config = dataclasses.replace(load_config_text(yaml_text, source=str(config_file)), source_path=str(config_file))
    return PhaseContext(
        config=config,
        environment_name=environment,
        release=Release(config.service.name, environment, version),
        evidence=EvidenceFolder(evidence_dir or directory / f"evidence-{version[:8]}"),
        history=history or NoHistory(),
        previous=dict(previous or {}),
        options=dict(options or {}),
    )
