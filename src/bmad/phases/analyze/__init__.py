"""The ANALYZE phase: readiness catalog, manifest validation, secrets, snapshot, rollback plan, risk."""

from __future__ import annotations

from bmad.phases.analyze.phase import AnalyzePhase

__all__ = ["AnalyzePhase"]
