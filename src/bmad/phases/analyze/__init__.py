"""The ANALYZE phase: readiness catalog, manifest validation, secrets, snapshot, rollback plan, risk.

:class:`AnalyzePhase` is imported when first named: reading a bundle (``manifest_files``) does not
import the phase and its checks (ANALYZE's parse may begin before them, see ``manifest_files.start_early``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bmad.phases.analyze.phase import AnalyzePhase

__all__ = ["AnalyzePhase"]


def __getattr__(name: str) -> Any:
    if name == "AnalyzePhase":
        from bmad.phases.analyze.phase import AnalyzePhase

        return AnalyzePhase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
