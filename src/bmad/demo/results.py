"""What the demo did: each release's outcome, documents and timing, and the framework metrics."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmad.core.datatypes import datatype
from bmad.engine.publish import Published

if TYPE_CHECKING:
    from bmad.reports.metrics import FrameworkMetrics


@datatype
class DemoRelease:
    """One release the demo ran: its outcome, phases, published documents and time taken."""

    label: str
    version: str
    outcome: str
    exit_code: int
    message: str
    phases: dict[str, str]
    published: Published
    seconds: float
    failures: list[str] = field(default_factory=list)  # "check id: summary" of every failed check

    def to_dict(self) -> dict[str, Any]:
        return {
            "failures": self.failures,
            "label": self.label,
            "version": self.version,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "message": self.message,
            "phases": self.phases,
            "seconds": round(self.seconds, 3),
            **self.published.to_dict(),
        }


@datatype
class DemoResult:
    """A whole demo run: where it ran, its releases and the framework metrics it produced."""

    workdir: Path
    config_path: Path
    stack_root: Path
    releases: list[DemoRelease]
    metrics: FrameworkMetrics
    metrics_files: dict[str, Path]
    seconds: float
    environment: str = "dev"
    serving: list[str] = field(default_factory=list)  # host:port of each replica left serving

    @property
    def ok(self) -> bool:
        outcomes = [r.outcome for r in self.releases]
        return outcomes == ["success", "rolled_back"]

    def summary_lines(self) -> list[str]:
        lines = [f"bmad demo: {self.workdir} ({self.seconds:.0f} s)"]
        for release in self.releases:
            lines.append(f"  {release.label}: {release.version[:12]} -> {release.outcome} ({release.message})")
            outputs = release.published.outputs
            if outputs is not None:
                for key in ("runbook_md", "runbook_html", "checklist_md", "report_html"):
                    if key in outputs.files:
                        lines.append(f"      {key.replace('_', ' '):<14} {outputs.files[key]}")
            for problem in release.published.problems:
                lines.append(f"      problem: {problem}")
        for key, path in self.metrics_files.items():
            lines.append(f"  {key.replace('_', ' '):<14} {path}")
        if not self.ok:
            lines.append("  expected: release 1 success, release 2 rolled back")
        if self.serving:
            env = "" if self.environment == "dev" else f" -e {self.environment}"
            lines.append(f"  still serving: {', '.join('http://' + a for a in self.serving)} (the last good release)")
            lines.append(f"  `bmad demo --down{env}` removes it; `bmad stack down` then stops the stack")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workdir": str(self.workdir),
            "config": str(self.config_path),
            "stack": str(self.stack_root),
            "seconds": round(self.seconds, 3),
            "releases": [r.to_dict() for r in self.releases],
            "metrics": self.metrics.to_dict(),
            "metrics_files": {k: str(v) for k, v in self.metrics_files.items()},
            "environment": self.environment,
            "serving": self.serving,
        }
